"""Segment a kNN graph with one method, or with several and keep the one of largest modularity.

``method="auto"`` runs HDBSCAN and Genie-ordered MST cuts (at a few Gini
thresholds when ``n_clusters`` is given) on the same kNN graph and keeps the partition of largest
modularity (``modularity.py``), so each data set gets the segmenter that
suits it: MST cuts for thin, curved or touching groups (interleaved spirals;
Fashion-MNIST's garments), HDBSCAN for well-separated density modes of
unknown number. All candidates share one core-distance computation and one
mutual-reachability MST when their ``min_samples`` agree (always, when
``n_clusters`` is given); each extra MST cut costs a Genie order, a
condensed tree and a modularity score, about a second at 70,000 points.

Why several Gini thresholds: which threshold cuts a laid-out data set best
varies from layout to layout, and modularity tracks the ARI of these cuts
closely (correlation 0.94-1.00 over 20 cuts of digits and Fashion-MNIST
10k layouts, ``benchmarks/cluster_real.py``). Keeping the best of 0.1, the
user's threshold and 0.5 lifted the 10-cluster ARI of digits (seeds 0-2)
from 0.834/0.899/0.899 to 0.901/0.899/0.899 and Fashion-MNIST 20k (seeds
0-1) from 0.501/0.480 to 0.525/0.480 (accuracy 0.600 -> 0.688 on seed 0).

Why two split orders: undoing the last merges spends the clusters where the
tree's merge order says, which on Fashion-MNIST layouts was often two
clusters on the boots and one on T-shirts + pullovers + shirts (24 % of the
points). Each tree is therefore also cut best-first, always splitting the
cluster whose split raises the modularity most
(``selection.select_best_splits``). Fashion-MNIST 10k, seeds 0-2: ARI 0.419 /
0.508 / 0.467 -> 0.470 / 0.508 / 0.473; digits unchanged.

Why over-cut and merge back (laid-out data only): a small group that the
layout attached to a cluster by a weak bridge stays there under both split
orders. Cutting each tree into five times as many parts and merging them
back greedily by modularity on the union of the kNN graphs of ``X`` and of
the layout reattaches it; the result is kept only when it differs little
from the chosen cut (``_remerged``). sklearn digits, seeds 0-9: ARI
0.883-0.928 (mean 0.909) -> 0.898-0.940 (mean 0.920); Fashion-MNIST 10k,
where the merges reorganise whole clusters, is left as it was.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..graph import core_distances, minimum_spanning_edges, mutual_reachability_graph
from .hdbscan_segment import hdbscan_segment
from .modularity import merge_clusters, partition_modularity, symmetric_adjacency
from .mst_segment import mst_segment
from .segmentation import Segmentation

__all__ = ["SegmentChoice", "candidate_methods", "default_min_samples", "segment_graph",
           "union_adjacency"]

#: Tie-break order of ``method="auto"``: MST cuts first, they label every sample.
METHODS = ("mst", "hdbscan")
#: Gini thresholds that ``method="auto"`` tries besides the user's ``gini_threshold``.
AUTO_GINI = (0.1, 0.5)
#: With a union graph (``segment_graph(union=...)``), each tree is also cut into
#: this many times ``n_clusters`` parts, which are then merged back by modularity.
OVERCUT = 5
#: ... and such a merged cut replaces the kept one only if it agrees with it on this
#: fraction of the samples (``_remerged``).
REMERGE_AGREEMENT = 0.95
#: No over-cut beyond this many parts (``n_clusters`` > 200): the greedy merging keeps a
#: parts x parts table and costs O(parts^3) (about 1 s at 1,000 parts).
MAX_OVERCUT_PARTS = 1000


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
    gini_threshold: float = None
    #: How an MST cut chose its splits: "merge" (undo the last merges),
    #: "modularity" (best-first by modularity) or "overcut" (cut finer, merged back
    #: by modularity); None for HDBSCAN.
    splits: str = None


def _reachability_mst(knn, min_samples, node_keys=None):
    core = core_distances(knn.distances_, min_samples)
    reach = mutual_reachability_graph(knn.graph_, core, knn.floor_)
    # Mutual reachability ties many edges; breaking ties by the raw distance and
    # then by ``node_keys`` (a function of each row's contents) makes the tree
    # independent of the row order.
    return core, minimum_spanning_edges(reach, tiebreak=knn.graph_, node_keys=node_keys)


def _overcut_and_merge(mst, min_cluster_size, n_clusters, gini, adjacency):
    """Cut the tree into ``OVERCUT * n_clusters`` parts, merge them to ``n_clusters`` by modularity.

    Each merged cluster keeps the tree node of its largest part (the
    estimator moves the other parts' samples under it).
    """
    with warnings.catch_warnings():  # a tree with fewer leaves gives fewer parts
        warnings.simplefilter("ignore", UserWarning)
        fine = mst_segment(mst, min_cluster_size, OVERCUT * n_clusters, gini)
    labels, mapping = merge_clusters(adjacency, fine.labels, n_clusters)
    sizes = np.bincount(fine.labels[fine.labels >= 0], minlength=mapping.size)
    selected = np.array([fine.selected[np.flatnonzero(mapping == c)[
        np.argmax(sizes[mapping == c])]] for c in range(int(mapping.max(initial=-1)) + 1)],
        dtype=np.int64)
    return Segmentation(labels, selected, fine.tree)


def union_adjacency(*graphs):
    """Symmetric unweighted adjacency (COO) of the union of the edges of ``graphs``."""
    return (sum(symmetric_adjacency(g) for g in graphs) > 0).tocoo()


def segment_graph(knn, method, min_cluster_size, min_samples=None, n_clusters=None,
                  allow_single_cluster=False, gini_threshold=0.2, node_keys=None,
                  union=None):
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
    union : scipy.sparse.coo_matrix of shape (n, n), optional
        Symmetric adjacency of the union of ``knn``'s graph and another graph
        of the same samples (the estimator passes :func:`union_adjacency` of
        the kNN graphs of ``X`` and of its layout). With ``method="auto"`` and
        ``n_clusters``, a kept MST cut may then be replaced by a close variant,
        cut into ``OVERCUT * n_clusters`` parts and merged back by modularity
        on it (``_remerged``; ``splits == "overcut"``).

    Returns
    -------
    SegmentChoice
        ``scores`` holds the best modularity of each method (empty unless
        "auto"); ``gini_threshold`` is the kept MST cut's (None for HDBSCAN).
    """
    n = knn.indices_.shape[0]
    reach = {}
    adjacency = symmetric_adjacency(knn.graph_) if method == "auto" else None
    found = []  # candidates in tie-break order: MST cuts (user's Gini first), then HDBSCAN
    for name in candidate_methods(method):
        ms = min_samples
        if ms is None:
            ms = min(default_min_samples(name, min_cluster_size, n_clusters), n - 1)
        if ms not in reach:  # the segmenters share the MST when their min_samples agree
            reach[ms] = _reachability_mst(knn, ms, node_keys)
        core, mst = reach[ms]
        if name == "hdbscan":
            seg = hdbscan_segment(mst, min_cluster_size, n_clusters, allow_single_cluster)
            found.append(SegmentChoice(name, seg, core, mst))
            continue
        ginis = [gini_threshold]
        search = method == "auto" and n_clusters is not None
        if search:
            # Only for a given number: choosing the number too, modularity prefers
            # other numbers of interleaved-spiral arms (seed 2: ARI 0.80 -> 0.63).
            ginis += [g for g in AUTO_GINI if g != gini_threshold]
        for gini in ginis:
            seg = mst_segment(mst, min_cluster_size, n_clusters, gini)
            found.append(SegmentChoice(name, seg, core, mst, gini_threshold=gini, splits="merge"))
        for gini in ginis if search else ():
            seg = mst_segment(mst, min_cluster_size, n_clusters, gini,
                              split_score=lambda lab: partition_modularity(knn.graph_, lab,
                                                                           adjacency))
            found.append(SegmentChoice(name, seg, core, mst, gini_threshold=gini,
                                       splits="modularity"))
    if len(found) == 1:
        return found[0]
    quality = [partition_modularity(knn.graph_, c.segmentation.labels, adjacency)
               for c in found]
    best = found[int(np.argmax(quality))]  # argmax keeps the first on ties
    scores = {name: max(q for q, c in zip(quality, found) if c.method == name)
              for name in METHODS}
    if (union is not None and method == "auto" and n_clusters is not None
            and best.method == "mst"):
        best = _remerged(best, union, min_cluster_size, n_clusters, ginis)
    best.scores = scores
    return best


def _remerged(kept, union, min_cluster_size, n_clusters, ginis):
    """The kept MST cut, or a close variant of it with fragments reattached.

    Each tree is cut into ``OVERCUT * n_clusters`` parts, merged back to
    ``n_clusters`` by modularity on ``union`` (``_overcut_and_merge``). A
    merged cut replaces the kept one when it has the larger modularity on
    ``union`` and agrees with it on at least ``REMERGE_AGREEMENT`` of the
    samples (matched labels), the largest such one winning. The merges reattach small groups
    that the cut joined to a cluster by a weak bridge of the layout (sklearn
    digits: a 27-sample group of 1s that has no kNN edge to the other 1s
    went with the 8s; seeds 0-9 ARI 0.883-0.928 -> 0.898-0.940, agreement
    0.985-1.0). Where the merges reorganise the clusters instead (Fashion-MNIST
    10k: agreement 0.76-0.89), modularity at a fixed number of clusters no
    longer follows the classes (taking them anyway: ARI 0.480 -> 0.473 on
    average over seeds 0-4, Fashion 70k seed 0: 0.555 -> 0.487), so those
    are not taken. The threshold sits between the two groups measured.
    """
    if not OVERCUT or OVERCUT * n_clusters > MAX_OVERCUT_PARTS:
        return kept
    labels = kept.segmentation.labels
    top = partition_modularity(None, labels, union)
    for gini in ginis:
        seg = _overcut_and_merge(kept.mst, min_cluster_size, n_clusters, gini, union)
        quality = partition_modularity(None, seg.labels, union)
        # a tree with fewer leaves than n_clusters merges into fewer clusters: never taken
        if (seg.labels.max() >= labels.max() and quality > top
                and matched_agreement(labels, seg.labels) >= REMERGE_AGREEMENT):
            top = quality
            kept = SegmentChoice("mst", seg, kept.core_distances, kept.mst,
                                 gini_threshold=gini, splits="overcut")
    return kept


def matched_agreement(a, b):
    """Fraction of samples on which labelings ``a`` and ``b`` agree after matching their labels.

    The labels are matched one-to-one to maximise the agreement (Hungarian
    matching of the contingency table); -1 is a label like any other here.
    """
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1.0)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / a.size)
