"""Core distances and mutual reachability on a sparse kNN graph (HDBSCAN's metric).

The mutual reachability distance ``max(core(a), core(b), d(a, b))`` pushes
sparse points away from everything while leaving dense regions as they are,
so that single linkage over it stops chaining through noise. Here it is only
evaluated on the kNN edges (plus bridges), never as a dense matrix.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["core_distances", "mutual_reachability_graph"]


def core_distances(distances, min_samples):
    """Distance of every point to its ``min_samples``-th nearest other point.

    This is the hdbscan library's definition (its tree-based code queries
    ``min_samples + 1`` points, the point itself included), so that labels can
    be compared with ``hdbscan.HDBSCAN`` directly. ``min_samples=0`` gives zeros
    (plain distances instead of mutual reachability).

    Parameters
    ----------
    distances : ndarray of shape (n, k)
        kNN distances without the point itself, nearest first; ``k >= min_samples``.
    min_samples : int

    Returns
    -------
    core : ndarray of shape (n,)
    """
    if min_samples <= 0:
        return np.zeros(distances.shape[0])
    if distances.shape[1] < min_samples:
        raise ValueError(
            f"min_samples={min_samples} needs {min_samples} neighbours per point, "
            f"the graph has {distances.shape[1]}."
        )
    return np.asarray(distances[:, min_samples - 1], dtype=np.float64)


def mutual_reachability_graph(graph, core, floor=0.0):
    """Reweight a symmetric distance graph by mutual reachability.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
        Distances on the stored edges.
    core : ndarray of shape (n,)
        Core distances.
    floor : float
        Lower bound of the weights (a stored 0 would mean "no edge").

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n)
        Same sparsity as ``graph``; weights ``max(core[i], core[j], d[i, j], floor)``.
    """
    coo = sp.coo_matrix(graph)
    weights = np.maximum(np.maximum(core[coo.row], core[coo.col]), coo.data)
    weights = np.maximum(weights, floor)
    return sp.csr_matrix((weights, (coo.row, coo.col)), shape=graph.shape)
