"""Search a PCA projection for candidates, then rank them in the full space (``backend="pca"``).

On images and embedding vectors most of the variance sits in a few dozen
directions, so the nearest neighbours of a point in its projection onto the
leading principal components are, almost all, among its nearest neighbours in
the full space (the standard step before UMAP / t-SNE / kNN on images). The
index keeps ``n`` rows of ``PCA_COMPONENTS`` floats instead of a float32 copy
of the data (Fashion-MNIST 70k: 36 MB instead of 220 MB), searches them (exact
BLAS search while cheap, faiss IVF beyond), asks for ``CANDIDATES_PER_NEIGHBOR``
times the neighbours wanted, and re-measures the candidates exactly in the
full space (float64, ``pair_distances``): every returned distance is a true
distance, only a rare true neighbour outside the candidate set is missed.
Measured in ``benchmarks/knn_backends.py`` (recall against exact search,
cold / warm time, memory).

The projection is fitted on a seeded sample of at most ``PCA_SAMPLE`` rows
(covariance + symmetric eigendecomposition, deterministic), so a given
``random_state`` gives the same index.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ._faiss import (FaissFlatIndex, FaissIVFIndex, _sample_kth, scan_nearest,
                     squared_distances)
from ._index import AUTO_EXACT_MAX_WORK, float32_scale, pair_distances, sort_rows

__all__ = ["PCAIndex", "PCA_COMPONENTS", "PCA_MIN_FEATURES", "fit_projection"]

#: Dimensions searched. ARI of the default ConnectivityClustering (n_clusters=10,
#: seeds 0 / 1 / 2, one thread), against faiss IVF-Flat on all 784 features:
#:   Fashion-MNIST 10k: 64: .444 .446 .448; 128: .417 .427 .472; IVF: .460 .451 .430
#:   Fashion-MNIST 70k: 64: .435 .457;      128: .477 .444;      IVF: .512 .480
#: (whole fit 28 / 30 / 62 CPU s at 70k). The seed spread (~0.03) is as large
#: as the differences; 128 keeps the projection closer to the data.
PCA_COMPONENTS = 128
#: ``backend="auto"`` projects data with more features than this.
PCA_MIN_FEATURES = 100
#: Candidates asked of the projection per neighbour wanted.
CANDIDATES_PER_NEIGHBOR = 2
#: Rows the covariance is estimated from.
PCA_SAMPLE = 10_000
#: Recall of a sample's neighbours (against an exact scan) below which the
#: projection is abandoned for faiss IVF-Flat on the full rows: data whose
#: neighbours differ along many minor directions (isotropic noise around
#: cluster centres) lose them in any projection (blobs 20k x 200: 0.59).
PCA_MIN_RECALL = 0.9
_CHECK_SAMPLE = 256
_CHUNK_ROWS = 8192
#: Rows of the data per block of the recall check's exact scans (bounded temporaries).
_SCAN_ROWS = 2048
#: Share of (sample row, data row) pairs the projection may leave to measure exactly.
_PRUNED_MAX_SHARE = 0.05


def _as_float32(X, scale, metric):
    """float32 rows of X (scaled by an exact power of two; unit length for cosine)."""
    Y = np.asarray(X, dtype=np.float64) * scale if scale != 1.0 else X
    Y = np.asarray(Y, dtype=np.float32)
    if metric == "cosine":
        Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    return Y


def fit_projection(X, n_components, scale=1.0, metric="euclidean", random_state=None):
    """Mean and leading principal axes of a seeded row sample of X.

    Returns
    -------
    mean : ndarray of shape (d,), float32
    axes : ndarray of shape (d, n_components), float32
        Orthonormal columns, largest variance first.
    """
    n = X.shape[0]
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(n, min(n, PCA_SAMPLE), replace=False))
    sample = _as_float32(X[rows], scale, metric)
    mean = sample.mean(axis=0, dtype=np.float64)
    centred = sample - mean.astype(np.float32)
    # float32 product (BLAS, fast), eigendecomposition in float64 on ONE BLAS thread:
    # eigh is thousands of small level-2 calls, and threaded OpenBLAS spins at every
    # one of them; on the shared 2-core machine (load 9) the 784 x 784 eigh took
    # 4.9 CPU-s / 14 s wall with 2 threads and 0.11 CPU-s / 0.3 s with one.
    cov = (centred.T @ centred).astype(np.float64)
    with threadpool_limits(1, user_api="blas"):
        _, vectors = np.linalg.eigh(cov)
    axes = vectors[:, ::-1][:, :n_components]
    # eigh's sign is arbitrary: make the largest entry of each axis positive.
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])])
    return mean.astype(np.float32), np.ascontiguousarray(axes * signs, dtype=np.float32)


class _Float32Rows:
    """Blocks of an index's rows as float32 on demand (``shape`` and slicing only)."""

    def __init__(self, index):
        self._index = index
        self.shape = index._X.shape

    def __getitem__(self, rows):
        i = self._index
        return _as_float32(i._X[rows], i._scale, i.metric)


