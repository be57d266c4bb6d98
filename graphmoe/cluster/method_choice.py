"""Segment a kNN graph with one method, or with both and keep the one of larger modularity.

``method="auto"`` runs HDBSCAN and the Genie-ordered MST cut on the same kNN
graph and keeps the partition of larger modularity (``modularity.py``), so
each data set gets the segmenter that suits it: MST cuts for thin, curved or
touching groups (interleaved spirals; Fashion-MNIST's garments), HDBSCAN for
well-separated density modes of unknown number (digits).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import core_distances, minimum_spanning_edges, mutual_reachability_graph
from .hdbscan_segment import hdbscan_segment
from .modularity import partition_modularity, symmetric_adjacency
from .mst_segment import mst_segment

__all__ = ["SegmentChoice", "candidate_methods", "default_min_samples", "segment_graph"]

#: Tie-break order of ``method="auto"``: MST cuts first, they label every sample.
METHODS = ("mst", "hdbscan")


def candidate_methods(method):
    """The segmenters that ``method`` runs."""
    return METHODS if method == "auto" else (method,)


def default_min_samples(method, min_cluster_size, n_clusters):
    """``min_samples=None`` resolved per segmenter.

    HDBSCAN choosing its own number uses ``min_cluster_size`` (the hdbscan
    library's default, so labels match it). A given number of clusters is cut
    from the tree's shape, which a large core neighbourhood blurs: with 3,
    HDBSCAN with ``n_clusters=5`` on interleaved spirals scores ARI 0.70-0.93
    (3 seeds) instead of 0.02-0.04. MST cuts always use 3.
    """
    if method == "hdbscan" and n_clusters is None:
        return min_cluster_size
    return 3


@dataclass
class SegmentChoice:
    """The kept segmentation, the reachability it was cut from, and every candidate's score."""

    method: str
    segmentation: object
    core_distances: np.ndarray
    mst: np.ndarray
    scores: dict = field(default_factory=dict)


def _reachability_mst(knn, min_samples, node_keys=None):
    core = core_distances(knn.distances_, min_samples)
    reach = mutual_reachability_graph(knn.graph_, core, knn.floor_)
    # Mutual reachability ties many edges; breaking ties by the raw distance and
    # then by ``node_keys`` (a function of each row's contents) makes the tree
    # independent of the row order.
    return core, minimum_spanning_edges(reach, tiebreak=knn.graph_, node_keys=node_keys)


def segment_graph(knn, method, min_cluster_size, min_samples=None, n_clusters=None,
                  allow_single_cluster=False, gini_threshold=0.2, node_keys=None):
    """Segment the fitted ``KNNGraph`` ``knn`` with ``method`` ("auto", "hdbscan" or "mst").

    Parameters
    ----------
    knn : KNNGraph
        Fitted, with at least as many neighbours as the largest ``min_samples``.
    method : {"auto", "hdbscan", "mst"}
    min_cluster_size, n_clusters, allow_single_cluster, gini_threshold
        As in ``ConnectivityClustering``.
    min_samples : int or None
        None: ``default_min_samples`` per segmenter (capped at n - 1).
    node_keys : ndarray of shape (n,), optional
        Per-sample keys that break exact ties of the MST edges (see
        ``graphmoe.graph.minimum_spanning_edges``).

    Returns
    -------
    SegmentChoice
        ``scores`` holds the modularity of every candidate (empty unless "auto").
    """
    n = knn.indices_.shape[0]
    reach = {}
    found = {}
    for name in candidate_methods(method):
        ms = min_samples
        if ms is None:
            ms = min(default_min_samples(name, min_cluster_size, n_clusters), n - 1)
        if ms not in reach:  # both segmenters share the MST when their min_samples agree
            reach[ms] = _reachability_mst(knn, ms, node_keys)
        core, mst = reach[ms]
        if name == "hdbscan":
            seg = hdbscan_segment(mst, min_cluster_size, n_clusters, allow_single_cluster)
        else:
            seg = mst_segment(mst, min_cluster_size, n_clusters, gini_threshold)
        found[name] = SegmentChoice(name, seg, core, mst)
    if len(found) == 1:
        return next(iter(found.values()))
    adjacency = symmetric_adjacency(knn.graph_)  # shared by the candidates' scores
    scores = {name: partition_modularity(knn.graph_, c.segmentation.labels, adjacency)
              for name, c in found.items()}
    best = max(METHODS, key=lambda name: scores[name])  # max keeps the first on ties
    found[best].scores = scores
    return found[best]
