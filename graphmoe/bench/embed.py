"""Embedding benchmark: AE / VAE / VaDE / DMVAE, with and without the graph loss.

Each embedder is fitted on a dataset, then its code is clustered by
``ConnectivityClustering`` (HDBSCAN and MST cuts) and by k-means and a
Gaussian mixture; VaDE and DMVAE are also scored by their own ``predict``.
A ``raw`` row clusters the input itself. Scores are Hungarian accuracy, ARI
and NMI; costs are training time and peak resident memory during training.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .memory import peak_memory
from .report import markdown_table

__all__ = ["run_embed_benchmark", "EMBEDDERS", "peak_memory"]

#: name -> class name in graphmoe.embed
EMBEDDERS = {"ae": "AutoEncoder", "vae": "VAE", "vade": "VaDE", "dmvae": "DMVAE"}
#: graph_weight values compared (off, and the library default).
GRAPH_WEIGHTS = (0.0, 5.0)


def _load(name, quick, n_fashion, random_state):
    from graphmoe import datasets

    if name == "digits":
        return datasets.load_digits()
    X, y = datasets.load_fashion_mnist(subset="all", n_samples=n_fashion,
                                       random_state=random_state)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _embedder_params(name, n_clusters, n_features, quick):
    params = {"n_components": 10}
    if name in ("vade", "dmvae"):
        params["n_clusters"] = n_clusters
    if quick:
        params.update(epochs=15, patience=5)
        if name in ("vade", "dmvae"):
            params["pretrain_epochs"] = 10
    elif n_features >= 256:
        # CPU budget: a narrower stack than DEC's 500-500-2000 and fewer epochs.
        params.update(hidden_dims=(256, 256), epochs=40, patience=8)
        if name in ("vade", "dmvae"):
            params["pretrain_epochs"] = 30
    return params


def _clusterers(n_clusters, n_samples, random_state):
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    from graphmoe import ConnectivityClustering

    mcs = max(10, n_samples // (4 * n_clusters))
    return {
        "cc-hdbscan": lambda Z: ConnectivityClustering(
            method="hdbscan", min_cluster_size=mcs, random_state=random_state).fit(Z).labels_,
        "cc-mst": lambda Z: ConnectivityClustering(
            method="mst", n_clusters=n_clusters, random_state=random_state).fit(Z).labels_,
        "kmeans": lambda Z: KMeans(n_clusters, n_init=10,
                                   random_state=random_state).fit_predict(Z),
        "gmm": lambda Z: GaussianMixture(n_clusters, covariance_type="diag", n_init=3,
                                         random_state=random_state).fit(Z).predict(Z),
    }


def _score_rows(Z, y, clusterers, base):
    from graphmoe.metrics import score_partition

    rows = []
    for cname, fn in clusterers.items():
        labels = fn(Z)
        s = score_partition(labels, y)
        rows.append({**base, "clusterer": cname, "acc": s["acc"], "ari": s["ari"],
                     "nmi": s["nmi"], "n_found": int(len(np.unique(labels[labels >= 0])))})
    return rows


def _fit_one(name, graph_weight, X, params, random_state, num_threads):
    from graphmoe import embed

    model = getattr(embed, EMBEDDERS[name])(graph_weight=graph_weight, random_state=random_state,
                                            num_threads=num_threads, **params)
    with peak_memory() as mem:
        t0 = time.perf_counter()
        Z = model.fit_transform(X)
        seconds = time.perf_counter() - t0
    return model, Z, seconds, mem.peak_mb


def run_embed_benchmark(out_dir, quick=False, verbose=True, datasets=None, models=None,
                        graph_weights=GRAPH_WEIGHTS, n_fashion=10000, random_state=0,
                        num_threads=None, include_raw=True):
    """Fit every embedder on every dataset, cluster the codes, and tabulate the scores.

    Parameters
    ----------
    out_dir : str or Path
        Receives ``embed_results.csv`` and ``embed_results.md``.
    quick : bool
        Digits only, few epochs (seconds to a minute or two on 2 cores).
    verbose : bool
        A progress bar over the runs.
    datasets : list of {"digits", "fashion-mnist"} or None
        ``None``: digits, plus Fashion-MNIST when installed and not ``quick``.
    models : list of {"ae", "vae", "vade", "dmvae"} or None
    graph_weights : sequence of float
    n_fashion : int
        Fashion-MNIST rows drawn at random (the full 70,000 is beyond a CPU budget).
    random_state : int
    num_threads : int or None
        torch threads for training.
    include_raw : bool
        Also cluster the input itself (the ``raw`` rows).

    Returns
    -------
    pandas.DataFrame, one row per (dataset, model, graph_weight, clusterer).
    """
    from graphmoe import datasets as ds
    from graphmoe._progress import progress

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if datasets is None:
        datasets = ["digits"] + ([] if quick or "fashion-mnist" not in ds.available()
                                 else ["fashion-mnist"])
    models = list(models or EMBEDDERS)
    runs = [(d, m, w) for d in datasets for m in (["raw"] if include_raw else []) + models
            for w in ([0.0] if m == "raw" else graph_weights)]
    rows, cache = [], {}
    for dname, mname, gw in progress(runs, verbose=verbose, desc="embed bench"):
        if dname not in cache:
            cache[dname] = _load(dname, quick, n_fashion, random_state)
        X, y = cache[dname]
        K = len(np.unique(y))
        base = {"dataset": dname, "n": len(X), "model": mname, "graph_weight": gw}
        clusterers = _clusterers(K, len(X), random_state)
        if mname == "raw":
            rows += _score_rows(X, y, clusterers, {**base, "train_s": 0.0, "peak_mb": 0.0})
            _write(rows, out_dir)
            continue
        params = _embedder_params(mname, K, X.shape[1], quick)
        model, Z, secs, mb = _fit_one(mname, gw, X, params, random_state, num_threads)
        base.update(train_s=secs, peak_mb=mb)
        if hasattr(model, "predict"):
            clusterers = {"predict": lambda _Z, m=model: m.predict(X), **clusterers}
        rows += _score_rows(Z, y, clusterers, base)
        _write(rows, out_dir)  # after every run, so a cut-off benchmark keeps what it did
    return _write(rows, out_dir)


def _write(rows, out_dir):
    table = pd.DataFrame(rows)
    table.to_csv(out_dir / "embed_results.csv", index=False)
    (out_dir / "embed_results.md").write_text(_markdown(table))
    return table


def _markdown(table):
    cols = ["dataset", "n", "model", "graph_weight", "clusterer", "acc", "ari", "nmi",
            "n_found", "train_s", "peak_mb"]
    shown = table[cols].copy()
    for c in ("acc", "ari", "nmi"):
        shown[c] = shown[c].map(lambda v: f"{v:.3f}")
    shown["train_s"] = shown["train_s"].map(lambda v: f"{v:.1f}")
    shown["peak_mb"] = shown["peak_mb"].map(lambda v: f"{v:.0f}")
    return markdown_table(shown, index=False) + "\n"
