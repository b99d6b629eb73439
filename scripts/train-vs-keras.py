"""aeclust's CPU trainer against TF-Keras on the same machine, alternating (peers are never
installed in CI): python3 scripts/train-vs-keras.py. The post's model at batch 32 and the
deep recipe's at batch 256, on MNIST from data/mnist; Keras is timed on its second epoch
(the first traces the graph), aeclust by `aeclust bench --cpu-only`."""
import gzip, os, re, statistics, subprocess, time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

BIN = os.environ.get("AECLUST_BIN", "target/release/aeclust")
with gzip.open("data/mnist/train-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 784).astype(np.float32) / 255

def keras_rate(widths, code_linear, loss, batch, samples):
    layers = [tf.keras.Input((widths[0],))]
    code = min(range(1, len(widths) - 1), key=lambda i: widths[i])
    for i, w in enumerate(widths[1:], 1):
        last = i == len(widths) - 1
        act = ("sigmoid" if loss == "bce" else "linear") if last else (
            "linear" if code_linear and i == code else "relu")
        layers.append(tf.keras.layers.Dense(w, activation=act))
    model = tf.keras.Sequential(layers)
    model.compile("adam", "binary_crossentropy" if loss == "bce" else "mse")
    data = x[:samples]
    model.fit(data, data, batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(data, data, batch_size=batch, epochs=1, verbose=0)
    return samples / (time.perf_counter() - start)

def aeclust_rate(recipe, batch, samples):
    out = subprocess.run([BIN, "bench", "--cpu-only", "--recipe", recipe, "--batch", str(batch),
                          "--samples", str(samples)], capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"CPU reference \(\d+ threads?\)\s+\d+\s+(\d+)", out).group(1))

for recipe, widths, code_linear, loss, batch, samples in [
        ("blog", [784, 128, 32, 128, 784], False, "bce", 32, 32768),
        ("deep", [784, 500, 500, 2000, 10, 2000, 500, 500, 784], True, "mse", 256, 8192)]:
    ours, peer = [], []
    for _ in range(3):
        ours.append(aeclust_rate(recipe, batch, samples))
        peer.append(keras_rate(widths, code_linear, loss, batch, samples))
    o, p = statistics.median(ours), statistics.median(peer)
    pairs = " ".join(f"{a / b:.2f}x" for a, b in zip(ours, peer))
    print(f"{recipe} batch {batch}: aeclust {o:.0f} samples/s, TF-Keras {tf.__version__} "
          f"{p:.0f} samples/s ({o / p:.2f}x; pair by pair {pairs})")
