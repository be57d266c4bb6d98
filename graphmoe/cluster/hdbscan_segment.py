"""HDBSCAN on a graph: condensed tree of the mutual-reachability MST, stable clusters.

Samples outside every selected cluster are noise (-1), as in HDBSCAN.
"""
from __future__ import annotations

from .condensed import condensed_tree, single_linkage_tree
from .segmentation import Segmentation
from .selection import labels_from_selection, select_eom, select_n_clusters

__all__ = ["Segmentation", "hdbscan_segment"]


def select_clusters(tree, n_clusters=None, allow_single_cluster=False):
    """Selected nodes: excess of mass, or the most stable ``n_clusters`` antichain."""
    if n_clusters is None:
        return select_eom(tree.parent, tree.stability, allow_single_cluster)
    return select_n_clusters(tree.parent, tree.stability, n_clusters)


def hdbscan_segment(mst_edges, min_cluster_size, n_clusters=None, allow_single_cluster=False):
    """HDBSCAN labels from the weight-sorted mutual-reachability MST edges.

    Parameters
    ----------
    mst_edges : ndarray of shape (n_samples - 1, 3)
    min_cluster_size : int
    n_clusters : int or None
        None: excess-of-mass selection (HDBSCAN). An int: the most stable
        antichain of that many clusters.
    allow_single_cluster : bool
        Let excess of mass select the root (one cluster).

    Returns
    -------
    Segmentation
    """
    tree = condensed_tree(single_linkage_tree(mst_edges), min_cluster_size)
    selected = select_clusters(tree, n_clusters, allow_single_cluster)
    labels = labels_from_selection(tree.parent, selected, tree.point_node)
    return Segmentation(labels, selected, tree)
