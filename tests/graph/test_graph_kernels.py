"""Compiled search kernels: the IVF list join, the row sort, ordered re-measuring."""
import numpy as np
import pytest

from graphmoe.graph import _faiss, _index, _kernels
from graphmoe.graph._faiss import FaissIVFIndex
from graphmoe.graph._index import pair_distances, sort_rows


def test_list_join_finds_what_the_per_query_search_finds():
    rng = np.random.default_rng(0)
    centers = 5 * rng.normal(size=(12, 16))
    X = (centers[rng.integers(0, 12, 3000)] + rng.normal(size=(3000, 16))).astype(np.float32)
    index = FaissIVFIndex(X, random_state=0, float16=False)
    for nprobe in (1, 4):
        per_query = index._probe(index._Xf, 20, nprobe)[1]
        joined = index._join(index._Xf, 20, nprobe)
        same = np.sort(per_query, axis=1) == np.sort(joined, axis=1)
        assert same.all(axis=1).mean() >= 0.999  # float32 rounding may swap a tie at the 20th
        assert ((joined < 0).sum(axis=1) == (per_query < 0).sum(axis=1)).all()  # short rows


def test_list_order_visits_every_row_once():
    X = np.random.default_rng(1).normal(size=(2000, 8)).astype(np.float32)
    order = FaissIVFIndex(X, random_state=0, float16=False).list_order()
    np.testing.assert_array_equal(np.sort(order), np.arange(2000))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_distances_in_any_row_order_are_identical(dtype):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 30)).astype(dtype)
    ind = rng.integers(0, 500, size=(500, 9))
    plain = pair_distances(X, X, ind)
    ordered = pair_distances(X, X, ind, order=rng.permutation(500))
    np.testing.assert_array_equal(plain, ordered)


@pytest.mark.parametrize("k", [1, 2, 7, 31, 128])
def test_compiled_row_sort_matches_the_two_stable_sorts(k, monkeypatch):
    rng = np.random.default_rng(k)
    ind = rng.integers(0, 40, size=(3000, k))
    dist = rng.integers(0, 4, size=(3000, k)).astype(float)  # many ties, some duplicate ids
    dist[rng.random(dist.shape) < 0.1] = -0.0
    compiled = sort_rows(ind, dist)
    monkeypatch.setattr(_index, "_INSERTION_SORT_MAX_WIDTH", 0)
    reference = sort_rows(ind, dist)
    for a, b in zip(compiled, reference):
        np.testing.assert_array_equal(a, b)
    assert compiled[0] is not ind  # the caller's arrays are left alone


def _brute(Y, X, k, drop_self=False):
    """(index, distance) order of every training row, re-measured: the exact answer."""
    every = np.tile(np.arange(X.shape[0]), (Y.shape[0], 1))
    ind, dist = sort_rows(every, pair_distances(Y, X, every))
    if drop_self:
        return _index._drop_self(ind[:, :k + 1], dist[:, :k + 1], k)
    return ind[:, :k], dist[:, :k]


@pytest.mark.parametrize("d", [2, 8])
def test_kd_tree_search_is_exact_with_ties_and_duplicates(d, monkeypatch):
    rng = np.random.default_rng(d)
    X = np.round(rng.normal(size=(1500, d)), 1)  # many equal distances
    X[:40] = X[40:80]  # duplicate rows
    tree = _index.ExactIndex(X)
    assert tree._tree is not None
    for a, b in zip(tree.neighbors(12), _brute(X, X, 12, drop_self=True)):
        np.testing.assert_array_equal(a, b)
    Y = X[:300] + 0.05
    for a, b in zip(tree.query(Y, 12), _brute(Y, X, 12)):
        np.testing.assert_array_equal(a, b)


def test_list_join_on_scaled_float16_lists_finds_what_faiss_finds():
    """Rows far from the origin are coded scaled (a power of two): the join probes and
    measures them in the same coded units as faiss, so it finds as many true neighbours
    (probing with unscaled rows found about half of faiss' share)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(5)
    centers = 3 * rng.normal(size=(20, 30))
    Y = rng.normal(size=(5000, 30)) + centers[rng.integers(0, 20, 5000)]
    X = 0.07 + 1e-7 * Y
    index = FaissIVFIndex(X, random_state=0)
    assert index._code_scale != 1.0
    true = cKDTree(Y).query(Y, 20)[1]

    def recall(found):
        return np.mean([len(np.intersect1d(a, b)) / 20 for a, b in zip(found, true)])

    # float16 codes tie many neighbours, so which of the tied ones each search keeps
    # depends on its arithmetic (BLAS kernels, faiss' threads): compare the share found
    with _faiss._faiss_threads(index._faiss, 1):
        per_query = recall(index._probe(index._Xf, 20, 8)[1])
    joined = recall(index._join(index._Xf, 20, 8))
    assert per_query >= 0.7
    assert joined >= per_query - 0.02


def _as_pickled_before(index, *new_attributes):
    """``index`` as a pickle written before ``new_attributes`` existed loads it."""
    import pickle

    old = type(index).__new__(type(index))
    old.__dict__.update({k: v for k, v in index.__dict__.items() if k not in new_attributes})
    return pickle.loads(pickle.dumps(old))


def test_ivf_flat_index_pickled_before_the_float16_flag_joins_as_flat():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 16)).astype(np.float32)
    index = FaissIVFIndex(X, random_state=0, float16=False)
    old = _as_pickled_before(index, "_flat")
    np.testing.assert_array_equal(old._join(old._Xf, 10, 4), index._join(index._Xf, 10, 4))


def test_exact_index_pickled_before_the_kd_tree_searches_with_scikit_learn():
    from sklearn.neighbors import NearestNeighbors

    X = np.random.default_rng(4).normal(size=(300, 3))
    index = _index.ExactIndex(X)
    index._nn = NearestNeighbors().fit(index._X)  # what the index held then
    old = _as_pickled_before(index, "_tree", "_n_jobs")
    for a, b in zip(old.neighbors(5), index.neighbors(5)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(old.query(X[:7] + 0.01, 5), index.query(X[:7] + 0.01, 5)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("float16", [False, True])
def test_list_join_in_small_blocks_finds_the_same(float16, monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2500, 12)).astype(np.float32)  # structureless: rows probe many lists
    index = FaissIVFIndex(X, random_state=0, float16=float16)
    whole = index._join(index._Xf, 10, 16)
    monkeypatch.setattr(_faiss, "_JOIN_BLOCK_BYTES", 1000, raising=False)  # a few rows a block
    monkeypatch.setattr(_faiss, "_JOIN_PROBE_BYTES", 32 * 16 * 300, raising=False)  # 300 rows
    blocks, push = [], _kernels.push_block

    def spy(heap_d, heap_i, q, dist, ids):
        blocks.append(dist.nbytes)
        push(heap_d, heap_i, q, dist, ids)

    monkeypatch.setattr(_kernels, "push_block", spy)
    np.testing.assert_array_equal(index._join(index._Xf, 10, 16), whole)
    largest_list = max(index._index.invlists.list_size(j) for j in range(index.n_lists))
    assert max(blocks) <= max(1000, 4 * largest_list)
