"""Newman's modularity of a flat clustering on the kNN graph: the ``method="auto"`` criterion.

``Q = sum_c [ e_c / m - (d_c / 2m)^2 ]`` on the unweighted, symmetric kNN
graph (``e_c`` edges inside cluster ``c``, ``d_c`` its degree sum, ``m`` all
edges). Noise samples count as singletons, so calling points noise costs
the edges they hold. Q rewards cuts along sparse connections *and* penalises
one giant cluster (the ``(d_c / 2m)^2`` term), which is what separates a
sound partition from a collapsed one on real data.

Why modularity and not a density criterion: a DBCV-style relative validity
(sparseness inside vs minimax separation between clusters on the
mutual-reachability MST) was measured first. It picks the right method on
the 2-D shapes and digits, but on Fashion-MNIST (10k, laid out in 5-D) it prefers
HDBSCAN's partition with one cluster of 51 % of the points (validity 0.87,
ARI 0.28) to the balanced MST cut (validity -0.32, ARI 0.47): the garment
classes are not density-separated, so a density index cannot see them.
Modularity picks the MST cut there (0.88 vs 0.62) and agrees with DBCV
elsewhere.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["partition_modularity", "symmetric_adjacency"]


def symmetric_adjacency(graph):
    """The unweighted, symmetrised sparsity pattern of ``graph`` without self-loops (COO).

    Compute it once and pass it to :func:`partition_modularity` to score several
    partitions of one graph.
    """
    coo = sp.coo_matrix(graph)
    n = coo.shape[0]
    adj = sp.csr_matrix((np.ones(coo.nnz), (coo.row, coo.col)), shape=(n, n))
    adj = ((adj + adj.T) > 0).tocoo()
    adj.setdiag(0)
    adj = adj.tocoo()
    adj.eliminate_zeros()
    return adj


def partition_modularity(graph, labels, adjacency=None):
    """Modularity of ``labels`` on the unweighted symmetrised ``graph``.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
        kNN graph; only its sparsity pattern is used.
    labels : ndarray of shape (n,)
        Cluster labels, -1 = noise (each noise sample is its own community).
    adjacency : scipy.sparse.coo_matrix, optional
        ``symmetric_adjacency(graph)``, when already computed.

    Returns
    -------
    float in [-0.5, 1]
        0 for a graph without edges.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = labels.shape[0]
    adj = symmetric_adjacency(graph) if adjacency is None else adjacency
    two_m = float(adj.nnz)
    if two_m == 0:
        return 0.0
    top = int(labels.max(initial=-1)) + 1
    community = np.where(labels >= 0, labels, top + np.arange(n))
    inside = community[adj.row] == community[adj.col]
    degree = np.bincount(adj.row, minlength=n).astype(np.float64)
    degree_sum = np.bincount(community, weights=degree)
    return float(inside.sum() / two_m - np.sum((degree_sum / two_m) ** 2))
