"""aeclust's CPU k-means against scikit-learn's KMeans on the same features, alternating runs
on one machine (peers are never installed in CI): python3 scripts/kmeans-vs-sklearn.py A.npy ...
Prints the median seconds of 5 runs of each, with k = 10, k-means++ and 10 restarts."""
import os, re, statistics, subprocess, sys, time

import numpy as np
from sklearn.cluster import KMeans

BIN = os.environ.get("AECLUST_BIN", "target/release/aeclust")
for path in sys.argv[1:]:
    x = np.load(path)
    ours, peer, inertia = [], [], None
    for run in range(5):
        out = subprocess.run([BIN, "cluster", "--codes", path, "--backend", "cpu"],
                             capture_output=True, text=True, check=True).stdout
        ours.append(float(re.search(r"iterations\s+([\d.]+) s", out).group(1)))
        start = time.perf_counter()
        km = KMeans(n_clusters=10, init="k-means++", n_init=10, random_state=run).fit(x)
        peer.append(time.perf_counter() - start)
        inertia = km.inertia_
    print(f"{path} {x.shape}: aeclust {statistics.median(ours):.3f} s, scikit-learn "
          f"{statistics.median(peer):.3f} s (inertia {inertia:.6g})")
