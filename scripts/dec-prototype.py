"""DEC fine-tuning with shifted inputs (DEC-DA, Guo et al. 2018), a numpy prototype of the
stage that docs/RESULTS.md measures on all 70 000 MNIST images; not part of the product, and
never run in CI (needs numpy, scipy, scikit-learn, safetensors):

    aeclust train --data all.npy --val-fraction 0.001 --recipe deep --epochs 40 --model-out m.safetensors
    aeclust cluster --model m.safetensors --split all --embed umap --assignments a.csv
    python3 scripts/dec-prototype.py --model m.safetensors --assignments a.csv --images all.npy --labels labels.npy

The encoder of the model starts from its weights and the centres from the mean code of each
cluster in the assignments. Every epoch: the target distribution P from the unshifted images,
then batches of shifted images (a whole number of pixels on each axis, uniform in
[-shift, shift], zeros filling in) trained on KL(P || Q) with Adam over the encoder and the
centres (or the encoder alone, --freeze-centres), the images also turned by up to --rotate
degrees (nearest pixel) when asked. Prints accuracy and NMI of argmax Q after each epoch;
writes the final codes. `--fine-tune` is this stage in the product.
"""
import argparse, csv

import numpy as np
from safetensors.numpy import load_file
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score


def accuracy(labels, clusters, k):
    counts = np.zeros((k, labels.max() + 1))
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(labels)


def encoder_params(path):
    tensors = load_file(path)
    layers = sorted({int(name.split(".")[1]) for name in tensors if name.startswith("encoder.")})
    params = []
    for l in layers:
        params += [tensors[f"encoder.{l}.weight"].T.copy(), tensors[f"encoder.{l}.bias"].copy()]
    return params


def forward(params, x):
    """Every layer's output (ReLU inside, the code linear), the input first."""
    acts, h = [x], x
    layers = len(params) // 2
    for l in range(layers):
        h = h @ params[2 * l] + params[2 * l + 1]
        if l + 1 < layers:
            h = np.maximum(h, 0)
        acts.append(h)
    return acts


def encode(params, images):
    flat = images.reshape(len(images), -1)
    return np.concatenate(
        [forward(params, flat[i:i + 4096].astype(np.float32) / 255)[-1] for i in range(0, len(flat), 4096)]
    )


def soft_assignments(codes, centres):
    """Q normalised over the centres, and the Student-t kernel before normalising."""
    kernel = 1 / (1 + ((codes[:, None, :] - centres[None]) ** 2).sum(-1))
    return kernel / kernel.sum(1, keepdims=True), kernel


def target(q):
    weight = q**2 / q.sum(0)
    return weight / weight.sum(1, keepdims=True)


def shifted(padded, index, shift, rng, size):
    dy = rng.integers(-shift, shift + 1, len(index))
    dx = rng.integers(-shift, shift + 1, len(index))
    rows, cols = size
    batch = [padded[i, shift - a:shift - a + rows, shift - b:shift - b + cols] for i, a, b in zip(index, dy, dx)]
    return np.stack(batch).reshape(len(index), -1).astype(np.float32) / 255


def rotated(images, index, shift, degrees, rng):
    """Each image turned by a uniform angle in [-degrees, degrees] about its centre and moved
    by whole pixels in [-shift, shift], nearest source pixel, zeros outside."""
    n, (rows, cols) = len(index), images.shape[1:3]
    angle = np.deg2rad(rng.uniform(-degrees, degrees, n))[:, None, None]
    dy = rng.integers(-shift, shift + 1, n)[:, None, None]
    dx = rng.integers(-shift, shift + 1, n)[:, None, None]
    y, x = np.mgrid[0:rows, 0:cols]
    cy, cx = (rows - 1) / 2, (cols - 1) / 2
    ty, tx = y[None] - dy - cy, x[None] - dx - cx
    sy = np.rint(np.cos(angle) * ty - np.sin(angle) * tx + cy).astype(np.int64)
    sx = np.rint(np.sin(angle) * ty + np.cos(angle) * tx + cx).astype(np.int64)
    inside = (sy >= 0) & (sy < rows) & (sx >= 0) & (sx < cols)
    values = images[index[:, None, None], np.clip(sy, 0, rows - 1), np.clip(sx, 0, cols - 1)] * inside
    return values.reshape(n, -1).astype(np.float32) / 255


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--assignments", required=True, help="`cluster --assignments` CSV of the same images")
    parser.add_argument("--images", required=True, help="uint8 .npy, N x H x W")
    parser.add_argument("--labels", required=True, help="integer .npy, one label per image")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--shift", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rotate", type=float, default=0, help="largest rotation, degrees")
    parser.add_argument("--freeze-centres", action="store_true")
    parser.add_argument("--codes-out", default="dec-codes.npy")
    args = parser.parse_args()

    images = np.load(args.images)
    labels = np.load(args.labels)
    clusters = np.array([int(row["cluster"]) for row in csv.DictReader(open(args.assignments))])
    k = clusters.max() + 1
    params = encoder_params(args.model)
    codes = encode(params, images)
    centres = np.stack([codes[clusters == j].mean(0) for j in range(k)]).astype(np.float32)
    tensors = params + [centres]
    m = [np.zeros_like(t) for t in tensors]
    v = [np.zeros_like(t) for t in tensors]
    rng = np.random.default_rng(args.seed)
    s = args.shift
    padded = np.pad(images, ((0, 0), (s, s), (s, s)))
    step = 0
    for epoch in range(args.epochs):
        p_all = target(soft_assignments(codes, centres)[0])
        order = rng.permutation(len(images))
        for first in range(0, len(images), args.batch):
            index = order[first:first + args.batch]
            if args.rotate:
                batch = rotated(images, index, s, args.rotate, rng)
            else:
                batch = shifted(padded, index, s, rng, images.shape[1:3])
            acts = forward(params, batch)
            z = acts[-1]
            q, kernel = soft_assignments(z, centres)
            coef = 2 * kernel * (p_all[index] - q) / len(index)
            diff = z[:, None, :] - centres[None]
            grad = (coef[:, :, None] * diff).sum(1)
            grads = [None] * len(params)
            for l in range(len(params) // 2 - 1, -1, -1):
                grads[2 * l], grads[2 * l + 1] = acts[l].T @ grad, grad.sum(0)
                if l > 0:
                    grad = (grad @ params[2 * l].T) * (acts[l] > 0)
            grads.append(-(coef[:, :, None] * diff).sum(0))
            step += 1
            for i, (t, g) in enumerate(zip(tensors, grads)):
                if args.freeze_centres and i == len(params):
                    continue
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                t -= args.lr * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-7)
        codes = encode(params, images)
        found = soft_assignments(codes, centres)[0].argmax(1)
        print(f"epoch {epoch + 1}: accuracy {accuracy(labels, found, k):.4f} "
              f"NMI {normalized_mutual_info_score(labels, found):.4f}", flush=True)
    np.save(args.codes_out, codes)


if __name__ == "__main__":
    main()
