"""Drawing a ``ClusterHierarchy`` with matplotlib (kept apart: plotting is optional)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_hierarchy"]


def _leaf_positions(hierarchy):
    """x of every node: leaves evenly spaced in pre-order, parents centred on their children."""
    x = np.zeros(hierarchy.n_nodes)
    next_leaf = 0
    order = np.argsort(hierarchy._tin)
    for node in order:
        if not hierarchy.children(node):
            x[node] = next_leaf
            next_leaf += 1
    for node in order[::-1]:
        kids = hierarchy.children(node)
        if kids:
            x[node] = np.mean(x[kids])
    return x


def plot_hierarchy(hierarchy, ax=None, log_size=False):
    """Tree with y = birth distance (root on top); marker area grows with size.

    Selected clusters (``cluster_nodes``) are coloured and labelled. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    x = _leaf_positions(hierarchy)
    birth = hierarchy.birth_distance_.copy()
    finite = birth[np.isfinite(birth)]
    top = finite.max() * 1.15 if finite.size else 1.0
    y = np.where(np.isfinite(birth), birth, top)
    for node in range(1, hierarchy.n_nodes):
        p = hierarchy.parent(node)
        ax.plot([x[p], x[node], x[node]], [y[p], y[p], y[node]], color="0.6", lw=1, zorder=1)
    sizes = hierarchy.size_.astype(float)
    area = 20 + 300 * (np.log1p(sizes) / np.log1p(sizes.max()) if log_size
                       else sizes / sizes.max())
    colors = np.full(hierarchy.n_nodes, "0.75", dtype=object)
    cmap = plt.get_cmap("tab10")
    for i, node in enumerate(hierarchy.cluster_nodes):
        colors[node] = cmap(i % 10)
        ax.annotate(str(i), (x[node], y[node]), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.scatter(x, y, s=area, c=list(colors), edgecolors="k", linewidths=0.5, zorder=2)
    ax.set_xticks([])
    ax.set_ylabel("birth distance (mutual reachability)")
    ax.set_title(f"cluster hierarchy: {hierarchy.n_nodes} nodes, "
                 f"{hierarchy.cluster_nodes.size} clusters")
    return ax
