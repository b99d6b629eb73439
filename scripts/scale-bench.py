"""UMAP + k-means at scale, aeclust against umap-learn + scikit-learn on the same codes
(peers are never installed in CI):

    python3 scripts/scale-bench.py --model deep.safetensors --work /tmp/scale --json out.json

1. The images: N (default 1 000 000) 28 x 28 digits, each an MNIST image (all 70 000 in turn)
   shifted, turned and scaled a little at random (as infinite MNIST makes them), written once
   as a uint8 .npy with their digits beside it.
2. Their codes: `aeclust encode` of the whole array (its time and peak memory reported: the
   images stream through in chunks).
3. For each size (default 100k, 300k, 1M, the first n codes): `aeclust cluster --embed umap`
   on the CPU reference, then umap-learn (its settings as aeclust's: 20 neighbours, 10
   dimensions, min_dist 0) and scikit-learn's KMeans (10 restarts, as aeclust) in a fresh
   process, warmed on a small set first so that numba's compilation is not counted. Each run's
   wall time and peak memory (the process's maximum resident set), and ACC / NMI against the
   digits.
"""
import argparse, gzip, json, os, platform, subprocess, sys, time

import numpy as np

BIN = os.environ.get("AECLUST_BIN", "target/release/aeclust")
PEER = r"""
import sys, time, numpy as np, umap
from sklearn.cluster import KMeans
umap.UMAP(n_neighbors=20, n_components=10, min_dist=0.0).fit_transform(np.random.rand(2000, 10))
x = np.load(sys.argv[1])
start = time.perf_counter()
embedding = umap.UMAP(n_neighbors=20, n_components=10, min_dist=0.0, random_state=None).fit_transform(x)
embedded = time.perf_counter()
labels = KMeans(n_clusters=10, n_init=10, random_state=0).fit_predict(embedding)
np.save(sys.argv[2], labels.astype(np.int64))
print(embedded - start, time.perf_counter() - embedded)
"""


def idx_file(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def make_images(count, images_path, labels_path):
    """count digits, each a random affine copy of an MNIST image (the 70 000 in turn)."""
    from scipy.ndimage import affine_transform

    images = np.concatenate([idx_file("data/mnist/train-images-idx3-ubyte.gz"),
                             idx_file("data/mnist/t10k-images-idx3-ubyte.gz")])
    labels = np.concatenate([idx_file("data/mnist/train-labels-idx1-ubyte.gz"),
                             idx_file("data/mnist/t10k-labels-idx1-ubyte.gz")])
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(images_path + ".part", mode="w+", dtype=np.uint8,
                                    shape=(count, 28, 28))
    centre = np.array([13.5, 13.5])
    for t in range(count):
        source = t % len(images)
        angle = np.deg2rad(rng.uniform(-12, 12))
        scale = rng.uniform(0.9, 1.1)
        shift = rng.uniform(-2, 2, size=2)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        matrix = rotation / scale
        offset = centre - matrix @ (centre + shift)
        moved = affine_transform(images[source].astype(np.float32), matrix, offset, order=1)
        out[t] = np.clip(np.rint(moved), 0, 255).astype(np.uint8)
    out.flush()
    del out
    os.replace(images_path + ".part", images_path)
    np.save(labels_path, labels[np.arange(count) % len(images)])


def timed(command):
    """Runs command; its wall seconds, peak resident MiB and stdout."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        sys.exit(f"failed: {' '.join(command)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def scores(labels, clusters):
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import normalized_mutual_info_score

    table = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-table)
    return table[rows, cols].sum() / len(labels), normalized_mutual_info_score(labels, clusters)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="a model from `train --recipe deep`")
    parser.add_argument("--work", default="/tmp/aeclust-scale")
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--json")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.makedirs(args.work, exist_ok=True)
    images, labels_path = (os.path.join(args.work, f"images-{max(sizes)}.npy"),
                           os.path.join(args.work, f"labels-{max(sizes)}.npy"))
    if not os.path.exists(images):
        print(f"making {max(sizes)} images ...", flush=True)
        make_images(max(sizes), images, labels_path)
    labels = np.load(labels_path)
    codes = os.path.join(args.work, "codes.npy")
    seconds, mib, _ = timed([BIN, "encode", "--model", args.model, "--data", images, "--split",
                             "all", "--out", codes, "--backend", "cpu"])
    report = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "encode": {"images": max(sizes), "seconds": seconds, "peak_mib": mib,
                         "pixels_mib": max(sizes) * 784 / 2**20}, "sizes": []}
    print(f"encode {max(sizes)} images: {seconds:.1f} s, peak {mib:.0f} MiB "
          f"(the pixels: {max(sizes) * 784 / 2**20:.0f} MiB)", flush=True)
    all_codes = np.load(codes, mmap_mode="r")
    for n in sizes:
        part = os.path.join(args.work, f"codes-{n}.npy")
        np.save(part, np.ascontiguousarray(all_codes[:n]))
        assignments = os.path.join(args.work, f"assignments-{n}.csv")
        seconds, mib, out = timed([BIN, "cluster", "--codes", part, "--embed", "umap",
                                   "--backend", "cpu", "--assignments", assignments])
        ours = np.loadtxt(assignments, delimiter=",", skiprows=1, usecols=1, dtype=np.int64)
        row = {"points": n, "aeclust": {"seconds": seconds, "peak_mib": mib}}
        row["aeclust"]["acc"], row["aeclust"]["nmi"] = scores(labels[:n], ours)
        if not args.no_peer:
            peer_labels = os.path.join(args.work, f"peer-{n}.npy")
            seconds, mib, out = timed([sys.executable, "-c", PEER, part, peer_labels])
            umap_s, kmeans_s = map(float, out.split())
            row["peer"] = {"seconds": seconds, "umap_seconds": umap_s,
                           "kmeans_seconds": kmeans_s, "peak_mib": mib}
            row["peer"]["acc"], row["peer"]["nmi"] = scores(labels[:n], np.load(peer_labels))
        report["sizes"].append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
