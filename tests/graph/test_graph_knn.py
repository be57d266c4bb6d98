"""KNNGraph: exact neighbours against brute force, duplicates, bridging, bad input."""
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphmoe.graph import KNNGraph
from graphmoe.graph._index import choose_backend


def _brute_knn(X, k, metric="euclidean"):
    D = cdist(X, X, metric=metric)
    np.fill_diagonal(D, np.inf)
    ind = np.argsort(D, axis=1, kind="stable")[:, :k]
    return ind, np.take_along_axis(D, ind, axis=1)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_matches_brute_force(metric):
    X = np.random.default_rng(0).normal(size=(200, 5))
    g = KNNGraph(n_neighbors=7, metric=metric, backend="exact").fit(X)
    _, dist = _brute_knn(X, 7, metric)
    np.testing.assert_allclose(g.distances_, dist, atol=1e-10)
    assert g.indices_.dtype == np.int64 and g.indices_.shape == (200, 7)
    assert not np.any(g.indices_ == np.arange(200)[:, None]), "a point is its own neighbour"
    assert np.all(np.diff(g.distances_, axis=1) >= 0), "neighbours not sorted nearest first"
    G = g.graph_
    assert (G != G.T).nnz == 0, "graph_ is not symmetric"
    # every kNN edge is in the graph with its distance
    rows = np.repeat(np.arange(200), 7)
    np.testing.assert_allclose(np.asarray(G[rows, g.indices_.ravel()]).ravel(),
                               g.distances_.ravel(), atol=1e-10)


def test_kneighbors_queries_the_training_set():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(300, 4)), rng.normal(size=(20, 4))
    g = KNNGraph(n_neighbors=5, backend="exact").fit(X)
    dist, ind = g.kneighbors(Y, n_neighbors=4)
    D = cdist(Y, X)
    np.testing.assert_array_equal(ind, np.argsort(D, axis=1)[:, :4])
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :4])
    d0, i0 = g.kneighbors()
    np.testing.assert_array_equal(i0, g.indices_)
    assert g.kneighbors(Y, return_distance=False).shape == (20, 5)


def test_duplicates_stay_connected_with_zero_distances():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 3))
    X = np.vstack([X, X[:10], X[:10]])  # every one of the first 10 points three times
    g = KNNGraph(n_neighbors=4, backend="exact").fit(X)
    assert np.all(g.distances_[:10, :2] == 0.0)
    assert g.floor_ > 0
    assert np.all(g.graph_.data > 0), "a stored zero would read as a missing edge"
    assert g.graph_[0, 100] == pytest.approx(g.floor_)
    assert connected_components(g.graph_, directed=False)[0] == 1


def test_disconnected_data_are_bridged_by_shortest_edges():
    rng = np.random.default_rng(3)
    centers = np.array([[0, 0], [50, 0], [50, 80]])
    X = np.vstack([c + rng.normal(size=(60, 2)) for c in centers])
    groups = np.repeat(np.arange(3), 60)
    g = KNNGraph(n_neighbors=5, backend="exact").fit(X)
    assert g.n_components_ == 3
    assert connected_components(g.graph_, directed=False)[0] == 1
    coo = g.graph_.tocoo()
    cross = groups[coo.row] != groups[coo.col]
    bridges = sorted(set(np.round(coo.data[cross], 9)))
    # the two bridges are the two shortest of the three inter-group distances (an MST)
    between = sorted(cdist(X[groups == a], X[groups == b]).min()
                     for a, b in [(0, 1), (1, 2), (0, 2)])
    np.testing.assert_allclose(bridges, between[:2])


def test_auto_backend_threshold():
    assert choose_backend("auto", 1000, 784) == "exact"
    assert choose_backend("auto", 30_000, 50) == "exact"
    assert choose_backend("auto", 40_000, 50) == "faiss"
    assert choose_backend("auto", 5_000, 784) == "exact"
    assert choose_backend("auto", 10_000, 784) == "pca"  # > 100 features: PCA candidates
    assert choose_backend("auto", 70_000, 784) == "pca"
    assert choose_backend("auto", 100_000, 100) == "faiss"
    assert choose_backend("pynndescent", 10, 784) == "pynndescent"
    assert choose_backend("auto", 10 ** 6, 2) == "exact"
    assert choose_backend("exact", 10 ** 6, 784) == "exact"
    assert KNNGraph(n_neighbors=3).fit(np.eye(6)).backend_ == "exact"


def test_bad_input(bad_input):
    X, error, match = bad_input
    with pytest.raises(error, match=match):
        KNNGraph(n_neighbors=1, backend="exact").fit(X)


