"""Connectivity clustering of real data: graphmoe vs EVōC and UMAP + HDBSCAN, cold and warm.

Every (method, dataset) pair runs in a FRESH Python process, so the first fit
pays every import and compilation a new user pays; the second fit, in the
same process, shows the warm cost. Peak memory is the process's peak
resident set (ru_maxrss), data loading included, the same for every method.

    .venv/bin/python benchmarks/cluster_real.py [--datasets digits fashion10k fashion70k blobs]
        [--methods default hdbscan mst evoc umap-hdbscan ae-default ae-layout layouts2 layouts3]
        [--n-clusters 10|0] [--seeds N] [--first-only] [--ae-epochs E] [--ae-fit-samples N]
        [--out FILE]
    .venv/bin/python benchmarks/cluster_real.py --choice moons pinwheel spirals digits fashion10k

ARI counts noise (-1) as a label of its own; ACC is the Hungarian accuracy
with noise counted as wrong. ``--n-clusters 0`` lets every method choose the
number itself. UMAP + HDBSCAN never takes a number (hdbscan has none);
EVōC gets ``approx_n_clusters``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

DATASETS = ["digits", "fashion10k", "fashion70k", "blobs"]
METHODS = ["default", "hdbscan", "mst", "evoc", "umap-hdbscan", "ae-default", "ae-layout",
           "layouts2", "layouts3"]


def load(name):
    from graphmoe import datasets

    if name == "digits":
        return datasets.load_digits()
    if name == "fashion10k":
        return datasets.load_fashion_mnist(n_samples=10_000, random_state=0)
    if name == "fashion70k":
        return datasets.load_fashion_mnist()
    if name == "blobs":
        from sklearn.datasets import make_blobs

        X, y = make_blobs(20_000, n_features=200, centers=10, random_state=0)
        return X.astype(np.float32), y
    raise ValueError(f"unknown dataset {name!r}")


def make_fit(method, k, seed=0, ae_epochs=20, ae_fit_samples=0):
    """A function X -> labels for ``method`` (fresh estimator per call)."""
    from graphmoe import ConnectivityClustering

    if method in ("default", "hdbscan", "mst", "layouts2", "layouts3"):
        # layoutsN: the default with the consensus of N layouts (n_layouts=N)
        kind = method if method in ("hdbscan", "mst") else "auto"
        n_layouts = int(method[-1]) if method.startswith("layouts") else 1
        return lambda X: ConnectivityClustering(kind, n_clusters=k, n_layouts=n_layouts,
                                                random_state=seed).fit(X).labels_
    if method in ("ae-default", "ae-layout"):
        from graphmoe.embed import AutoEncoder, GraphLayout

        # "ae-layout" is N2D's pipeline with graphmoe's stages: AE code -> graph layout
        # -> connectivity clustering (the 10-D code is under the layout threshold, so
        # the layout is passed explicitly); "ae-default" segments the code as it is.
        layout = "auto"
        if method == "ae-layout":
            layout = GraphLayout(n_components=8, random_state=seed)

        def fit(X):
            rows = X  # ae_fit_samples > 0: train on that many random rows, encode all
            if 0 < ae_fit_samples < len(X):
                rows = X[np.random.default_rng(seed).choice(len(X), ae_fit_samples,
                                                            replace=False)]
            ae = AutoEncoder(n_components=10, epochs=ae_epochs, graph_weight=5.0,
                             num_threads=2, random_state=seed).fit(rows)
            Z = ae.transform(X)
            return ConnectivityClustering(n_clusters=k, layout=layout,
                                          random_state=seed).fit(Z).labels_
        return fit
    if method == "evoc":
        import evoc

        kw = {} if k is None else {"approx_n_clusters": k}
        return lambda X: evoc.EVoC(random_state=seed, **kw).fit_predict(X)
    if method == "umap-hdbscan":
        import hdbscan
        import umap

        def fit(X):
            Z = umap.UMAP(n_components=8, n_neighbors=15, min_dist=0.0,
                          random_state=seed).fit_transform(X)
            return hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(Z)
        return fit
    raise ValueError(f"unknown method {method!r}")


def accuracy_noise_wrong(y, labels):
    """Hungarian accuracy over all points; noise (-1) is never matched, so counts as wrong."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics.cluster import contingency_matrix

    keep = labels >= 0
    if not keep.any():
        return 0.0
    C = contingency_matrix(y[keep], labels[keep])
    rows, cols = linear_sum_assignment(-C)
    return float(C[rows, cols].sum() / y.size)


