"""GraphLayout: fuzzy graph, spectral start, SGD layout, transform, sklearn conventions."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphmoe import KNNGraph
from graphmoe.embed import GraphLayout
from graphmoe.embed._layout_fuzzy import fuzzy_union_graph, smooth_knn_scales
from graphmoe.embed._layout_init import spectral_layout
from graphmoe.embed._layout_sgd import attraction_curve

FAST = dict(n_epochs=50, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(n_samples=600, n_features=30, centers=5, cluster_std=1.0,
                      random_state=0)


@parametrize_with_checks([GraphLayout(n_components=2, n_epochs=20, random_state=0)])
def test_sklearn_conventions(estimator, check):
    check(estimator)


def test_smooth_knn_memberships_sum_to_log2_k(rng):
    d = np.sort(rng.uniform(1.0, 5.0, size=(50, 15)), axis=1)
    rho, sigma = smooth_knn_scales(d)
    np.testing.assert_allclose(rho, d[:, 0])
    total = np.exp(-(d - rho[:, None]) / sigma[:, None]).sum(axis=1)
    np.testing.assert_allclose(total, np.log2(15), rtol=2e-5)


def test_fuzzy_graph_is_a_symmetric_fuzzy_union(blobs):
    knn = KNNGraph(n_neighbors=10, backend="exact").fit(blobs[0])
    graph = fuzzy_union_graph(knn.indices_, knn.distances_)
    assert graph.dtype == np.float32 and graph.diagonal().max() == 0
    assert abs(graph - graph.T).max() < 1e-6
    assert graph.data.min() > 0 and graph.data.max() <= 1 + 1e-6
    # Every point's nearest neighbour is at full membership.
    rows = np.arange(graph.shape[0])
    np.testing.assert_allclose(graph[rows, knn.indices_[:, 0]].A1, 1.0, rtol=1e-6)


def test_spectral_start_separates_components():
    # Two disjoint cliques: the start must put them apart, not on top of each other.
    block = np.ones((20, 20)) - np.eye(20)
    graph = sp.csr_matrix(sp.block_diag([block, block]))
    layout = spectral_layout(graph, 2, np.random.default_rng(0))
    a, b = layout[:20], layout[20:]
    gap = np.linalg.norm(a.mean(axis=0) - b.mean(axis=0))
    assert gap > 1.5 * max(np.ptp(a, axis=0).max(), np.ptp(b, axis=0).max())


def test_attraction_curve_matches_known_values():
    # min_dist=0.1, spread=1 is UMAP's published default: a ~ 1.58, b ~ 0.90.
    a, b = attraction_curve(0.1, 1.0)
    assert abs(a - 1.58) < 0.05 and abs(b - 0.90) < 0.03


def test_shape_dtype_and_reproducible(blobs):
    Z = GraphLayout(n_components=3, **FAST).fit_transform(blobs[0])
    assert Z.shape == (600, 3) and Z.dtype == np.float32 and np.isfinite(Z).all()
    again = GraphLayout(n_components=3, **FAST).fit(blobs[0]).embedding_
    np.testing.assert_array_equal(Z, again)
    other = GraphLayout(n_components=3, n_epochs=50, random_state=1).fit_transform(blobs[0])
    assert not np.array_equal(Z, other)


@pytest.mark.parametrize("init", ["spectral", "random"])
def test_blobs_stay_separated(blobs, init):
    X, y = blobs
    # A random start needs more epochs than a spectral one to gather the blobs.
    Z = GraphLayout(n_components=2, init=init, n_epochs=100, random_state=0).fit_transform(X)
    pred = KMeans(5, n_init=10, random_state=0).fit_predict(Z)
    assert adjusted_rand_score(y, pred) >= 0.99


def test_digits_quality_floor():
    X, y = load_digits(return_X_y=True)
    Z = GraphLayout(n_components=4, n_epochs=100, random_state=0).fit_transform(X)
    pred = KMeans(10, n_init=10, random_state=0).fit_predict(Z)
    # Raw 64-D digits give KMeans ARI ~0.67; the layout must do clearly better.
    assert adjusted_rand_score(y, pred) >= 0.78


def test_transform_places_points_near_their_neighbours(blobs):
    X, y = blobs
    model = GraphLayout(n_components=2, **FAST).fit(X[:500])
    np.testing.assert_array_equal(model.transform(X[:500]), model.embedding_)
    new = model.transform(X[500:])
    assert new.shape == (100, 2) and new.dtype == np.float32
    np.testing.assert_array_equal(new, model.transform(X[500:]))
    # Each new point lands nearest the training points of its own blob.
    centres = np.array([model.embedding_[y[:500] == c].mean(axis=0) for c in range(5)])
    nearest = np.argmin(((new[:, None] - centres) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == y[500:]) >= 0.99


def test_transform_epochs_refine_and_stay_deterministic(blobs):
    X, y = blobs
    model = GraphLayout(n_components=2, transform_epochs=30, **FAST).fit(X[:500])
    first, second = model.transform(X[500:]), model.transform(X[500:])
    np.testing.assert_array_equal(first, second)
    plain = GraphLayout(n_components=2, **FAST).fit(X[:500]).transform(X[500:])
    assert not np.array_equal(first, plain) and np.isfinite(first).all()


def test_fit_from_knn_matches_fit(blobs):
    X = blobs[0]
    knn = KNNGraph(n_neighbors=15, backend="exact").fit(X)
    a = GraphLayout(n_components=2, **FAST).fit_from_knn(X, knn).embedding_
    b = GraphLayout(n_components=2, **FAST).fit(X).embedding_
    # fit() seeds the kNN search from random_state first, so the layouts need not be
    # bit-identical; both must separate the blobs the same way.
    pa = KMeans(5, n_init=10, random_state=0).fit_predict(a)
    pb = KMeans(5, n_init=10, random_state=0).fit_predict(b)
    assert adjusted_rand_score(pa, pb) >= 0.99


def test_array_init_is_centred_and_scaled(blobs):
    X = blobs[0]
    start = np.random.default_rng(0).normal(size=(600, 2))
    Z = GraphLayout(n_components=2, init=start, n_epochs=0, random_state=0).fit_transform(X)
    centred = start - start.mean(axis=0)
    # the start as given, centred and scaled to [-10, 10] (plus tie-breaking noise)
    np.testing.assert_allclose(Z, 10.0 * centred / np.abs(centred).max(), atol=0.01)
    # ... so the scale and offset of a given start do not matter
    big = GraphLayout(n_components=2, init=1e4 * start + 5.0, n_epochs=0,
                      random_state=0).fit_transform(X)
    np.testing.assert_allclose(big, Z, atol=1e-3)
    # nor after the SGD: a start of code-like scale separates the blobs as the spectral one
    tiny = GraphLayout(n_components=2, init=1e-6 * start, **FAST).fit_transform(X)
    pred = KMeans(5, n_init=10, random_state=0).fit_predict(tiny)
    assert adjusted_rand_score(blobs[1], pred) >= 0.99


def test_bad_input(bad_input):
    bad, err, match = bad_input
    with pytest.raises(err, match=match):
        GraphLayout(**FAST).fit(bad)


def test_bad_parameters(blobs):
    X = blobs[0][:20]
    with pytest.raises(ValueError, match="n_components=20 must be smaller"):
        GraphLayout(n_components=20, **FAST).fit(X)
    with pytest.warns(UserWarning, match="n_neighbors=30 is not smaller"):
        model = GraphLayout(n_neighbors=30, n_components=2, **FAST).fit(X)
    assert model.n_neighbors_ == 19
    with pytest.raises(ValueError, match="init array has shape"):
        GraphLayout(n_components=2, init=np.zeros((5, 2)), **FAST).fit(X)
    with pytest.raises(ValueError, match="init array contains NaN"):
        GraphLayout(n_components=2, init=np.full((20, 2), np.nan), **FAST).fit(X)
    with pytest.raises(ValueError, match="min_dist"):
        GraphLayout(min_dist=-1.0).fit(X)
    with pytest.raises(ValueError, match="negative_sample_rate"):
        GraphLayout(negative_sample_rate=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        GraphLayout(n_components=2, **FAST).fit(X).transform(X[:, :3])
