"""The cost of one training step on paper: what aeclust's step does (dispatches, flops, bytes
per kernel family, from the recipe's widths and the batch, padded as the kernels pad them),
priced on a device model (per-dispatch cost, fp32 rate, memory bandwidth). Applied to an
H100-class card (no such card has run aeclust), and to lavapipe, where `aeclust bench`'s
timestamp queries measure each kernel family, so the model's error is known there.

python3 scripts/step-cost.py [bench.json]   (bench.json from `aeclust bench --json`, which
times the blog recipe; with --recipe deep too, its file as a second argument)
"""
import json, sys

PAD = 32
RECIPES = {
    "blog": [784, 128, 32, 128, 784],
    "deep": [784, 500, 500, 2000, 10, 2000, 500, 500, 784],
}
FAMILIES = ["gather", "matmul X W", "bce_sigmoid", "matmul X^T dZ", "column_sums",
            "matmul dZ W^T", "adam"]


def pad(n):
    return -(-n // PAD) * PAD


def step(widths, batch):
    """Every dispatch of one step: (family, flops, bytes, workgroups)."""
    rows = pad(batch)
    layers = list(zip(widths[:-1], widths[1:]))
    out = []

    def matmul(family, m, n, k, extra=0):
        m, n, k = pad(m), pad(n), pad(k)
        out.append((family, 2.0 * m * n * k, 4.0 * (m * k + k * n + m * n + extra),
                    (m // 32) * (n // 32)))

    d = widths[0]
    out.append(("gather", 0.0, batch * d + 4.0 * rows * pad(d), 1))
    for i, o in layers:
        matmul("matmul X W", rows, o, i, extra=o)
    out.append(("bce_sigmoid", 0.0, 3 * 4.0 * rows * pad(d), 1))
    for l, (i, o) in enumerate(layers):
        matmul("matmul X^T dZ", i, o, rows)
        out.append(("column_sums", 0.0, 4.0 * (rows * pad(o) + o), 1))
        if l > 0:
            matmul("matmul dZ W^T", rows, i, o, extra=rows * pad(i))
    params = sum(pad(i) * pad(o) + pad(o) for i, o in layers)
    out.append(("adam", 0.0, 7 * 4.0 * params, 1))
    return out


class Device:
    """Each dispatch costs `overhead_us`, then the larger of its flops (at `group_gflops` per
    workgroup, `gflops` at most: a small grid leaves the card idle) and its bytes at `gbps`."""

    def __init__(self, name, overhead_us, gflops, gbps, group_gflops):
        self.name, self.overhead_us = name, overhead_us
        self.gflops, self.gbps, self.group_gflops = gflops, gbps, group_gflops

    def microseconds(self, dispatch):
        _, flops, nbytes, groups = dispatch
        rate = min(self.gflops, groups * self.group_gflops)
        return self.overhead_us + max(flops / (rate * 1e3), nbytes / (self.gbps * 1e3))

    def family(self, dispatches, family):
        return sum(self.microseconds(d) for d in dispatches if d[0] == family)


# H100 SXM: 67 TFLOP/s fp32 (no tensor cores: the kernels are plain WGSL fp32), 3.35 TB/s.
# Assumed: the tiled WGSL matmul reaches an eighth of the fp32 peak on grids that fill the
# card, one 64-invocation workgroup (two warps) about 60 GFLOP/s, memory kernels 70% of the
# bandwidth, and a dispatch inside one compute pass (with the barrier to the next) 4 us.
H100 = Device("H100 (assumed)", overhead_us=4.0, gflops=67000 / 8, gbps=0.7 * 3350,
              group_gflops=60.0)


def lavapipe_from(kernels, batch):
    """lavapipe's figures fitted to bench's timestamps at the largest batch: the matmul rate
    from `matmul X W`, the bandwidth from `adam`, 14 us a dispatch (measured earlier); one
    workgroup runs at the whole rate (it runs on the CPU's cores in turn)."""
    dispatches = step(RECIPES["blog"], batch)
    overhead = 14.0
    mm = [d for d in dispatches if d[0] == "matmul X W"]
    gflops = sum(d[1] for d in mm) / ((kernels["matmul X W"] - len(mm) * overhead) * 1e3)
    adam = next(d for d in dispatches if d[0] == "adam")
    gbps = adam[2] / ((kernels["adam"] - overhead) * 1e3)
    return Device("lavapipe (fitted)", overhead, gflops, gbps, group_gflops=gflops)


def table(device, recipe, batches, measured=None):
    print(f"\n{device.name}, {recipe} recipe: microseconds per step (model" +
          (" / measured / model error" if measured else "") + ")")
    print(f"{'kernel':<16}" + "".join(f"{'batch ' + str(b):>24}" for b in batches))
    totals = {b: [0.0, 0.0] for b in batches}
    for family in FAMILIES:
        row = f"{family:<16}"
        for b in batches:
            model = device.family(step(RECIPES[recipe], b), family)
            totals[b][0] += model
            if measured and family in measured.get(b, {}):
                m = measured[b][family]
                totals[b][1] += m
                row += f"{model:>10.0f} /{m:>7.0f} {100 * (model - m) / m:>+4.0f}%"
            else:
                row += f"{model:>24.0f}"
        print(row)
    row = f"{'step':<16}"
    for b in batches:
        model, m = totals[b]
        row += (f"{model:>10.0f} /{m:>7.0f} {100 * (model - m) / m:>+4.0f}%" if measured
                else f"{model:>24.0f}")
    print(row)
    row = f"{'samples/s':<16}"
    for b in batches:
        row += f"{b / totals[b][0] * 1e6:>24.0f}"
    print(row)
    dispatches = len(step(RECIPES[recipe], batches[0]))
    print(f"{dispatches} dispatches a step; {dispatches * device.overhead_us:.0f} us of them "
          f"dispatch cost alone")


def measured_kernels(path):
    report = json.load(open(path))
    out = {}
    for k in report.get("kernels", []):
        if k["backend"] == "gpu":
            out.setdefault(k["batch"], {})[k["kernel"]] = k["microseconds"]
    return out


if __name__ == "__main__":
    batches = [32, 256, 1024]
    for recipe in RECIPES:
        table(H100, recipe, batches)
    if len(sys.argv) > 1:
        measured = measured_kernels(sys.argv[1])
        if measured:
            largest = max(measured)
            lavapipe = lavapipe_from(measured[largest], largest)
            print(f"\nlavapipe fitted at batch {largest}: {lavapipe.gflops:.1f} GFLOP/s, "
                  f"{lavapipe.gbps:.2f} GB/s, {lavapipe.overhead_us} us a dispatch")
            table(lavapipe, "blog", sorted(measured), measured)
