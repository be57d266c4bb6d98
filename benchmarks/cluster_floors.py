"""ARI and wall time of graphmoe's clustering vs k-means, GMM and the hdbscan library.

Runs every dataset of issue 2 (moons, pinwheel, interleaved spirals, digits)
and, with --fashion N, a Fashion-MNIST subsample of N points (raw pixels).
Spirals are repeated over --seeds generator seeds (mean and min reported).

    .venv/bin/python benchmarks/cluster_floors.py [--seeds 10] [--fashion 10000] [--out FILE]

Prints a Markdown table; every method gets the true number of clusters where it
takes one ("hdbscan" and "mst auto" choose it themselves).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from graphmoe import ConnectivityClustering, datasets


def _methods(k, seed):
    import hdbscan

    return {
        "graphmoe hdbscan": lambda X: ConnectivityClustering("hdbscan", random_state=seed)
        .fit(X).labels_,
        "graphmoe mst (k given)": lambda X: ConnectivityClustering(
            "mst", n_clusters=k, random_state=seed).fit(X).labels_,
        "graphmoe mst auto": lambda X: ConnectivityClustering("mst", random_state=seed)
        .fit(X).labels_,
        "k-means": lambda X: KMeans(k, n_init=4, random_state=seed).fit_predict(X),
        "GMM": lambda X: GaussianMixture(k, covariance_type="full" if X.shape[1] <= 64
                                         else "diag", random_state=seed).fit(X).predict(X),
        "hdbscan library": lambda X: hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(X),
    }


def _run(X, y, seed, skip=()):
    k = len(np.unique(y))
    out = {}
    for name, fit in _methods(k, seed).items():
        if name in skip:
            continue
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = fit(X)
        out[name] = (adjusted_rand_score(y, labels), time.perf_counter() - t,
                     len(np.unique(labels[labels >= 0])), float(np.mean(labels < 0)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--fashion", type=int, default=0, help="Fashion-MNIST subsample size")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows = []
    for name in ["moons", "pinwheel", "spirals", "digits"]:
        seeds = range(args.seeds) if name == "spirals" else [0]
        runs = [_run(*datasets.load(name, random_state=s), seed=s) for s in seeds]
        for method in runs[0]:
            ari = np.array([r[method][0] for r in runs])
            sec = np.mean([r[method][1] for r in runs])
            n_found = np.mean([r[method][2] for r in runs])
            noise = np.mean([r[method][3] for r in runs])
            rows.append((name, method, ari.mean(), ari.min(), sec, n_found, noise, len(runs)))
    if args.fashion:
        X, y = datasets.load_fashion_mnist(n_samples=args.fashion, random_state=0)
        X = np.asarray(X, dtype=np.float64)
        res = _run(X, y, seed=0)
        for method, (ari, sec, n_found, noise) in res.items():
            rows.append((f"fashion-mnist {args.fashion}", method, ari, ari, sec, n_found,
                         noise, 1))
    lines = ["| dataset | method | ARI mean | ARI min | seconds | clusters | noise | runs |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {d} | {m} | {a:.3f} | {lo:.3f} | {s:.2f} | {c:.1f} | {z:.2f} | {r} |"
              for d, m, a, lo, s, c, z, r in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table + "\n")


if __name__ == "__main__":
    main()
