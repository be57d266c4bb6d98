"""Starting positions for :class:`GraphLayout`: spectral, label propagation, random, or given.

Every start spans ``[-10, 10]`` in its widest coordinate, a given array too
(``GraphLayout`` centres and scales it with :func:`scale_layout`), so the SGD's
step sizes and its attraction curve meet the same scale whatever the start.

The spectral start places points by the leading non-trivial eigenvectors of
the normalised adjacency ``D^-1/2 W D^-1/2`` (the same vectors as the smallest
of the normalised Laplacian, but the largest eigenvalues converge much faster
with Lanczos). A disconnected graph is laid out one component at a time and
the components are set apart, since the eigenvectors of a disconnected graph
only say which component a point is in.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh
from threadpoolctl import threadpool_limits

from ._layout_labelprop import label_propagation_layout

__all__ = ["spectral_layout", "random_layout", "scale_layout", "initial_layout", "given_layout"]

#: below this many nodes a dense eigendecomposition is cheaper and never fails.
_DENSE_MAX = 500
#: the initial layout spans [-_EXTENT, _EXTENT] in its widest coordinate.
_EXTENT = 10.0


def random_layout(n_samples, n_components, rng):
    """Uniform positions in ``[-10, 10]^n_components``, float32."""
    return rng.uniform(-_EXTENT, _EXTENT, size=(n_samples, n_components)).astype(np.float32)


def scale_layout(layout, rng, noise=1e-4):
    """Centre, scale to ``[-10, 10]`` and add a little noise to break exact ties."""
    layout = np.asarray(layout, dtype=np.float64)
    layout = layout - layout.mean(axis=0)
    extent = np.abs(layout).max()
    if extent > 0:
        layout *= _EXTENT / extent
    layout += rng.normal(scale=noise * _EXTENT, size=layout.shape)
    return layout.astype(np.float32)


def _connected_spectral(graph, n_components, rng):
    """Leading non-trivial eigenvectors of the normalised adjacency of a connected graph."""
    n = graph.shape[0]
    k = n_components + 1
    if n <= k:
        return rng.uniform(-1.0, 1.0, size=(n, n_components))
    degree = np.asarray(graph.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, np.finfo(np.float64).tiny))
    scaled = sp.diags(inv_sqrt) @ graph.astype(np.float64) @ sp.diags(inv_sqrt)
    if n <= _DENSE_MAX:
        with threadpool_limits(1, user_api="blas"):
            _, vectors = np.linalg.eigh(scaled.toarray())
        return vectors[:, -2:-k - 1:-1]
    try:
        # One BLAS thread: ARPACK's many small dense steps make threaded OpenBLAS spin
        # (Fashion 30k on the loaded 2-core machine: 3.8 CPU-s in ARPACK with 2 threads,
        # 0.17 with one).
        with threadpool_limits(1, user_api="blas"):
            values, vectors = eigsh(scaled, k=k, which="LA", tol=1e-4,
                                    v0=rng.uniform(0.5, 1.0, n),
                                    ncv=min(n, max(2 * k + 1, 20)), maxiter=5 * n)
    except (ArpackNoConvergence, ArpackError) as err:
        warnings.warn(f"spectral initialisation did not converge ({err}); using a random "
                      "start instead.", RuntimeWarning, stacklevel=3)
        return rng.uniform(-1.0, 1.0, size=(n, n_components))
    order = np.argsort(values)[::-1]
    return vectors[:, order[1:k]]


def spectral_layout(graph, n_components, rng):
    """Spectral start of a (possibly disconnected) symmetric weighted graph.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
    n_components : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n, n_components), float32, scaled to ``[-10, 10]``.
    """
    n_parts, part = connected_components(graph, directed=False)
    if n_parts == 1:
        return scale_layout(_connected_spectral(graph, n_components, rng), rng)
    # Each component fills a box of half-width 1 centred on a point of a cubic
    # lattice of spacing 4, so no two boxes overlap; the largest component first.
    layout = np.empty((graph.shape[0], n_components))
    side = int(np.ceil(n_parts ** (1.0 / n_components) - 1e-9))
    cells = np.array(np.unravel_index(np.arange(n_parts), (side,) * n_components)).T
    by_size = np.argsort(-np.bincount(part), kind="stable")
    centres = np.empty((n_parts, n_components))
    centres[by_size] = 4.0 * cells
    for p in range(n_parts):
        members = np.flatnonzero(part == p)
        sub = graph[members][:, members]
        local = _connected_spectral(sub, n_components, rng)
        extent = np.abs(local).max()
        layout[members] = centres[p] + (local / extent if extent > 0 else local)
    return scale_layout(layout, rng)


def initial_layout(init, graph, n_components, rng, refine=None):
    """Dispatch on ``init``: "spectral", "label_propagation", "random" or an array.

    ``refine(coarse_graph, start, rng)`` lays out the coarse graphs of the
    label-propagation start (see :mod:`._layout_labelprop`).
    """
    n = graph.shape[0]
    if isinstance(init, str):
        if init == "spectral":
            return spectral_layout(graph, n_components, rng)
        if init == "label_propagation":
            if refine is None:
                raise ValueError("init='label_propagation' needs a refine function.")
            layout = label_propagation_layout(graph, n_components, rng, refine,
                                              base=spectral_layout)
            return scale_layout(layout, rng)
        return random_layout(n, n_components, rng)
    return given_layout(init, n, n_components).astype(np.float32)


def given_layout(init, n_samples, n_components):
    """A start given as an array, checked: shape ``(n_samples, n_components)``, finite; float64."""
    layout = np.asarray(init, dtype=np.float64)
    if layout.shape != (n_samples, n_components):
        raise ValueError(f"init array has shape {layout.shape}; expected ({n_samples}, "
                         f"{n_components}) (n_samples, n_components).")
    if not np.all(np.isfinite(layout)):
        raise ValueError("init array contains NaN or infinity.")
    return layout
