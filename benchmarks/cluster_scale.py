"""Wall time and ARI at scale: Fashion-MNIST raw pixels (up to 70,000 x 784).

    .venv/bin/python benchmarks/cluster_scale.py --n 70000 [--library-n 10000]
        [--library-timeout 600]

graphmoe runs on --n points (pynndescent kNN graph via backend="auto"); the
hdbscan library (boruvka_balltree, its default for this data) runs on
--library-n points in a fresh (spawned) process killed after --library-timeout seconds.
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import warnings

import numpy as np
from sklearn.metrics import adjusted_rand_score

from graphmoe import ConnectivityClustering, KNNGraph, datasets


def _library(X, queue):
    import hdbscan

    t = time.perf_counter()
    labels = hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(X)
    queue.put((labels, time.perf_counter() - t))


def _run_library(X, timeout):
    import queue as queue_module

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_library, args=(X, results))
    proc.start()
    try:
        # Read before joining: a child cannot exit while its queued result is unread.
        labels, seconds = results.get(timeout=timeout)
    except queue_module.Empty:
        labels, seconds = None, None
    if proc.is_alive():
        proc.terminate()
    proc.join()
    return labels, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=70000)
    parser.add_argument("--library-n", type=int, default=10000)
    parser.add_argument("--library-timeout", type=float, default=600)
    args = parser.parse_args(argv)
    X_all, y_all = datasets.load_fashion_mnist(subset="all", random_state=0)
    # pynndescent compiles on first use; keep that out of the timings (reported apart).
    t = time.perf_counter()
    warm = np.random.default_rng(0).normal(size=(500, 20))
    KNNGraph(n_neighbors=10, backend="pynndescent", random_state=0).fit(warm).kneighbors(warm[:5])
    print(f"pynndescent JIT warm-up: {time.perf_counter() - t:.1f}s", flush=True)
    rng = np.random.default_rng(0)
    rows = []
    for n in sorted({args.library_n, args.n}):
        idx = rng.permutation(len(X_all))[:n]
        X, y = np.asarray(X_all[idx], dtype=np.float64), y_all[idx]
        for name, kw in [("graphmoe hdbscan", dict(method="hdbscan")),
                         ("graphmoe mst (k=10)", dict(method="mst", n_clusters=10))]:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cc = ConnectivityClustering(random_state=0, **kw).fit(X)
            fit_s = time.perf_counter() - t
            t = time.perf_counter()
            same = np.array_equal(cc.predict(X[:2000]), cc.labels_[:2000])
            pred_s = time.perf_counter() - t
            rows.append((n, name, adjusted_rand_score(y, cc.labels_), fit_s,
                         f"{pred_s:.1f}s / 2000, exact={same}", cc.n_clusters_,
                         float(np.mean(cc.labels_ < 0)), cc.knn_.backend_))
            print(rows[-1], flush=True)
        if n <= args.library_n:
            labels, sec = _run_library(X, args.library_timeout)
            if labels is None:
                rows.append((n, "hdbscan library", float("nan"), float("nan"),
                             f"killed after {args.library_timeout:.0f}s", 0, float("nan"), "-"))
            else:
                rows.append((n, "hdbscan library", adjusted_rand_score(y, labels), sec, "-",
                             len(np.unique(labels[labels >= 0])), float(np.mean(labels < 0)),
                             "boruvka"))
            print(rows[-1], flush=True)
    print("| n | method | ARI | fit s | predict | clusters | noise | kNN |")
    print("|---|---|---|---|---|---|---|---|")
    for n, m, a, s, p, c, z, b in rows:
        print(f"| {n} | {m} | {a:.3f} | {s:.1f} | {p} | {c} | {z:.2f} | {b} |")


if __name__ == "__main__":
    main()
