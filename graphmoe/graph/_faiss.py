"""Approximate search with faiss' inverted-file index (IVF, rows stored as float16).

Why IVF and not a graph index (HNSW, NN-descent): faiss ships compiled
wheels, so a fresh process pays no JIT compilation (pynndescent pays ~70 s on
784-D data), and IVF's result does not depend on the thread count. Its
coarse k-means is seeded by ``random_state``, and the search scans the probed
lists exhaustively, one query per thread; HNSW construction with several
threads inserts points in a racy order. Measurements in
``benchmarks/knn_backends.py``.

faiss returns float32 *squared* L2 distances; every returned pair is
re-measured here in float64 (true distances, cosine included) and rows are
re-sorted by (distance, index), so ties and rounding cannot reorder results.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np
from threadpoolctl import threadpool_limits

from ._index import _drop_self, float32_scale, pair_distances, sort_rows

__all__ = ["FaissFlatIndex", "FaissIVFIndex", "IVF_PROBES", "ivf_lists"]

#: Lists probed per query at first. The count doubles until a sample of
#: training points reaches ``IVF_TARGET_RECALL`` against an exhaustive scan:
#: clustered data stop at 8 (Fashion-MNIST 70k: 264 lists, recall@15 0.99),
#: structureless data (an isotropic Gaussian) need many more.
IVF_PROBES = 8
IVF_TARGET_RECALL = 0.97
_TUNING_SAMPLE = 256
#: faiss' k-means wants >= 39 training points per list; 40 keeps it quiet.
_MIN_POINTS_PER_LIST = 40
_KMEANS_ITERATIONS = 10
_TRAIN_POINTS_PER_LIST = 100
#: Coarse k-means up to this many multiply-adds is trained on one thread.
_ONE_THREAD_KMEANS_FLOPS = 2e10
#: Searches of up to this many query rows run on one thread (the probe-tuning
#: and recall-check samples): OpenMP threads idle-spin between such short
#: steps. The bridging scans (many rows against a few dozen) are short too:
#: 18,000 x 200 rows against 64 on the loaded 2-core machine took 0.011 CPU-s /
#: 0.05 s wall on one thread, 0.080 / 0.24 on two.
ONE_THREAD_QUERIES = 4096
#: Rows whose largest column range is at least the first and largest |value| at most the
#: second are stored as float16 unscaled; others are scaled by a power of two.
_FP16_PEAK = (2.0 ** -4, 2.0 ** 14)
#: Rows scaled at a time when they are (bounded temporaries).
_CODE_BLOCK = 8192
#: Largest distance block of the list-by-list join (rows probing a list x its size,
#: float32): structureless data probe most lists, so at a million rows one list's
#: block would otherwise near n x list size (GBs); the old per-query search kept O(n k).
_JOIN_BLOCK_BYTES = 64 << 20
#: Rows joined at a time: their probe lists (rows x probes int64, and the sort of them)
#: stay about this size when the probe count climbs towards the list count.
_JOIN_PROBE_BYTES = 256 << 20


def ivf_lists(n_samples):
    """Number of inverted lists: ~sqrt(n), at least 40 points per list."""
    return int(max(1, min(np.sqrt(n_samples), n_samples // _MIN_POINTS_PER_LIST)))


@contextlib.contextmanager
def _faiss_threads(faiss, n_jobs, n_queries=None):
    """Run faiss with ``n_jobs`` OpenMP threads, restoring the caller's count.

    ``n_queries`` up to :data:`ONE_THREAD_QUERIES`: one thread, whatever ``n_jobs``.
    """
    before = faiss.omp_get_max_threads()
    if n_queries is not None and n_queries <= ONE_THREAD_QUERIES:
        n_jobs = 1
    if n_jobs is not None:
        n = os.cpu_count() or 1
        faiss.omp_set_num_threads(max(1, n + 1 + n_jobs if n_jobs < 0 else n_jobs))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class FaissFlatIndex:
    """Exhaustive float32 search of prepared rows (BLAS); indices only.

    The inner search of ``PCAIndex`` while brute force is cheap: rows are
    already float32 and candidates are re-measured by the caller.
    """

    def __init__(self, Xf, n_jobs=None):
        import faiss

        self.n_jobs = n_jobs
        self._faiss = faiss
        self._index = faiss.IndexFlatL2(Xf.shape[1])
        self._index.add(np.ascontiguousarray(Xf, dtype=np.float32))

    def __getstate__(self):
        return {"n_jobs": self.n_jobs, "_index_bytes": self._faiss.serialize_index(self._index)}

    def __setstate__(self, state):
        import faiss

        self._index = faiss.deserialize_index(state.pop("_index_bytes"))
        self.__dict__.update(state, _faiss=faiss)

    def search_indices(self, Yf, k):
        with _faiss_threads(self._faiss, self.n_jobs, Yf.shape[0]):
            return self._index.search(np.ascontiguousarray(Yf, dtype=np.float32), k)[1].astype(np.int64)


class FaissIVFIndex:
    """IVF index over X: float16 rows in the lists, a float32 copy (unit rows for cosine) kept.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    metric : {"euclidean", "cosine"}
    random_state : int or None
        Seed of the coarse k-means (None: 0, faiss' own default).
    n_jobs : int or None
        OpenMP threads for training and search (None: faiss' default).
    float16 : bool, default=True
        Store the rows as float16 (see :func:`_fp16_scale`); False: IVF-Flat
        (float32), as the PCA backend's inner index keeps it: there the
        candidates are the projection's, and their float16 reordering changed
        the default clustering of Fashion-MNIST 70k (seed 0: ARI 0.555 -> 0.420).
    """

    def __init__(self, X, metric="euclidean", random_state=None, n_jobs=None, float16=True):
        import faiss

        self.n_samples = X.shape[0]
        self.metric = metric
        self.n_jobs = n_jobs
        self._X = X
        self._scale = float32_scale(X)
        self._Xf = self._prepare(X)
        n, d = self._Xf.shape
        self.n_lists = ivf_lists(n)
        self._code_scale = _fp16_scale(self._Xf) if float16 else 1.0
        self._flat = not float16
        self._index = (faiss.IndexIVFScalarQuantizer(faiss.IndexFlatL2(d), d, self.n_lists,
                                                     faiss.ScalarQuantizer.QT_fp16) if float16
                       else faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, self.n_lists))
        self._index.cp.seed = 0 if random_state is None else int(random_state) % (1 << 31)
        self._index.cp.niter = _KMEANS_ITERATIONS
        self._index.cp.max_points_per_centroid = 1 << 30  # we subsample ourselves
        rng = np.random.default_rng(self._index.cp.seed)
        n_train = min(n, _TRAIN_POINTS_PER_LIST * self.n_lists)
        train = self._Xf[np.sort(rng.choice(n, n_train, replace=False))]
        # A small k-means runs on one thread: its many short OpenMP steps make idle
        # threads spin (blobs 20k x 200 on the loaded 2-core machine: 0.81 CPU-s / 3.7 s
        # wall with 2 threads, 0.14 / 1.0 with one).
        small = n_train * self.n_lists * d * _KMEANS_ITERATIONS <= _ONE_THREAD_KMEANS_FLOPS
        with _faiss_threads(faiss, 1 if small else n_jobs):
            self._index.train(self._coded(train))
        with _faiss_threads(faiss, n_jobs):
            for start in range(0, n, _CODE_BLOCK):  # bounded temporaries when scaled
                self._index.add(self._coded(self._Xf[start:start + _CODE_BLOCK]))
        self._faiss = faiss
        self._probes = {}  # k -> lists to probe (tuned once per k)
        self._sample = np.sort(rng.choice(n, min(n, _TUNING_SAMPLE), replace=False))

    def __getstate__(self):
        # SWIG objects do not pickle: store the index as faiss' own byte image.
        state = {k: v for k, v in self.__dict__.items() if k not in ("_index", "_faiss")}
        state["_index_bytes"] = self._faiss.serialize_index(self._index)
        return state

    def __setstate__(self, state):
        import faiss

        self._index = faiss.deserialize_index(state.pop("_index_bytes"))
        state.setdefault("_flat", isinstance(self._index, faiss.IndexIVFFlat))  # pickled before it
        self.__dict__.update(state, _faiss=faiss)

    def _prepare(self, Y):
        if self._scale != 1.0:  # out of float32's comfortable range (float32_scale)
            Y = np.asarray(Y, dtype=np.float64) * self._scale
        Y = np.ascontiguousarray(Y, dtype=np.float32)
        if self.metric == "cosine":
            Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
        return np.ascontiguousarray(Y, dtype=np.float32)

    def _coded(self, Yf):
        """Rows as the index stores and searches them (scaled into float16's range)."""
        scale = getattr(self, "_code_scale", 1.0)  # 1.0: an IVF-Flat index pickled by 0.2
        return np.ascontiguousarray(Yf * np.float32(scale) if scale != 1.0 else Yf)

    def _probe(self, Yf, k, nprobe):
        """Squared distances (in ``_Xf``'s units; inf where lists ran short) and indices."""
        params = self._faiss.SearchParametersIVF(nprobe=int(nprobe))
        scale = getattr(self, "_code_scale", 1.0)
        with _faiss_threads(self._faiss, self.n_jobs, Yf.shape[0]):
            if scale == 1.0:
                return self._index.search(Yf, k, params=params)
            parts = [self._index.search(self._coded(Yf[start:start + _CODE_BLOCK]), k,
                                        params=params)
                     for start in range(0, Yf.shape[0], _CODE_BLOCK)]
        with np.errstate(over="ignore"):  # short lists' FLT_MAX fillers become inf
            dist = np.concatenate([d for d, _ in parts]) / np.float32(scale * scale)
        return dist, np.concatenate([i for _, i in parts])

    def _tuned_probes(self, k):
        """Fewest lists (8, 16, 32, ...) whose search of a sample reaches the target recall."""
        if k not in self._probes:
            sample = self._Xf[self._sample]
            center = sample.mean(axis=0)  # distances do not move; the rounding shrinks
            kth = _sample_kth(sample, self._Xf, k, center=center)
            norms = np.einsum("ij,ij->i", sample - center, sample - center)
            # float32 rounding (of order eps * |x - center|^2) and ties: a hit is any
            # neighbour no farther than the k-th
            slack = 1e-4 * kth + 1e-5 * float(np.mean(norms))
            nprobe = min(IVF_PROBES, self.n_lists)
            while nprobe < self.n_lists:
                ind = self._probe(sample, k, nprobe)[1]
                # the candidates re-measured from the float32 rows (the index's float16
                # distances would count near-ties at the k-th as misses)
                dist = np.stack([np.einsum("ij,ij->i", d, d) for d in
                                 (sample - self._Xf[np.maximum(col, 0)] for col in ind.T)], axis=1)
                if np.mean((ind >= 0) & (dist <= kth + slack)) >= IVF_TARGET_RECALL:
                    break
                nprobe = min(2 * nprobe, self.n_lists)
            self._probes[k] = nprobe
        return self._probes[k]

    def search_indices(self, Yf, k):
        """Indices (m, k) int64 of the k nearest of prepared float32 rows ``Yf`` (no distances)."""
        nprobe = self._tuned_probes(k)
        if Yf.shape[0] > ONE_THREAD_QUERIES:
            ind = self._join(Yf, k, nprobe)
        else:
            ind = self._probe(Yf, k, nprobe)[1]
        short = np.flatnonzero((ind < 0).any(axis=1))
        if short.size:
            # Probed lists held fewer than k points: scan all lists (exact) for those rows.
            ind[short] = self._probe(Yf[short], k, self.n_lists)[1]
        return ind.astype(np.int64)

    def _join(self, Yf, k, nprobe):
        """What ``_probe(Yf, k, nprobe)`` finds (indices, -1 where short), list by list.

        faiss scans the probed lists query by query (a distance at a time,
        cache-unfriendly on 70k rows); here each list meets all the rows that
        probe it in one BLAS product (one thread: deterministic), the products
        kept in a compiled bounded heap per row. Both sides are taken about the
        list's centroid, as faiss' float16 lists store them (residuals; the
        same rounded rows, so the same candidates up to float32 rounding at a
        tie, and which duplicate points fill the last places). Fashion-MNIST 70k (the
        PCA backend's 128-D rows, 31 candidates, 8 probes): 3.6 -> 1.6 CPU-s; blobs
        20k x 200 (float16, 20 candidates, 8 probes): 0.57 -> 0.31 CPU-s.
        """
        heap_d = np.full((Yf.shape[0], k), np.inf, dtype=np.float32)
        heap_i = np.full((Yf.shape[0], k), -1, dtype=np.int64)
        batch = max(1, _JOIN_PROBE_BYTES // (32 * int(nprobe)))  # ~4 int64 arrays per probe
        with threadpool_limits(1, user_api="blas"):
            for start in range(0, Yf.shape[0], batch):  # rows' heaps are independent
                rows = slice(start, start + batch)
                self._join_rows(Yf[rows], nprobe, heap_d[rows], heap_i[rows])
        return heap_i

    def _join_rows(self, Yf, nprobe, heap_d, heap_i):
        """Offer every row of ``Yf`` the points of its probed lists (heaps filled in place)."""
        from ._kernels import push_block

        faiss, quantizer = self._faiss, self._index.quantizer
        with _faiss_threads(faiss, self.n_jobs, Yf.shape[0]):  # centroids are in coded units
            probes = np.concatenate([quantizer.search(self._coded(Yf[start:start + _CODE_BLOCK]),
                                                      int(nprobe))[1]
                                     for start in range(0, Yf.shape[0], _CODE_BLOCK)])
        centroids = quantizer.reconstruct_n(0, self.n_lists)
        lists = self._index.invlists
        flat = probes.ravel()
        order = np.argsort(flat, kind="stable")
        rows = (order // probes.shape[1]).astype(np.int64)
        bounds = np.searchsorted(flat[order], np.arange(self.n_lists + 1))
        del probes, flat, order
        for j in range(self.n_lists):
            size = lists.list_size(j)
            probing = rows[bounds[j]:bounds[j + 1]]
            if not size or not probing.size:
                continue
            ids = faiss.rev_swig_ptr(lists.get_ids(j), size).copy()
            if self._flat:
                P = self._Xf[ids] - centroids[j]
            else:  # the stored float16 residuals, the query scaled as the index codes it
                codes = faiss.rev_swig_ptr(lists.get_codes(j), size * self._index.code_size)
                P = codes.view(np.float16).reshape(size, -1).astype(np.float32)
            P_norms = np.einsum("ij,ij->i", P, P)
            # the distance block and the chunk's coded rows (d wide) within ~64 MiB
            chunk = max(1, _JOIN_BLOCK_BYTES // (4 * (size + Yf.shape[1])))
            for first in range(0, probing.size, chunk):
                q = probing[first:first + chunk]
                Q = (Yf[q] if self._flat else self._coded(Yf[q])) - centroids[j]
                dist = squared_distances(Q, np.einsum("ij,ij->i", Q, Q), P, P_norms)
                push_block(heap_d, heap_i, q, dist, ids)

    def list_order(self):
        """Every indexed row once, list by list (rows of a list share their neighbours)."""
        lists, rev = self._index.invlists, self._faiss.rev_swig_ptr
        return np.concatenate([rev(lists.get_ids(j), lists.list_size(j)).copy()
                               for j in range(self.n_lists) if lists.list_size(j)]
                              + [np.zeros(0, dtype=np.int64)]).astype(np.int64)

    def query(self, Y, k, Yf=None, order=None):
        # a few extra candidates, re-measured exactly: float16 may swap near-ties at the k-th
        wide = min(self.n_samples, k + max(2, k // 4))
        ind = self.search_indices(self._prepare(Y) if Yf is None else Yf, wide)
        ind, dist = sort_rows(ind, pair_distances(Y, self._X, ind, self.metric, order=order))
        return ind[:, :k], dist[:, :k]

    def neighbors(self, k):
        ind, dist = self.query(self._X, k + 1, Yf=self._Xf, order=self.list_order())
        return _drop_self(ind, dist, k)


def _fp16_scale(Xf):
    """1.0, or a power of two that brings the rows' largest column range to [512, 1024).

    The index stores rows as float16 (half the bytes of IVF-Flat, and its scan
    is faster: 70k rows of 128-D, 8 probes, one thread: 3.6 CPU-s against 6.2,
    recall@33 0.989 both; whole ``KNNGraph.fit`` of blobs 20k x 200: 4.6 -> 1.9
    CPU-s with the other fixes of that commit, recall@15 0.985 both). Candidates are re-measured in float64
    afterwards, so float16's 11-bit mantissa only has to order them. What it
    stores are residuals (a row minus its list's centroid), bounded by the
    largest column range, so the scale follows that range, not the largest
    |value|: data with a large offset and small variations (0.07 + 1e-7 noise)
    otherwise lost their residuals below float16's smallest normal (6e-5;
    recall 0.72 against 0.92 in float32). Powers of two scale exactly; the
    scaled rows stay below 2^30, so squared distances stay finite in float32.
    """
    if not Xf.size:
        return 1.0
    peak = max(float(np.max(Xf)), -float(np.min(Xf)))
    spread = float(np.max(np.max(Xf, axis=0) - np.min(Xf, axis=0)))
    if spread == 0.0 or not np.isfinite(spread):
        return 1.0
    if _FP16_PEAK[0] <= spread and peak <= _FP16_PEAK[1]:
        return 1.0  # no scaled copies of the rows (pixels, unit rows, PCA coordinates)
    return float(min(2.0 ** (9 - np.floor(np.log2(spread))),
                     2.0 ** (29 - np.floor(np.log2(peak)))))


def squared_distances(A, a_norms, B, b_norms):
    """``|A_i - B_j|^2`` (m, n) by one BLAS product: ``a_norms[i] + b_norms[j] - 2 A_i . B_j``."""
    sq = A @ B.T
    sq *= -2
    sq += a_norms[:, None]
    sq += b_norms[None, :]
    return sq


def scan_nearest(sample, X, m, chunk_rows=1 << 12, center=None):
    """Squared distances (float32) and indices of the m nearest rows of X to each sample row.

    Exact and unordered, by BLAS products over blocks of ``chunk_rows`` rows of
    X (anything with ``shape`` and row slicing), each cut to its m best before
    the merge, so memory stays ``len(sample) x chunk_rows`` (one 256 x n block
    would be 1 GB at a million rows; 256 x 16384 blocks raised blobs 20k x 200's
    peak by 60 MiB). ``center`` (d,) is subtracted from both first: products of
    rows far from the origin lose the distances to cancellation (data with a
    large offset and small variations).
    """
    m = min(m, X.shape[0])
    if center is not None:
        sample = sample - center
    norms = np.einsum("ij,ij->i", sample, sample)
    best_d = np.empty((sample.shape[0], 0), dtype=np.float32)
    best_i = np.empty((sample.shape[0], 0), dtype=np.int64)
    for start in range(0, X.shape[0], chunk_rows):
        block = np.asarray(X[start:start + chunk_rows], dtype=sample.dtype)
        if center is not None:
            block = block - center
        sq = squared_distances(sample, norms, block, np.einsum("ij,ij->i", block, block))
        cols = np.arange(start, start + block.shape[0])[None, :]
        if sq.shape[1] > m:
            keep = np.argpartition(sq, m - 1, axis=1)[:, :m]
            sq, cols = np.take_along_axis(sq, keep, axis=1), start + keep
        best_d = np.concatenate([best_d, sq.astype(np.float32)], axis=1)
        best_i = np.concatenate([best_i, np.broadcast_to(cols, sq.shape)], axis=1)
        if best_d.shape[1] > m:
            keep = np.argpartition(best_d, m - 1, axis=1)[:, :m]
            best_d = np.take_along_axis(best_d, keep, axis=1)
            best_i = np.take_along_axis(best_i, keep, axis=1)
    return best_d, best_i


def _sample_kth(sample, X, k, chunk_rows=1 << 12, center=None):
    """Squared distance of each sample row to its k-th nearest row of X (itself included):
    exact, by :func:`scan_nearest`."""
    return np.max(scan_nearest(sample, X, k, chunk_rows, center)[0], axis=1, keepdims=True)
