"""``backend="pca"``: candidates from a PCA projection, ranked by true distances."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist

import graphmoe
from graphmoe.graph import KNNGraph
from graphmoe.graph._faiss import _sample_kth
from graphmoe.graph._reduced import PCAIndex, fit_projection


def _recall(ind, ind_exact):
    return (ind[:, :, None] == ind_exact[:, None, :]).any(axis=2).mean()


@pytest.fixture(scope="module")
def wide():
    """Clustered rows of 200 features whose variance lives in 20 directions (as images)."""
    rng = np.random.default_rng(0)
    centers = 4 * rng.normal(size=(8, 20))
    latent = rng.normal(size=(1500, 20)) + centers[rng.integers(0, 8, 1500)]
    return latent @ rng.normal(size=(20, 200)) + 0.3 * rng.normal(size=(1500, 200))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_recall_and_true_distances(wide, metric):
    approx = KNNGraph(n_neighbors=15, metric=metric, backend="pca", random_state=0).fit(wide)
    exact = KNNGraph(n_neighbors=15, metric=metric, backend="exact").fit(wide)
    assert approx.backend_ == "pca"
    assert _recall(approx.indices_, exact.indices_) >= 0.9
    rows = np.arange(len(wide))[:, None]
    assert not np.any(approx.indices_ == rows)
    true = cdist(wide, wide, metric=metric)[rows, approx.indices_]
    np.testing.assert_allclose(approx.distances_, true, rtol=1e-6, atol=1e-9)
    assert np.all(np.diff(approx.distances_, axis=1) >= 0)


def test_queries_and_larger_k_after_a_query(wide):
    g = KNNGraph(n_neighbors=10, backend="pca", random_state=0).fit(wide)
    exact = KNNGraph(n_neighbors=10, backend="exact").fit(wide)
    _, near = g.kneighbors(wide[:50] + 1e-6, n_neighbors=3)
    assert np.array_equal(near[:, 0], np.arange(50))
    _, ind = g.kneighbors(None, n_neighbors=30)
    _, ind_exact = exact.kneighbors(None, n_neighbors=30)
    assert _recall(ind, ind_exact) >= 0.9


def test_reproducible_and_seed_matters_only_through_the_sample(wide):
    a = KNNGraph(n_neighbors=15, backend="pca", random_state=3).fit(wide)
    b = KNNGraph(n_neighbors=15, backend="pca", random_state=3, n_jobs=1).fit(wide)
    np.testing.assert_array_equal(a.indices_, b.indices_)
    np.testing.assert_array_equal(a.distances_, b.distances_)


def test_projection_axes_are_orthonormal_principal_directions(wide):
    mean, axes = fit_projection(wide, 5, random_state=0)
    np.testing.assert_allclose(axes.T @ axes, np.eye(5), atol=1e-4)
    np.testing.assert_allclose(mean, wide.mean(axis=0), rtol=1e-4, atol=1e-4)
    variance = np.var((wide - mean) @ axes, axis=0)
    assert np.all(np.diff(variance) <= 1e-6 * variance[0])  # largest first
    # the first axis is the top eigenvector of the covariance (up to sign)
    top = np.linalg.eigh(np.cov(wide.T))[1][:, -1]
    assert abs(float(top @ axes[:, 0])) > 0.999


def test_more_components_than_features_are_clipped():
    X = np.random.default_rng(0).normal(size=(300, 12))
    index = PCAIndex(X, n_components=64, random_state=0)
    assert index._Z.shape == (300, 12)
    exact = KNNGraph(n_neighbors=5, backend="exact").fit(X)
    ind, _ = index.neighbors(5)
    assert _recall(ind, exact.indices_) >= 0.99  # a full-rank projection loses nothing


def test_sample_kth_matches_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 6)).astype(np.float32)
    sample = X[:40]
    kth = _sample_kth(sample, X, 5, chunk_rows=64)  # many blocks
    brute = np.sort(cdist(sample, X, "sqeuclidean"), axis=1)[:, 4:5]
    np.testing.assert_allclose(kth, brute, rtol=1e-4, atol=1e-4)


def test_randomstate_seed_is_stored_so_reloading_rebuilds_the_same_index(wide, tmp_path):
    g = KNNGraph(n_neighbors=10, backend="pca", random_state=np.random.RandomState(5)).fit(wide)
    assert isinstance(g._seed, int)
    before = g.kneighbors(None, n_neighbors=20)
    graphmoe.save(g, tmp_path / "g.gmoe")
    back = graphmoe.load(tmp_path / "g.gmoe")
    after = back.kneighbors(None, n_neighbors=20)
    np.testing.assert_array_equal(before[1], after[1])


def test_bad_backend_name_is_refused(wide):
    with pytest.raises(ValueError, match="backend"):
        KNNGraph(backend="pca64").fit(wide)


def test_isotropic_data_fall_back_to_the_full_space():
    """No projection keeps neighbours in isotropic noise: the sample check switches index."""
    X = np.random.default_rng(0).normal(size=(1200, 400))
    g = KNNGraph(n_neighbors=10, backend="pca", random_state=0).fit(X)
    exact = KNNGraph(n_neighbors=10, backend="exact").fit(X)
    assert g._index._full is not None
    assert _recall(g.indices_, exact.indices_) >= 0.9


def test_low_rank_data_keep_the_projection(wide):
    g = KNNGraph(n_neighbors=10, backend="pca", random_state=0).fit(wide)
    assert g._index._full is None


def test_a_projection_that_fails_the_recall_check_builds_no_index():
    X = np.random.default_rng(0).normal(size=(2000, 200))
    index = PCAIndex(X, n_components=20, random_state=0)
    index.neighbors(10)
    assert index._full is not None and index._inner is None


def test_pruned_kth_equals_the_brute_force_kth(wide):
    index = PCAIndex(wide, n_components=20, random_state=0)
    rows = np.arange(0, 1500, 7)
    full = cdist(wide[rows], wide)
    kth = np.sort(full, axis=1)[:, 9]
    upper = np.sort(full, axis=1)[:, 12]  # any true distance at least the k-th
    np.testing.assert_allclose(index._pruned_kth(rows, 10, upper)[:, 0], kth, rtol=1e-12)
    assert PCAIndex(wide, metric="cosine", random_state=0)._pruned_kth(rows, 10, upper) is None


def test_large_offset_with_tiny_variation_fits():
    """float32 projections of rows far from the origin cannot prune: the exact scan decides."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 150))
    labels = rng.integers(0, 4, 2000)
    X = 1e4 + (centres[labels] + 0.1 * rng.normal(size=(2000, 150))) * 1e-3
    g = KNNGraph(n_neighbors=10, backend="pca", random_state=0).fit(X)
    # inside a centre the noise is isotropic (every neighbour about equally near): no
    # recall floor, but the neighbours share the row's centre
    assert (labels[g.indices_] == labels[:, None]).all()
    assert np.all(np.diff(g.distances_, axis=1) >= 0)
