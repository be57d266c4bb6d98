"""Nearest-neighbour indices behind ``KNNGraph`` and the choice between them.

Every index exposes the same two calls, ``neighbors(k)`` (the k nearest
*other* training points of every training point) and ``query(Y, k)`` (the k
nearest training points of new points), both returning ``(indices int64,
distances float64)`` nearest first, so the graph code never branches on the
backend. Backends: ``"exact"`` (scikit-learn, here), ``"faiss"`` (IVF with float16 rows,
``_faiss.py``) and ``"pynndescent"`` (``_nndescent.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from scipy.spatial import cKDTree
from sklearn.neighbors import NearestNeighbors

__all__ = ["BACKENDS", "ExactIndex", "float32_scale", "make_index", "AUTO_EXACT_MAX_WORK", "choose_backend",
           "pair_distances", "index_seed", "sort_rows"]

#: Values of ``KNNGraph(backend=...)``.
BACKENDS = ("auto", "exact", "faiss", "pca", "pynndescent")

#: ``backend="auto"`` searches exactly while brute force is cheap (n^2 * d up to
#: ``AUTO_EXACT_MAX_WORK``) or the data are low-dimensional (KD-tree, n log n),
#: and with faiss IVF beyond. CPU seconds of a whole ``KNNGraph.fit`` (k = 15,
#: shared 2-core machine, ``benchmarks/knn_backends.py [--crossover]``),
#: exact / faiss:
#:   Gaussian 10k x 50 (n^2 d = 5e9):    0.6 / 2.1
#:   Gaussian 20k x 50 (2e10):           2.3 / 5.7
#:   Fashion-MNIST 10k x 784 (7.8e10):   4.3 / 4.0
#:   blobs 20k x 200 (8e10):             17.9 / 11.3
#:   Fashion-MNIST 70k x 784 (3.8e12):   ~210 (n^2 scaling) / 48
#: Brute force (BLAS) grows as n^2 d; IVF about as n^1.5 d but scans its lists
#: without BLAS and probes many lists where clusters are isotropic inside, so
#: the crossover lies between 2e10 and 8e10 depending on the data.
#: Beyond it, rows of more than ``PCA_MIN_FEATURES`` (100) features are
#: searched in a 128-D PCA projection and re-ranked exactly (``"pca"``,
#: ``_reduced.py``): Fashion-MNIST 70k in about half of IVF-Flat's CPU time.
AUTO_EXACT_MAX_WORK = 5e10
AUTO_EXACT_MAX_LOWDIM_FEATURES = 10
#: Euclidean exact search of up to this many features runs on scipy's cKDTree
#: (the 8-D layout's kNN graph of Fashion-MNIST 10k: 0.085 -> 0.054 CPU-s; same neighbours,
#: as candidates are re-measured and ordered by (distance, index) either way, except
#: where more than ``ExactIndex.MAX_SPARE`` points tie at the k-th distance -- duplicate rows --
#: and the tree's choice among them differs from scikit-learn's).
KDTREE_MAX_FEATURES = 15

#: Largest |value| that a float32 copy keeps without trouble: squared distances
#: stay far below float32's 3.4e38 and small values far above its 1e-38.
_FLOAT32_SAFE = 2.0 ** 30


def float32_scale(X):
    """Power of two to multiply ``X`` by before a float32 copy (1.0 when none is needed).

    The approximate backends search in float32, whose squares overflow above
    about 1e19 and whose values flush to zero below about 1e-38, while graphmoe
    accepts magnitudes from 1e-150 to 1e150 (``graphmoe._validation``). Scaling
    by a power of two is exact, so it changes no neighbour order.
    """
    # max and min, not abs(X): no full-size temporary (420 MB at 70k x 784 float64)
    peak = max(float(np.max(X)), -float(np.min(X))) if X.size else 0.0
    if peak == 0.0 or 1.0 / _FLOAT32_SAFE <= peak <= _FLOAT32_SAFE:
        return 1.0
    return float(2.0 ** -np.floor(np.log2(peak)))


def choose_backend(backend, n_samples, n_features):
    """Resolve ``"auto"`` to ``"exact"``, ``"pca"`` or ``"faiss"`` (see the table above)."""
    from ._reduced import PCA_MIN_FEATURES

    if backend != "auto":
        return backend
    if (n_features <= AUTO_EXACT_MAX_LOWDIM_FEATURES
            or float(n_samples) ** 2 * n_features <= AUTO_EXACT_MAX_WORK):
        return "exact"
    return "pca" if n_features > PCA_MIN_FEATURES else "faiss"


def index_seed(random_state):
    """The int (or None) an index is seeded with; a RandomState gives one draw.

    ``KNNGraph`` stores it, so that the index rebuilt by ``graphmoe.load`` is
    the one built at fit time even when ``random_state`` was a RandomState
    (whose state has moved on since).
    """
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return None if random_state is None else int(random_state)


def make_index(backend, X, k, metric="euclidean", random_state=None, n_jobs=None,
               verbose=False):
    """Build the index named ``backend`` ("exact", "faiss", "pca" or "pynndescent") over X."""
    if backend == "exact":
        return ExactIndex(X, metric=metric, n_jobs=n_jobs)
    random_state = index_seed(random_state)
    if backend == "pca":
        from ._reduced import PCAIndex

        return PCAIndex(X, metric=metric, random_state=random_state, n_jobs=n_jobs)
    if backend == "faiss":
        from ._faiss import FaissIVFIndex

        return FaissIVFIndex(X, metric=metric, random_state=random_state, n_jobs=n_jobs)
    from ._nndescent import NNDescentIndex

    return NNDescentIndex(X, metric=metric, n_neighbors=k, random_state=random_state,
                          n_jobs=n_jobs, verbose=verbose)


def pair_distances(Y, X, ind, metric="euclidean", chunk_elements=1 << 18, order=None):
    """float64 distances between each row of Y and its candidates ``X[ind[i]]``.

    Parameters
    ----------
    Y : ndarray of shape (m, d)
    X : ndarray of shape (n, d)
    ind : ndarray of shape (m, k), int
    metric : {"euclidean", "cosine"}
        Cosine distance is computed as ``|u - v|^2 / 2`` of unit rows, which is
        ``1 - cos`` and exactly 0 for duplicate directions.
    chunk_elements : int
        Work in blocks of about this many float64 values (cache-sized blocks
        are several times faster than one big block).
    order : ndarray of shape (m,), int, optional
        The order the compiled kernel visits the rows in (same results):
        rows whose candidates overlap (an IVF list) visited together share
        them in cache. Fashion-MNIST 70k (784-D, 31 candidates): 1.65 -> 0.47 s.

    Returns
    -------
    ndarray of shape (m, k), float64
    """
    m, k = ind.shape
    if metric != "cosine" and Y.dtype in _KERNEL_DTYPES and X.dtype == Y.dtype:
        # compiled, no float64 temporaries; serial: safe under any numba threading
        # layer when callers (Dask threads) query concurrently
        ind = np.ascontiguousarray(ind, dtype=np.int64)
        order = np.arange(m) if order is None else np.asarray(order, dtype=np.int64)
        return np.sqrt(_euclidean_pairs(np.ascontiguousarray(Y), X, ind, order))
    out = np.empty((m, k))
    if metric == "cosine":
        y_norm = np.linalg.norm(np.asarray(Y, dtype=np.float64), axis=1)
        x_norm = np.linalg.norm(np.asarray(X, dtype=np.float64), axis=1)
    step = max(1, chunk_elements // max(1, k * X.shape[1]))
    for start in range(0, m, step):  # differences, not dot products: exact zeros stay zero
        rows = slice(start, start + step)
        y = np.asarray(Y[rows], dtype=np.float64)[:, None, :]
        x = np.asarray(X[ind[rows]], dtype=np.float64)
        if metric == "cosine":
            y, x = y / y_norm[rows, None, None], x / x_norm[ind[rows]][:, :, None]
        diff = y - x
        out[rows] = np.einsum("ijk,ijk->ij", diff, diff)
    return out / 2 if metric == "cosine" else np.sqrt(out)


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@njit(cache=True, fastmath=True)
def _euclidean_pairs(Y, X, ind, order):
    """Squared distances ``|Y[i] - X[ind[i, j]]|^2`` accumulated in float64.

    ``fastmath`` lets the sum over features run in SIMD lanes (float64, so the
    result moves by ~1e-15 relative): 1.7x faster on 784-D rows, where this
    re-ranking was 2.5 of the 12 kNN CPU-s of Fashion-MNIST 70k.
    """
    m, k = ind.shape
    out = np.empty((m, k))
    for i in order:
        for j in range(k):
            row = ind[i, j]
            total = 0.0
            for c in range(Y.shape[1]):
                diff = np.float64(Y[i, c]) - np.float64(X[row, c])
                total += diff * diff
            out[i, j] = total
    return out


def _drop_self(indices, distances, k, rows=None):
    """Remove each row's own index from (n, k+1) neighbour lists, keeping k.

    Row i belongs to point ``i``, or to ``rows[i]`` when a subset was searched.
    With duplicate points a search may return a twin before the point itself,
    so the point is removed wherever it sits; rows that lack it lose their last
    (farthest) entry instead.
    """
    n = indices.shape[0]
    is_self = indices == (np.arange(n) if rows is None else np.asarray(rows))[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    # Each row now has at least one True; drop only the first one.
    first = np.argmax(is_self, axis=1)
    keep = np.ones_like(is_self)
    keep[np.arange(n), first] = False
    return indices[keep].reshape(n, k), distances[keep].reshape(n, k)


#: Rows up to this wide are sorted by a compiled insertion sort (same order).
_INSERTION_SORT_MAX_WIDTH = 128


def sort_rows(ind, dist):
    """Order each row by (distance, index): stable sort on index, then on distance."""
    if (0 < ind.shape[1] <= _INSERTION_SORT_MAX_WIDTH and ind.shape == dist.shape
            and ind.dtype.kind == "i" and dist.dtype == np.float64
            and not np.isnan(dist).any()):
        from ._kernels import sort_rows_by_insertion

        return sort_rows_by_insertion(ind, dist)
    by_index = np.argsort(ind, axis=1, kind="stable")
    ind, dist = np.take_along_axis(ind, by_index, axis=1), np.take_along_axis(dist, by_index, axis=1)
    by_dist = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(ind, by_dist, axis=1), np.take_along_axis(dist, by_dist, axis=1)


class ExactIndex:
    """Exact search with scipy's cKDTree (euclidean, few features) or scikit-learn.

    scikit-learn's brute force measures distances by BLAS products, whose last
    bits depend on the thread count; on data with many equal distances (integer
    pixels) that reordered ties and so changed the graph, the layout and the
    clustering with the number of threads. A few spare candidates are therefore
    re-measured by differences and rows ordered by (distance, index), as the
    other backends do, so results are the same on any thread count.
    """

    #: Candidates fetched beyond k, so that ties at the k-th distance are decided by index
    #: (rows whose tie runs past them are searched again with twice as many, up to
    #: ``MAX_SPARE``: beyond it, a tie among that many equal distances -- a large group
    #: of duplicate rows -- keeps scikit-learn's order, and the cost stays O(n k)).
    SPARE = 8
    MAX_SPARE = 64

    def __init__(self, X, metric="euclidean", n_jobs=None):
        self.n_samples = X.shape[0]
        self.metric = metric
        # float64 rows (a copy of float32 data: small, exact search is chosen for small
        # n^2 d or d <= 10), so distances are float64-exact whatever the input dtype
        self._X = np.asarray(X, dtype=np.float64)
        self._n_jobs = n_jobs
        if metric == "euclidean" and X.shape[1] <= KDTREE_MAX_FEATURES:
            self._tree, self._nn = cKDTree(self._X), None
        else:
            self._tree, self._nn = None, NearestNeighbors(metric=metric, n_jobs=n_jobs).fit(self._X)

    def __setstate__(self, state):
        # pickled before the KD-tree: scikit-learn's search (``_nn``) throughout
        self.__dict__.update({"_tree": None, "_n_jobs": None, **state})

    def _kneighbors(self, Yr, m):
        """Indices of the m nearest training rows of Yr (None: of every training row, self
        excluded)."""
        if self._tree is None:
            return self._nn.kneighbors(Yr, n_neighbors=m, return_distance=False)
        workers = 1 if self._n_jobs is None else (self._n_jobs if self._n_jobs > 0 else -1)
        if Yr is None:
            ind = self._tree.query(self._X, k=m + 1, workers=workers)[1].reshape(-1, m + 1)
            return _drop_self(ind, ind, m)[0]
        return self._tree.query(Yr, k=m, workers=workers)[1].reshape(-1, m)

    def neighbors(self, k):
        return self._search(None, k, self.n_samples - 1)

    def query(self, Y, k):
        return self._search(np.asarray(Y, dtype=np.float64), k, self.n_samples)

    def _search(self, Y, k, most):
        rows = np.arange((self._X if Y is None else Y).shape[0])
        ind_out = np.empty((rows.size, k), dtype=np.int64)
        dist_out = np.empty((rows.size, k))
        m = min(k + self.SPARE, most)
        most = min(most, k + self.MAX_SPARE)
        while rows.size:
            source = self._X if Y is None else Y
            every = rows.size == source.shape[0]
            Yr = source if every else source[rows]  # no copy of all rows
            if Y is None and every:  # every training point, self excluded
                ind = self._kneighbors(None, m)
            elif Y is None:  # some training points, queried as new points: drop themselves
                ind = self._kneighbors(Yr, m + 1)
                ind = _drop_self(ind, ind, m, rows=rows)[0]
            else:
                ind = self._kneighbors(Yr, m)
            ind = ind.astype(np.int64)
            ind, dist = sort_rows(ind, pair_distances(Yr, self._X, ind, self.metric))
            # a tie between the k-th and the last candidate may go on beyond the candidates
            open_tie = (dist[:, k - 1] == dist[:, -1]) if m < most else np.zeros(rows.size, bool)
            done = ~open_tie
            ind_out[rows[done]], dist_out[rows[done]] = ind[done, :k], dist[done, :k]
            rows, m = rows[open_tie], min(2 * m, most)
        return ind_out, dist_out