class PCAIndex:
    """Candidates from a PCA projection, ranked by their true distances.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Kept by reference (no copy): candidates are re-measured against it.
    metric : {"euclidean", "cosine"}
    n_components : int
        Dimensions of the projection (at most d).
    random_state : int or None
        Seed of the covariance sample and of the inner faiss index.
    n_jobs : int or None
    """

    def __init__(self, X, metric="euclidean", n_components=PCA_COMPONENTS, random_state=None,
                 n_jobs=None):
        self.n_samples = X.shape[0]
        self.metric = metric
        self._X = X
        self._scale = float32_scale(X)
        n_components = int(min(n_components, X.shape[1]))
        self._mean, self._axes = fit_projection(X, n_components, self._scale, metric,
                                                random_state)
        self._Z = self._project(X)
        self._seed, self._n_jobs = random_state, n_jobs
        self._inner = None  # built at the first search that passes the recall check
        self._full = None  # faiss IVF on the full rows, once the projection failed a check
        self._checked = set()

    def _check_recall(self, k):
        """Switch to a full-space index when a sample's recall@k falls below PCA_MIN_RECALL."""
        if self._full is not None or k in self._checked:
            return
        self._checked.add(k)

        rng = np.random.default_rng(self._seed)
        rows = np.sort(rng.choice(self.n_samples, min(self.n_samples, _CHECK_SAMPLE),
                                  replace=False))
        # the projection's exact candidates: no index is built for a projection that fails
        cand = scan_nearest(self._Z[rows], self._Z, CANDIDATES_PER_NEIGHBOR * k, _SCAN_ROWS)[1]
        ind, dist = self._rank(self._X[rows], cand, k)
        kth = self._pruned_kth(rows, k, dist[:, k - 1])
        if kth is None:  # the projection prunes too little: float32 BLAS scan of the full rows
            sample = _as_float32(self._X[rows], self._scale, self.metric)
            kth = np.maximum(_sample_kth(sample, _Float32Rows(self), k, _SCAN_ROWS,
                                         center=sample.mean(axis=0)), 0).astype(np.float64)
            kth = kth / 2 if self.metric == "cosine" else np.sqrt(kth) / self._scale
        if np.mean(dist <= kth * (1 + 1e-4) + 1e-12) < PCA_MIN_RECALL:
            self._full = FaissIVFIndex(self._X, metric=self.metric, random_state=self._seed,
                                       n_jobs=self._n_jobs)

    def _pruned_kth(self, rows, k, upper):
        """True distance (k, 1) of each row's k-th nearest row (itself included), or None.

        The projection never lengthens a distance (orthonormal axes), so only rows whose
        projected distance is within ``upper`` (a true distance at least the k-th: the
        k-th of the candidates) can be among the k nearest; those few are measured
        exactly in float64. Fashion-MNIST 70k: instead of 256 x 70k x 784 products.
        None when more than ``_PRUNED_MAX_SHARE`` of the rows would be measured, when a
        row keeps fewer than k (float32 projections of rows far from the origin, as
        1e4 + 1e-3 * noise, lose the distances), and for cosine (whose exact distances
        re-normalise every row per call).
        """
        if self.metric != "euclidean":
            return None
        Zs = self._Z[rows]
        bound = (upper * self._scale) ** 2  # in the projection's (scaled) units
        norms = np.einsum("ij,ij->i", Zs, Zs)
        kept = [[] for _ in rows]
        total = 0
        for start in range(0, self.n_samples, _SCAN_ROWS):
            block = self._Z[start:start + _SCAN_ROWS]
            block_norms = np.einsum("ij,ij->i", block, block)
            sq = squared_distances(Zs, norms, block, block_norms)
            # float32 rounding and the float32 axes' tiny non-orthogonality: generous slack
            slack = 1e-4 * (norms[:, None] + block_norms[None, :])
            r, c = np.nonzero(sq <= (bound * (1 + 1e-3))[:, None] + slack)
            total += r.size
            if total > _PRUNED_MAX_SHARE * rows.size * self.n_samples:
                return None
            cuts = np.searchsorted(r, np.arange(rows.size + 1))  # r is sorted (row-major)
            for i in np.flatnonzero(np.diff(cuts)):
                kept[i].append(start + c[cuts[i]:cuts[i + 1]])
        kept = [np.concatenate(parts) if parts else np.zeros(0, np.int64) for parts in kept]
        if min(cols.size for cols in kept) < k:
            return None  # float32 rounding of the projection pruned too much: scan exactly
        kth = np.empty((rows.size, 1))
        for i, row in enumerate(rows):
            cols = kept[i][None, :]
            dist = pair_distances(self._X[row:row + 1], self._X, cols, self.metric)[0]
            kth[i, 0] = np.partition(dist, k - 1)[k - 1]
        return kth

    def _project(self, Y):
        """Rows of Y in the projection, a chunk at a time (no full float32 copy of Y)."""
        out = np.empty((Y.shape[0], self._axes.shape[1]), dtype=np.float32)
        for start in range(0, Y.shape[0], _CHUNK_ROWS):
            rows = slice(start, start + _CHUNK_ROWS)
            out[rows] = (_as_float32(Y[rows], self._scale, self.metric) - self._mean) @ self._axes
        return out

    def _inner_index(self):
        """The search of the projection: exact (BLAS) while cheap, faiss IVF-Flat beyond."""
        if self._inner is None:
            if float(self.n_samples) ** 2 * self._Z.shape[1] <= AUTO_EXACT_MAX_WORK:
                self._inner = FaissFlatIndex(self._Z, n_jobs=self._n_jobs)
            else:
                self._inner = FaissIVFIndex(self._Z, random_state=self._seed,
                                            n_jobs=self._n_jobs, float16=False)
        return self._inner

    def _candidates(self, Z, k, exclude_self):
        m = min(self.n_samples, CANDIDATES_PER_NEIGHBOR * k + int(exclude_self))
        return self._inner_index().search_indices(Z, m)

    def _rank(self, Y, cand, k, order=None):
        ind, dist = sort_rows(cand, pair_distances(Y, self._X, cand, self.metric, order=order))
        return ind[:, :k], dist[:, :k]

    def query(self, Y, k):
        self._check_recall(k)
        if self._full is not None:
            return self._full.query(Y, k)
        return self._rank(Y, self._candidates(self._project(Y), k, False), k)

    def neighbors(self, k):
        from ._index import _drop_self

        self._check_recall(k + 1)
        if self._full is not None:
            return self._full.neighbors(k)
        # the training rows re-measured list by list (shared candidates stay in cache)
        cand = self._candidates(self._Z, k, True)
        order = getattr(self._inner, "list_order", None)
        ind, dist = self._rank(self._X, cand, k + 1,
                               order=order() if order is not None else None)
        return _drop_self(ind, dist, k)