def test_bad_parameters_and_queries():
    X = np.random.default_rng(4).normal(size=(10, 3))
    with pytest.warns(UserWarning, match="n_neighbors=10 is not smaller .* using 9"):
        assert KNNGraph(n_neighbors=10).fit(X).indices_.shape == (10, 9)
    with pytest.raises(ValueError, match="metric"):
        KNNGraph(metric="manhattan").fit(X)
    with pytest.raises(ValueError, match="all-zero rows"):
        KNNGraph(n_neighbors=2, metric="cosine").fit(np.vstack([X, np.zeros(3)]))
    g = KNNGraph(n_neighbors=3).fit(X)
    with pytest.raises(ValueError, match="is expecting 3 features"):
        g.kneighbors(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Reshape your data"):
        g.kneighbors(np.zeros(3))
    with pytest.raises(ValueError, match="must be smaller"):
        g.kneighbors(None, n_neighbors=10)


@parametrize_with_checks([KNNGraph(), KNNGraph(n_neighbors=5, backend="exact"),
                          KNNGraph(n_neighbors=5, backend="faiss", random_state=0)])
def test_sklearn_compatible(estimator, check, monkeypatch):
    # Enables scikit-learn's array-API check with NumPy inputs instead of skipping it.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_sampled_bridges_of_large_components_are_near_the_shortest(monkeypatch):
    import graphmoe.graph.components as comp

    rng = np.random.default_rng(5)
    centers = rng.uniform(-30, 30, size=(4, 10))
    X = np.vstack([c + rng.normal(size=(700, 10)) for c in centers])  # 4 components of 700
    groups = np.repeat(np.arange(4), 700)
    exact = KNNGraph(n_neighbors=5, backend="exact").fit(X)
    monkeypatch.setattr(comp, "EXACT_BRIDGE_PAIRS", 0)   # every large component sampled
    monkeypatch.setattr(comp, "_BRIDGE_SAMPLE", 50)
    sampled = KNNGraph(n_neighbors=5, backend="exact").fit(X)
    assert sampled.n_components_ == 4
    assert connected_components(sampled.graph_, directed=False)[0] == 1

    def bridges(g):
        coo = g.graph_.tocoo()
        cross = groups[coo.row] != groups[coo.col]
        return np.sort(np.unique(coo.data[cross]))

    # Each added edge joins two groups and is a real distance between them.
    coo = sampled.graph_.tocoo()
    cross = np.flatnonzero(groups[coo.row] != groups[coo.col])
    np.testing.assert_allclose(coo.data[cross],
                               np.linalg.norm(X[coo.row[cross]] - X[coo.col[cross]], axis=1))
    # A sample of 50 of 700 members, then refinement: the bridges' total length is
    # within 5 % of the exact (shortest-edge) ones.
    assert bridges(sampled).sum() <= 1.05 * bridges(exact).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_pair_distances_match_numpy(dtype, monkeypatch):
    import graphmoe.graph._index as index

    rng = np.random.default_rng(6)
    X = (rng.normal(size=(300, 40)) * 1e3).astype(dtype)
    ind = rng.integers(0, 300, size=(120, 9))
    ind[:, 0] = np.arange(120)                      # a point and itself: exactly 0
    compiled = index.pair_distances(X[:120], X, ind)
    monkeypatch.setattr(index, "_KERNEL_DTYPES", ())
    reference = index.pair_distances(X[:120], X, ind)
    assert compiled.dtype == np.float64
    assert np.all(compiled[:, 0] == 0.0)
    np.testing.assert_allclose(compiled, reference, rtol=1e-12)
    expected = np.linalg.norm(X[:120, None, :].astype(np.float64) - X[ind].astype(np.float64),
                              axis=2)
    np.testing.assert_allclose(compiled, expected, rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_ties_are_ordered_by_index_on_any_thread_count(metric):
    """Integer data have many equal distances: ties go to the lower index, and the graph
    is the same with one BLAS thread or two (BLAS products once reordered them)."""
    from threadpoolctl import threadpool_limits

    X = np.random.default_rng(7).integers(0, 3, size=(600, 12)).astype(np.float64)
    X[:, 0] += 1.0  # no all-zero row (cosine)
    graphs = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            graphs.append(KNNGraph(n_neighbors=10, metric=metric, backend="exact").fit(X))
    g = graphs[0]
    np.testing.assert_array_equal(g.indices_, graphs[1].indices_)
    ind, dist = _brute_knn(X, 10, metric)
    np.testing.assert_allclose(g.distances_, dist, atol=1e-12)
    same = np.diff(g.distances_, axis=1) == 0
    assert same.mean() > 0.1, "the data should have many ties"
    assert np.all(np.diff(g.indices_, axis=1)[same] > 0), "ties not ordered by index"
    if metric == "euclidean":  # integer data: float64 distances are exact, so ties are ties
        np.testing.assert_array_equal(g.indices_, ind)  # brute force sorts ties by index
        Y = X[:25] + 0.5
        i_q = g.kneighbors(Y, n_neighbors=6, return_distance=False)
        np.testing.assert_array_equal(i_q, np.argsort(cdist(Y, X), axis=1, kind="stable")[:, :6])


def test_exact_search_with_a_large_group_of_duplicates():
    """A tie longer than the spare candidates (300 equal rows) stops the re-search at its cap."""
    X = np.random.default_rng(8).normal(size=(1000, 2))
    X[:300] = 0.0
    g = KNNGraph(n_neighbors=10, backend="exact").fit(X)
    assert np.all(g.distances_[:300] == 0.0)
    assert np.all((g.indices_[:300] < 300) & (g.indices_[:300] != np.arange(300)[:, None]))
    _, dist = _brute_knn(X, 10)
    np.testing.assert_allclose(g.distances_, dist, atol=1e-12)
