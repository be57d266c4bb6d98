"""kNN backends side by side: recall@k against exact search, cold and warm time, memory.

    .venv/bin/python benchmarks/knn_backends.py
        [--datasets digits,blobs20k,fashion10k,fashion70k]
        [--backends pca,faiss,pynndescent,exact,faiss-hnsw,hnswlib,usearch] [--k 15]
    .venv/bin/python benchmarks/knn_backends.py --crossover    # exact vs faiss by n and d

Every (backend, dataset) runs in a fresh Python process: "cold" is the first
build of the k-nearest-neighbour lists of all points there (imports, JIT
compilation and all), "warm" a second build in the same process. graphmoe's
backends (exact, faiss, pca, pynndescent) run the whole ``KNNGraph(...).fit``;
the other libraries build their index and search every point for k + 1
neighbours. Times are wall seconds and CPU seconds (user + system, all
threads): on a shared machine CPU seconds are the steadier of the two.
Recall counts a returned neighbour as correct when its true distance is at
most the true k-th neighbour distance (so ties and duplicates cannot be
miscounted); the truth comes from faiss' exhaustive IndexFlatL2, re-measured
in float64 and cached in ``--cache``. Prints Markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

DATASETS = ("digits", "blobs20k", "fashion10k", "fashion70k")
BACKENDS = ("pca", "faiss", "pynndescent", "exact", "faiss-hnsw", "hnswlib", "usearch")


def load(name):
    """float32 data of the named benchmark set."""
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().data.astype(np.float32)
    if name == "blobs20k":
        from sklearn.datasets import make_blobs

        return make_blobs(20_000, 200, centers=20, random_state=0)[0].astype(np.float32)
    if name.startswith("gauss"):  # gauss<n>x<d>: one isotropic cloud, for --crossover
        n, d = map(int, name[5:].split("x"))
        return np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    from graphmoe.datasets.fashion_mnist import load_fashion_mnist

    n = {"fashion10k": 10_000, "fashion70k": None}[name]
    return load_fashion_mnist(n_samples=n, random_state=0)[0]


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _library_knn(backend, X, k):
    """(n, k+1) neighbour ids of every point from a library outside graphmoe."""
    n, d = X.shape
    if backend == "faiss-hnsw":
        import faiss

        index = faiss.IndexHNSWFlat(d, 16)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # a threaded insertion order is racy: not reproducible
        index.add(X)
        faiss.omp_set_num_threads(threads)
        index.hnsw.efSearch = 64
        return index.search(X, k + 1)[1]
    if backend == "hnswlib":
        import hnswlib

        index = hnswlib.Index("l2", d)
        index.init_index(n, M=16, ef_construction=100, random_seed=0)
        index.add_items(X, np.arange(n))
        index.set_ef(64)
        return index.knn_query(X, k + 1)[0]
    from usearch.index import Index

    index = Index(ndim=d, metric="l2sq", dtype="f32", connectivity=16, expansion_add=128,
                  expansion_search=64)
    index.add(np.arange(n), X)
    return index.search(X, k + 1).keys


def _build(backend, X, k):
    from graphmoe.graph._index import _drop_self, pair_distances

    if backend in ("pca", "faiss", "pynndescent", "exact"):
        from graphmoe import KNNGraph

        return KNNGraph(n_neighbors=k, backend=backend, random_state=0).fit(X).indices_
    ind = np.asarray(_library_knn(backend, X, k), dtype=np.int64)
    return _drop_self(ind, pair_distances(X, X, ind), k)[0]


def worker(backend, dataset, k):
    """Run in a fresh process: print one JSON line of timings, recall and memory."""
    X = load(dataset)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"backend": backend, "dataset": dataset, "n": X.shape[0], "d": X.shape[1]}
    for phase in ("cold", "warm"):
        t, c = time.perf_counter(), _cpu_seconds()
        ind = _build(backend, X, k)
        row[phase + "_s"], row[phase + "_cpu_s"] = time.perf_counter() - t, _cpu_seconds() - c
        if phase == "cold":
            first = ind
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["rss_over_data_mib"] = row["peak_rss_mib"] - rss_loaded
    row["repeatable"] = bool(np.array_equal(first, ind))
    row["ind_file"] = _save_indices(first, backend, dataset)
    print(json.dumps(row))


def _save_indices(ind, backend, dataset):
    path = os.path.join(os.environ["KNN_BENCH_CACHE"], f"ind_{backend}_{dataset}.npy")
    np.save(path, ind)
    return path


def true_kth_distance(dataset, k, cache):
    """float64 distance of every point's true k-th nearest other point (cached)."""
    path = os.path.join(cache, f"kth_{dataset}_{k}.npy")
    if os.path.exists(path):
        return np.load(path)
    import faiss

    from graphmoe.graph._index import _drop_self, pair_distances

    X = load(dataset)
    flat = faiss.IndexFlatL2(X.shape[1])
    flat.add(X)
    ind = flat.search(X, k + 8)[1].astype(np.int64)  # slack for float32 rounding
    dist = pair_distances(X, X, ind)
    dist = np.sort(_drop_self(ind, dist, k + 7)[1], axis=1)
    np.save(path, dist[:, k - 1])
    return dist[:, k - 1]


def recall(dataset, ind, kth):
    from graphmoe.graph._index import pair_distances

    X = load(dataset)
    dist = pair_distances(X, X, ind)
    return float(np.mean(dist <= kth[:, None] * (1 + 1e-6) + 1e-9))


def run(backend, dataset, k, cache):
    env = dict(os.environ, KNN_BENCH_CACHE=cache)
    cmd = [sys.executable, __file__, "--worker", backend, dataset, "--k", str(k)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"backend": backend, "dataset": dataset, "error": proc.stderr.strip()[-300:]}
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["recall"] = recall(dataset, np.load(row.pop("ind_file")), true_kth_distance(dataset, k, cache))
    return row


def _table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.3f}" if c == "recall" and v != "" else
                         f"{v:.1f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--k", type=int, default=15)
    parser.add_argument("--cache", default="/tmp/graphmoe_knn_bench")
    parser.add_argument("--crossover", action="store_true",
                        help="exact vs faiss on Gaussian clouds of several n and d")
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker, args.k)
    os.makedirs(args.cache, exist_ok=True)
    if args.crossover:
        args.backends = "exact,faiss"
        args.datasets = ",".join(f"gauss{n}x{d}" for d, ns in
                                 ((50, (10_000, 20_000, 40_000)), (200, (5_000, 10_000, 20_000)),
                                  (784, (2_000, 5_000, 10_000))) for n in ns)
    rows = []
    for dataset in args.datasets.split(","):
        for backend in args.backends.split(","):
            rows.append(run(backend, dataset, args.k, args.cache))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(_table(rows, ["dataset", "backend", "recall", "cold_s", "cold_cpu_s", "warm_s",
                        "warm_cpu_s", "peak_rss_mib", "rss_over_data_mib", "repeatable", "error"]))


if __name__ == "__main__":
    main()
