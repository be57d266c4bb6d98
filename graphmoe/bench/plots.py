"""Benchmark figures: partitions per dataset, score bars per method, win/loss matrix.

All functions draw with matplotlib's object API and return the figure, so they
work in notebooks and headless (Agg) alike; :func:`save_benchmark_plots`
writes the whole set as PNG files.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["project_2d", "plot_partitions", "plot_score_bars", "win_loss_matrix",
           "plot_win_loss", "save_benchmark_plots", "save_moe_scores", "save_moe_routing"]


def project_2d(X, random_state=0):
    """``X`` itself when 2-D, else its first two principal components."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[1] == 2:
        return X
    if X.shape[1] == 1:
        return np.column_stack([X[:, 0], np.zeros(len(X))])
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=random_state).fit_transform(X)


def _scatter(ax, P, labels, title):
    labels = np.asarray(labels)
    noise = labels < 0
    # many clusters: a cyclic palette keeps neighbouring labels apart
    ax.scatter(P[~noise, 0], P[~noise, 1], c=labels[~noise] % 20, cmap="tab20", s=3,
               vmin=0, vmax=19, linewidths=0)
    if noise.any():
        ax.scatter(P[noise, 0], P[noise, 1], c="lightgrey", s=2, linewidths=0)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_partitions(X, partitions, reference=None, title=None, ncols=4, scores=None):
    """Scatter plots of several partitions of one dataset (2-D or a PCA projection).

    Parameters
    ----------
    X : array of shape (n, d)
    partitions : dict ``name -> labels`` (``-1`` = noise, drawn grey)
    reference : labels of shape (n,), optional; drawn first as "reference"
    scores : dict ``name -> float``, optional; shown in the panel titles (e.g. ARI)
    """
    import matplotlib.pyplot as plt

    panels = ([("reference", reference)] if reference is not None else []) + list(
        partitions.items())
    ncols = max(1, min(ncols, len(panels)))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.5 * nrows), squeeze=False)
    P = project_2d(X)
    for ax, (name, labels) in zip(axes.flat, panels):
        score = (scores or {}).get(name)
        _scatter(ax, P, labels, name if score is None else f"{name}\nARI {score:.2f}")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if title:
        fig.suptitle(title + ("" if X.shape[1] <= 2 else " (PCA projection)"), fontsize=10)
    fig.tight_layout()
    return fig


def plot_score_bars(table, metric="ari", mode="true-k", ax=None):
    """Grouped bars: ``metric`` per method, one bar per dataset, methods sorted by mean."""
    import matplotlib.pyplot as plt

    ok = table[(table["mode"] == mode) & (table["status"] == "ok")]
    pivot = ok.pivot_table(index="method", columns="dataset", values=metric)
    pivot = pivot.loc[pivot.mean(axis=1).sort_values(ascending=False).index]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.7 * len(pivot) + 3), 3.8))
    pivot.plot.bar(ax=ax, width=0.8)
    ax.scatter(np.arange(len(pivot)), pivot.mean(axis=1), marker="_", s=300, c="k",
               zorder=3, label="mean")
    ax.set_ylabel(metric.upper())
    ax.set_xlabel("")
    ax.set_title(f"{metric.upper()} per method ({mode})")
    ax.set_xticks(range(len(pivot)), pivot.index, rotation=40, ha="right")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.figure.tight_layout()
    return ax.figure


def win_loss_matrix(table, metric="ari", mode="true-k", tol=0.01):
    """``W[a, b]`` = datasets where method ``a`` beats ``b`` by more than ``tol``.

    Only datasets where both methods ran count. Returns a square DataFrame.
    """
    ok = table[(table["mode"] == mode) & (table["status"] == "ok")]
    pivot = ok.pivot_table(index="dataset", columns="method", values=metric)
    methods = list(pivot.columns)
    W = pd.DataFrame(0, index=methods, columns=methods, dtype=int)
    for a in methods:
        for b in methods:
            diff = (pivot[a] - pivot[b]).dropna()
            W.at[a, b] = int((diff > tol).sum())
    return W


def plot_win_loss(table, metric="ari", mode="true-k", tol=0.01, ax=None):
    """Heat map of :func:`win_loss_matrix` (row beats column on how many datasets)."""
    import matplotlib.pyplot as plt

    W = win_loss_matrix(table, metric, mode, tol)
    if ax is None:
        size = max(4, 0.5 * len(W) + 2)
        _, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(W.values, cmap="Greens")
    ax.set_xticks(range(len(W)), W.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(W)), W.index, fontsize=7)
    for (i, j), v in np.ndenumerate(W.values):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set_title(f"wins: row beats column by > {tol} {metric.upper()} ({mode})", fontsize=9)
    ax.figure.colorbar(im, ax=ax, shrink=0.7)
    ax.figure.tight_layout()
    return ax.figure


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_")


def save_benchmark_plots(result, datasets, out_dir, metric="ari"):
    """Write partition scatters (one per dataset and mode), bars and win/loss per mode.

    Returns the list of written paths.
    """
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table, written = result.table, []
    for mode in dict.fromkeys(table["mode"]):
        for ds in datasets:
            parts = {m: lab for (d, m, md), lab in result.labels.items()
                     if d == ds.name and md == mode}
            if not parts:
                continue
            rows = table[(table["dataset"] == ds.name) & (table["mode"] == mode)]
            scores = dict(zip(rows["method"], rows[metric]))
            fig = plot_partitions(ds.X, parts, reference=ds.labels[0], scores=scores,
                                  title=f"{ds.name} ({mode})")
            written.append(out / f"partitions_{_slug(ds.name)}_{mode}.png")
            fig.savefig(written[-1], dpi=110)
            plt.close(fig)
        if (table[table["mode"] == mode]["status"] == "ok").any():
            for name, plot in (("bars", plot_score_bars), ("winloss", plot_win_loss)):
                fig = plot(table, metric, mode)
                written.append(out / f"{metric}_{name}_{mode}.png")
                fig.savefig(written[-1], dpi=110)
                plt.close(fig)
    return written


def save_moe_scores(summary, path):
    """Bar chart of each MoE benchmark task's mean score per method (log scale for MSE)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    tasks = summary["task"].unique().tolist()
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        part = summary[summary["task"] == task]
        colors = ["tab:green" if m.startswith("graphmoe") else "tab:grey" for m in part["method"]]
        ax.bar(part["method"], part["mean"], yerr=part["sd"].fillna(0), color=colors)
        if part["metric"].iloc[0] == "mse":
            ax.set_yscale("log")
        ax.set_title(f"{task} ({part['metric'].iloc[0]})")
        ax.tick_params(axis="x", rotation=60, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_moe_routing(models, data, path):
    """Top-1 expert of each test point on the interleaved spirals, per gate."""
    import matplotlib.pyplot as plt

    Xt, groups_t = data[3], data[5]
    names = [n for n in ("graphmoe", "kmeans", "softmax", "oracle") if n in models]
    if not names:
        return
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        model = models[name]
        experts, _ = model.route(Xt, groups=groups_t if name == "oracle" else None)
        ax.scatter(Xt[:, 0], Xt[:, 1], c=experts[:, 0], s=3, cmap="tab10")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
