"""Several layouts' cuts voted into one: ``ConnectivityClustering(n_layouts=...)``.

The 10-cluster cut of a laid-out data set varies with the layout's seed, and
the variation is the layout's own (Fashion-MNIST 10k, spectral start of seed
A followed by the SGD of seed B, A, B in 0-2: ARI 0.43-0.50 for both factors
alike; no cut of one layout scores much higher, ``method_choice.py``). The
consensus lays the same kNN graph out several times, cuts each layout as the
single-layout estimator does, and keeps the samples together that every cut
keeps together (the meet of the partitions: a few dozen fragments). The
fragments are merged back to the number of clusters by modularity on the union
of the kNN graphs of ``X`` and of every layout (``modularity.merge_clusters``)
and their boundary is mended by local moves (``modularity.refine_modularity``).
A group that one layout misplaced is a fragment of its own, and the graphs
decide where it goes. Measured in ``docs/real_data.md``.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._validation import check_random_state
from .modularity import merge_clusters, refine_modularity

__all__ = ["consensus_labels", "member_seeds"]


def member_seeds(random_state, n):
    """Seeds of ``n`` further layouts, drawn from ``random_state`` (None stays None)."""
    if random_state is None:
        return [None] * n
    return [int(s) for s in check_random_state(random_state).randint(2**31 - 1, size=n)]


def consensus_labels(labelings, adjacency):
    """The meet of ``labelings`` merged back to the first one's number of clusters.

    Parameters
    ----------
    labelings : list of ndarray of shape (n,)
        Labels 0..k-1 without noise; the first is the reference whose label ids
        the result takes (matched one-to-one by Hungarian matching).
    adjacency : scipy.sparse matrix of shape (n, n)
        Symmetric; only the sparsity pattern is used.

    Returns
    -------
    ndarray of shape (n,), int64
    """
    reference = np.asarray(labelings[0], dtype=np.int64)
    stacked = np.stack([np.asarray(lab, dtype=np.int64) for lab in labelings], axis=1)
    if stacked.min() < 0:
        raise ValueError("consensus_labels takes partitions without noise (-1).")
    k = int(reference.max()) + 1
    _, meet = np.unique(stacked, axis=0, return_inverse=True)
    merged, _ = merge_clusters(adjacency, meet.ravel(), k)
    merged = refine_modularity(adjacency, merged)
    table = np.zeros((int(merged.max()) + 1, k))
    np.add.at(table, (merged, reference), 1.0)
    rows, cols = linear_sum_assignment(-table)
    ids = np.arange(table.shape[0])
    ids[rows] = cols
    return ids[merged].astype(np.int64)
