"""Fuzzy membership weights of a kNN graph (the graph that :class:`GraphLayout` lays out).

Each point sees its neighbourhood at its own scale (McInnes et al. 2018,
"UMAP", section 3): the nearest neighbour is at membership 1 (distance minus
``rho``, the nearest positive distance) and the others decay as
``exp(-(d - rho) / sigma)``, with ``sigma`` chosen per point so that the
memberships sum to ``log2(k)``. The directed weights are then symmetrised by
the fuzzy union ``w_ij + w_ji - w_ij w_ji``.

Everything is vectorised numpy over the (n, k) neighbour arrays: no compile.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["smooth_knn_scales", "membership_strengths", "fuzzy_union_graph"]

#: bisection steps for sigma; 64 halvings reach float64 resolution.
_BISECTION_STEPS = 64
#: relative error of the membership sum at which the bisection stops.
_TOLERANCE = 1e-5
#: sigma never drops below this fraction of the mean neighbour distance, so that
#: a point inside a tight clump does not get an infinitely sharp kernel.
_MIN_SCALE = 1e-3


def smooth_knn_scales(distances, bandwidth=1.0):
    """Per-point offsets ``rho`` and scales ``sigma`` of the membership kernel.

    Parameters
    ----------
    distances : ndarray of shape (n, k)
        Distances to each point's k neighbours (itself excluded), ascending.
    bandwidth : float, default=1.0
        Target sum of memberships is ``bandwidth * log2(k)``.

    Returns
    -------
    rho, sigma : ndarrays of shape (n,), float64
    """
    d = np.asarray(distances, dtype=np.float64)
    n, k = d.shape
    positive = np.where(d > 0, d, np.inf)
    rho = positive.min(axis=1)
    rho[~np.isfinite(rho)] = 0.0
    shifted = np.maximum(d - rho[:, None], 0.0)
    # With k <= 2 the target is <= 1 and only the nearest neighbour counts: the
    # bisection then runs sigma down to its floor, which is what we want.
    target = bandwidth * np.log2(max(k, 2))
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    sigma = np.ones(n)
    for _ in range(_BISECTION_STEPS):
        total = np.exp(-shifted / sigma[:, None]).sum(axis=1)
        if np.all(np.abs(total - target) < _TOLERANCE * target):
            break
        too_wide = total > target
        hi = np.where(too_wide, sigma, hi)
        lo = np.where(too_wide, lo, sigma)
        sigma = np.where(np.isfinite(hi), (lo + hi) / 2.0, sigma * 2.0)
    mean_d = d.mean(axis=1)
    floor = _MIN_SCALE * np.where(rho > 0, mean_d, d.mean() if d.size else 1.0)
    return rho, np.maximum(sigma, np.maximum(floor, np.finfo(np.float64).tiny))


def membership_strengths(distances, rho, sigma):
    """Directed memberships ``exp(-max(d - rho, 0) / sigma)``, shape (n, k), in (0, 1]."""
    d = np.asarray(distances, dtype=np.float64)
    return np.exp(-np.maximum(d - rho[:, None], 0.0) / sigma[:, None])


def fuzzy_union_graph(indices, distances, bandwidth=1.0):
    """Symmetric fuzzy graph of a kNN graph.

    Parameters
    ----------
    indices : ndarray of shape (n, k), int
        Neighbours of each point, itself excluded.
    distances : ndarray of shape (n, k)
        Their distances, ascending per row.
    bandwidth : float, default=1.0

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (n, n), float32
        Weights in (0, 1], symmetric, no diagonal, sorted indices.
    """
    indices = np.asarray(indices)
    n, k = indices.shape
    rho, sigma = smooth_knn_scales(distances, bandwidth)
    w = membership_strengths(distances, rho, sigma)
    rows = np.repeat(np.arange(n), k)
    cols = indices.ravel()
    keep = cols != rows  # a duplicate point may list its twin and, rarely, itself
    directed = sp.csr_matrix((w.ravel()[keep], (rows[keep], cols[keep])), shape=(n, n))
    directed.sum_duplicates()
    transpose = directed.T.tocsr()
    graph = directed + transpose - directed.multiply(transpose)
    graph = graph.tocsr().astype(np.float32)
    graph.eliminate_zeros()
    graph.sort_indices()
    return graph