def worker(method, dataset, k, seed=0, ae_epochs=20, second_fit=True, ae_fit_samples=0):
    """Run one pair in this (fresh) process and print one JSON line."""
    from sklearn.metrics import adjusted_rand_score

    warnings.simplefilter("ignore")
    X, y = load(dataset)
    fit = make_fit(method, k, seed, ae_epochs, ae_fit_samples)
    t, cpu = time.perf_counter(), time.process_time()
    labels = np.asarray(fit(X))
    first, first_cpu = time.perf_counter() - t, time.process_time() - cpu
    second = float("nan")
    if second_fit:
        t = time.perf_counter()
        fit(X)
        second = time.perf_counter() - t
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(1)
    print(json.dumps({
        "method": method, "dataset": dataset, "seed": seed, "ari": adjusted_rand_score(y, labels),
        "acc": accuracy_noise_wrong(y, labels), "first_s": first, "first_cpu_s": first_cpu,
        "second_s": second,
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "clusters": int(sizes.size), "largest": float(sizes.max() / y.size),
        "noise": float(np.mean(labels < 0))}))


def run_fresh(method, dataset, k, timeout, seed=0, extra=()):
    cmd = [sys.executable, __file__, "--worker", method, dataset, "--n-clusters", str(k or 0),
           "--seed", str(seed), *extra]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"method": method, "dataset": dataset, "error": f"timeout {timeout}s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"method": method, "dataset": dataset, "error": out.stderr.strip()[-300:]}
    return json.loads(lines[-1])


def choice_table(names, seeds):
    """ARI of the default ("auto") against "hdbscan" and "mst", with and without n_clusters.

    Quality only (one process): the check that the default is within 0.02 of
    the better segmenter on every built-in data set.
    """
    from sklearn.metrics import adjusted_rand_score

    from graphmoe import ConnectivityClustering, datasets

    warnings.simplefilter("ignore")
    lines = ["| data | n_clusters | auto (chose) | hdbscan | mst | auto - best |",
             "|---|---|---|---|---|---|"]
    for name in names:
        for seed in range(seeds):
            X, y = load(name) if name in DATASETS else datasets.load(name, random_state=seed)
            # The layout does not depend on the method: fit it once, segment it six times.
            base = ConnectivityClustering(random_state=seed).fit(X)
            if base.embedding_ is not None:
                X = base.embedding_
            for k in (None, len(np.unique(y))):
                ari, chose = {}, None
                for method in ("auto", "hdbscan", "mst"):
                    cc = ConnectivityClustering(method, n_clusters=k, layout="off",
                                                random_state=seed).fit(X)
                    ari[method] = adjusted_rand_score(y, cc.labels_)
                    chose = chose or cc.method_
                gap = ari["auto"] - max(ari["hdbscan"], ari["mst"])
                lines.append(f"| {name} (seed {seed}) | {k} | {ari['auto']:.3f} ({chose}) "
                             f"| {ari['hdbscan']:.3f} | {ari['mst']:.3f} | {gap:+.3f} |")
                print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def table(rows):
    lines = ["| data | method | seed | ARI | ACC | clusters | largest | noise | first fit s "
             "| first fit CPU s | second fit s | peak GiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['method']} | | failed: {r['error'][:80]} "
                         "| | | | | | | | |")
            continue
        lines.append(f"| {r['dataset']} | {r['method']} | {r['seed']} | {r['ari']:.3f} "
                     f"| {r['acc']:.3f} "
                     f"| {r['clusters']} | {r['largest']:.2f} | {r['noise']:.2f} "
                     f"| {r['first_s']:.1f} | {r['first_cpu_s']:.1f} | {r['second_s']:.1f} "
                     f"| {r['peak_gib']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--methods", nargs="+", default=METHODS[:5], choices=METHODS)
    parser.add_argument("--n-clusters", type=int, default=10, help="0: methods choose")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    parser.add_argument("--out", default=None)
    parser.add_argument("--choice", nargs="*", default=None, metavar="DATASET",
                        help="instead: the auto-method check on these data sets (built-in "
                             "names or the ones above), e.g. moons pinwheel spirals digits")
    parser.add_argument("--seeds", type=int, default=1,
                        help="seeds 0..SEEDS-1 of every run (and of --choice)")
    parser.add_argument("--ae-epochs", type=int, default=20,
                        help="AutoEncoder epochs of the ae-* methods")
    parser.add_argument("--ae-fit-samples", type=int, default=0,
                        help="ae-* methods: train the AutoEncoder on this many random rows "
                             "(0: all) and encode every row")
    parser.add_argument("--first-only", action="store_true",
                        help="skip the second (warm) fit, e.g. for the slow ae-* methods")
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    k = args.n_clusters or None
    if args.worker:
        worker(*args.worker, k, args.seed, args.ae_epochs, not args.first_only,
               args.ae_fit_samples)
        return
    if args.choice is not None:
        text = choice_table(args.choice or ["moons", "pinwheel", "spirals", "digits"],
                            args.seeds)
        print(text)
        if args.out:
            with open(args.out, "w") as fh:
                fh.write(text + "\n")
        return
    rows = []
    for dataset in args.datasets:
        for method in args.methods:
            for seed in range(args.seeds):
                extra = ["--ae-epochs", str(args.ae_epochs), "--ae-fit-samples",
                         str(args.ae_fit_samples)] + ["--first-only"] * args.first_only
                rows.append(run_fresh(method, dataset, k, args.timeout, seed, extra))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    text = table(rows)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
