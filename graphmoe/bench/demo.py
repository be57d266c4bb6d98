"""``graphmoe demo`` (what ``make demo`` runs): the project's claim in two tables.

1. Clustering: graphmoe's connectivity segmenters beside k-means on the
   built-in datasets (moons, pinwheel, spirals, digits), given the true k.
2. Mixture of experts: per-arm affine regression on the interleaved spirals,
   routed by the graph (connectivity) versus by k-means centroids and a
   softmax gate.

Prints both tables and writes them (CSV/Markdown) with plots into ``out_dir``.
Sized for about two minutes on two CPU cores (``quick``: well under one).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .methods import get_methods
from .plots import save_benchmark_plots
from .report import markdown_table, pivot_scores, write_report
from .runner import run_benchmark
from .suites import builtin_suite

__all__ = ["run_demo", "demo_moe"]

DEMO_METHODS = ("graphmoe", "graphmoe-hdbscan", "graphmoe-mst", "kmeans", "gmm")
#: gate -> extra estimator arguments; five experts each (one per arm) for equal capacity
DEMO_GATES = {"graph": {"n_experts": 5}, "kmeans": {"n_experts": 5},
              "softmax": {"n_experts": 5}}


def demo_moe(quick=False, random_state=0, gates=DEMO_GATES, verbose=False):
    """Per-arm affine regression on interleaved spirals, one GraphMoE per gate.

    Returns a DataFrame with the test MSE (targets standardised to unit variance),
    R^2 and fit time of each gate.
    """
    from sklearn.model_selection import train_test_split

    from .. import datasets
    from ..moe import GraphMoERegressor

    X, arm = datasets.make_interleaved_spirals(150 if quick else 400, noise=0.1,
                                               random_state=random_state)
    y = datasets.make_affine_targets(X, arm, random_state=random_state)
    y = (y - y.mean()) / y.std()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=random_state,
                                              stratify=arm)
    rows = []
    for gate, extra in gates.items():
        model = GraphMoERegressor(gate=gate, epochs=30 if quick else 60,
                                  random_state=random_state, **extra)
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        elapsed = time.perf_counter() - start
        pred = model.predict(X_te)
        mse = float(np.mean((pred - y_te) ** 2))
        rows.append({"gate": gate, "test_mse": mse, "r2": 1.0 - mse / float(np.var(y_te)),
                     "n_experts": len(model.experts_), "time_s": elapsed})
        if verbose:
            print(f"  moe gate={gate:8s} test MSE {mse:.4f}  ({elapsed:.1f} s)")
    return pd.DataFrame(rows)


def run_demo(out_dir="runs/demo", quick=False, verbose=True, random_state=0):
    """Run the demo, print its tables and write them and the plots into ``out_dir``.

    Returns ``(clustering_table, moe_table)``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    suite = builtin_suite(["moons", "pinwheel", "spirals", "digits"], quick=quick,
                          random_state=random_state)
    result = run_benchmark(suite, get_methods(list(DEMO_METHODS)), modes=("true-k",),
                           random_state=random_state, verbose=verbose)
    write_report(result.table, out / "clustering", title="graphmoe demo: clustering")
    save_benchmark_plots(result, suite, out / "clustering")
    print("\nClustering, adjusted Rand index given the true number of clusters:\n")
    print(markdown_table(pivot_scores(result.table, "ari", "true-k")))
    failed = result.table[result.table["status"] == "failed"]
    for row in failed.itertuples():
        print(f"  note: {row.method} failed on {row.dataset}: {row.error}")
    moe = demo_moe(quick=quick, random_state=random_state, verbose=verbose)
    moe.to_csv(out / "moe.csv", index=False)
    _plot_moe(moe, out / "moe_mse.png")
    print("\nMixture of experts on interleaved spirals (per-arm affine targets, "
          "standardised; lower MSE is better):\n")
    print(markdown_table(moe, index=False))
    print(f"\nTables and plots in {out}/")
    return result.table, moe


def _plot_moe(moe, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(moe["gate"], moe["test_mse"], color=["tab:green"] + ["tab:grey"] * (len(moe) - 1))
    ax.set_ylabel("test MSE (standardised y)")
    ax.set_title("routing on interleaved spirals")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
