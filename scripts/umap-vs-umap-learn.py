"""aeclust's CPU UMAP against umap-learn (warm: its first, compiling run is not counted) on the
same features, alternating runs on one machine (peers are never installed in CI):
python3 scripts/umap-vs-umap-learn.py codes.npy ... Settings as aeclust's defaults: 20
neighbours, 10 dimensions, min_dist 0, umap-learn's epoch rule."""
import os, re, statistics, subprocess, sys, time

import numpy as np
import umap

BIN = os.environ.get("AECLUST_BIN", "target/release/aeclust")
umap.UMAP(n_neighbors=20, n_components=10, min_dist=0.0).fit_transform(np.random.rand(500, 5))
for path in sys.argv[1:]:
    x = np.load(path)
    ours, peer = [], []
    for run in range(3):
        out = subprocess.run([BIN, "cluster", "--codes", path, "--embed", "umap", "--backend",
                              "cpu", "--n-init", "1"], capture_output=True, text=True,
                             check=True).stdout
        ours.append(float(re.search(r"\(umap ([\d.]+) s\)", out).group(1)))
        start = time.perf_counter()
        umap.UMAP(n_neighbors=20, n_components=10, min_dist=0.0).fit_transform(x)
        peer.append(time.perf_counter() - start)
    print(f"{path} {x.shape}: aeclust {statistics.median(ours):.2f} s, umap-learn "
          f"{statistics.median(peer):.2f} s")
