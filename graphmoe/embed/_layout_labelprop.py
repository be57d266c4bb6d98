"""Label-propagation start for :class:`GraphLayout`: lay out a coarsened graph, then expand.

The idea is EVōC's (McInnes, 2024): a few rounds of label propagation grow
``n_parts`` regions from random seeds; the graph of regions (edge weight =
total weight between two regions over the geometric mean of their sizes) is
small, so it is laid out well and cheaply -- recursively coarsened again,
with a spectral start at the bottom and a short SGD at every level. Every
point then starts halfway between its own region's position and the mean
position of its neighbours' regions. Unlike the spectral start, nothing
here solves an eigenproblem over all ``n`` points, and the start already
holds the graph's cluster structure, not only its slowest modes.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["propagate_regions", "coarsen", "label_propagation_layout"]

#: graphs smaller than this are laid out by the spectral start directly.
_BASE_SIZE = 64
#: regions at the first level (fewer when the graph is small; a quarter per level below).
_TOP_PARTS = 512
#: each region holds at least this many points on average.
_MIN_REGION = 8


def propagate_regions(graph, n_parts, rng, n_iter=30):
    """Grow ``n_parts`` regions from random seeds by weighted label propagation.

    Unlabelled points take, all at once each round, the label of largest
    total edge weight among their labelled neighbours; labelled points keep
    theirs, so regions grow outward like a weighted breadth-first search.
    Points that no seed reaches (components without a seed) get one new
    region per component.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
        Symmetric, non-negative weights.
    n_parts : int
        Number of seeds (at most ``n``).
    rng : numpy.random.Generator
    n_iter : int, default=30
        Maximum rounds.

    Returns
    -------
    labels : ndarray of shape (n,), int64
        Region of each point, ``0..n_regions - 1``.
    """
    graph = sp.csr_matrix(graph)
    n = graph.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    labels[rng.choice(n, size=min(int(n_parts), n), replace=False)] = np.arange(min(n_parts, n))
    for _ in range(n_iter):
        todo = np.flatnonzero(labels < 0)
        done = np.flatnonzero(labels >= 0)
        if todo.size == 0:
            break
        one_hot = sp.csr_matrix((np.ones(done.size), (done, labels[done])),
                                shape=(n, int(labels.max()) + 1))
        votes = (graph[todo] @ one_hot).tocsr()
        reached = np.diff(votes.indptr) > 0
        if not reached.any():
            break
        labels[todo[reached]] = np.asarray(votes[reached].argmax(axis=1)).ravel()
    rest = np.flatnonzero(labels < 0)
    if rest.size:  # components no seed reached: one region each
        _, comp = connected_components(graph[rest][:, rest], directed=False)
        labels[rest] = labels.max() + 1 + comp
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def coarsen(graph, labels):
    """The graph of regions: weight between regions over sqrt of their sizes, max 1.

    Returns
    -------
    coarse : scipy.sparse.csr_matrix of shape (n_regions, n_regions)
        Symmetric, no diagonal, weights in (0, 1].
    membership : scipy.sparse.csr_matrix of shape (n, n_regions)
        One-hot region of each point.
    """
    n = labels.shape[0]
    n_regions = int(labels.max()) + 1
    membership = sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, n_regions))
    size = np.bincount(labels, minlength=n_regions).astype(np.float64)
    scale = sp.diags(1.0 / np.sqrt(size))
    coarse = (scale @ membership.T @ sp.csr_matrix(graph, dtype=np.float64) @ membership
              @ scale).tocsr()
    coarse.setdiag(0)
    coarse.eliminate_zeros()
    if coarse.nnz:
        coarse.data /= coarse.data.max()
    return coarse, membership


def label_propagation_layout(graph, n_components, rng, refine, base):
    """Label-propagation start of a symmetric fuzzy graph (see the module docstring).

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
    n_components : int
    rng : numpy.random.Generator
    refine : callable
        ``refine(coarse_graph, start, rng) -> layout``: a short SGD of the
        coarse graph from ``start`` (``GraphLayout`` passes its own).
    base : callable
        ``base(graph, n_components, rng) -> layout``: the start of the
        smallest graph (the spectral start).

    Returns
    -------
    ndarray of shape (n, n_components), float64, not yet scaled.
    """
    return _layout_level(sp.csr_matrix(graph), n_components, rng, refine, base, _TOP_PARTS)


def _layout_level(graph, n_components, rng, refine, base, n_parts):
    n = graph.shape[0]
    n_parts = min(n_parts, n // _MIN_REGION)
    if n < _BASE_SIZE or n_parts <= max(n_components + 1, 2) or graph.nnz == 0:
        return np.asarray(base(graph, n_components, rng), dtype=np.float64)
    labels = propagate_regions(graph, n_parts, rng)
    coarse, membership = coarsen(graph, labels)
    start = _layout_level(coarse, n_components, rng, refine, base, n_parts // 4)
    region_pos = np.asarray(refine(coarse, start, rng), dtype=np.float64)
    # Half the region's position, half where the point's neighbours' regions are:
    # points on a region's border start between the regions they connect.
    degree = np.asarray(graph.sum(axis=1)).ravel()
    neighbour_pos = (graph @ membership @ region_pos) / np.maximum(degree, 1e-12)[:, None]
    own = region_pos[labels]
    return np.where(degree[:, None] > 0, 0.5 * (own + neighbour_pos), own)
