"""``Segmentation``: what every segmenter (HDBSCAN, MST cuts) returns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .condensed import CondensedTree
from .hierarchy import ClusterHierarchy

__all__ = ["Segmentation", "labelled_hierarchy"]


@dataclass
class Segmentation:
    """Result of a segmenter: flat labels and where they sit in the condensed tree.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,)
        Cluster of each sample, -1 = noise.
    selected : ndarray of shape (n_clusters,)
        Condensed-tree node of each label.
    tree : CondensedTree
    """

    labels: np.ndarray
    selected: np.ndarray
    tree: CondensedTree


def labelled_hierarchy(seg, labels, rep, graph):
    """Relabel 0..K-1 over the clusters that kept samples, and build their hierarchy.

    ``labels`` (per sample, -1 = noise) are ids into ``seg.selected``; ``rep``
    maps each sample to the row whose tree position it takes (identical rows
    share the first one's); ``graph`` is the hierarchy's halo graph.
    Returns ``(labels, ClusterHierarchy)``.
    """
    used = np.unique(labels[labels >= 0])
    selected = seg.selected[used]
    remap = np.full(max(seg.selected.size, 1), -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
    tree = seg.tree
    point_node = tree.point_node[rep].copy()
    # A sample of cluster i whose deepest node lies outside i's subtree (MST cuts
    # attach non-core samples, local moves and consensus move samples) is moved into
    # i's node so members() match the labels.
    hierarchy = ClusterHierarchy(tree.parent, tree.lambda_birth, tree.stability, point_node,
                                 selected, graph=graph, point_lambda=tree.point_lambda)
    clustered = np.flatnonzero(labels >= 0)
    inside = hierarchy.is_ancestor(selected[labels[clustered]], point_node[clustered])
    if clustered.size and not inside.all():
        moved = clustered[~inside]
        point_node[moved] = selected[labels[moved]]
        hierarchy = ClusterHierarchy(tree.parent, tree.lambda_birth, tree.stability,
                                     point_node, selected, graph=graph,
                                     point_lambda=tree.point_lambda)
    return labels.astype(np.int64), hierarchy
