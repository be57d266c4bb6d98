"""GraphMoERegressor / GraphMoEClassifier: quality floors, routing consistency, bad input."""
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from graphmoe import datasets
from graphmoe.cluster import ConnectivityClustering
from graphmoe.moe import GraphMoEClassifier, GraphMoERegressor

# one torch thread: tiny networks gain nothing from more, and CI shares two cores
FAST = dict(epochs=25, batch_size=512, learning_rate=1e-2, random_state=0, num_threads=1)
ONE = dict(num_threads=1)


def _spiral_task(n_per_arm, seed, noise=0.1, kind="interleaved"):
    make = (datasets.make_interleaved_spirals if kind == "interleaved"
            else datasets.make_pinwheel_spirals)
    X, arm = make(n_per_arm, noise=noise, random_state=seed)
    Xt, armt = make(max(n_per_arm // 4, 20), noise=noise, random_state=seed + 100)
    _, (W, b) = datasets.make_affine_targets(X, arm, random_state=seed, return_params=True)
    target = lambda Z, a: np.einsum("nd,nd->n", Z, W[a][:, :, 0]) + b[a][:, 0]  # noqa: E731
    return X, target(X, arm), arm, Xt, target(Xt, armt), armt


@pytest.fixture(scope="module")
def interleaved():
    return _spiral_task(400, seed=0)  # 2,000 training points


@pytest.fixture(scope="module")
def graph_model(interleaved):
    X, y, *_ = interleaved
    return GraphMoERegressor(gate="graph", n_experts=5, **FAST).fit(X, y)


def test_graph_gate_beats_kmeans_gate_on_interleaved_spirals(interleaved, graph_model):
    X, y, _, Xt, yt, _ = interleaved
    kmeans = GraphMoERegressor(gate="kmeans", n_experts=5, **FAST).fit(X, y)
    mse_graph = np.mean((graph_model.predict(Xt) - yt) ** 2)
    mse_kmeans = np.mean((kmeans.predict(Xt) - yt) ** 2)
    assert mse_graph < 0.2 * mse_kmeans, (mse_graph, mse_kmeans)


def test_every_cluster_has_exactly_one_expert(graph_model):
    n_clusters = graph_model.clustering_.n_clusters_
    assert graph_model.n_experts_ == len(graph_model.experts_) == n_clusters
    assert sorted(graph_model.cluster_of_expert_.tolist()) == list(range(n_clusters))
    nodes = graph_model.expert_nodes_
    assert len(set(nodes.tolist())) == n_clusters
    assert set(nodes.tolist()) == set(np.asarray(graph_model.hierarchy_.cluster_nodes).tolist())


def test_route_of_training_points_agrees_with_the_hierarchy_labels(interleaved, graph_model):
    X = interleaved[0]
    experts, weights = graph_model.route(X)
    assert experts.shape == weights.shape == (len(X), 2)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    labels = graph_model.clustering_.labels_
    clustered = labels >= 0
    served = graph_model.cluster_of_expert_[experts[:, 0]]
    assert np.array_equal(served[clustered], labels[clustered])
    proba = graph_model.gate_proba(X[:50])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_history_logs_epochs_and_the_clustering(graph_model):
    events = [h["event"] for h in graph_model.history_]
    assert events[0] == "cluster" and events.count("epoch") == FAST["epochs"]
    losses = [h["task"] for h in graph_model.history_ if h["event"] == "epoch"]
    assert losses[-1] < losses[0]


def test_fit_is_reproducible():
    X, y, _, Xt, *_ = _spiral_task(60, seed=3, kind="pinwheel")
    kw = dict(gate="softmax", n_experts=3, epochs=3, random_state=7, **ONE)
    a = GraphMoERegressor(**kw).fit(X, y).predict(Xt)
    b = GraphMoERegressor(**kw).fit(X, y).predict(Xt)
    np.testing.assert_array_equal(a, b)


def test_hierarchical_gate_routes_like_the_hierarchy():
    X, y, arm, Xt, yt, _ = _spiral_task(80, seed=4, kind="pinwheel")
    model = GraphMoERegressor(hierarchical=True, n_experts=5, **FAST).fit(X, y)
    assert type(model.gate_).__name__ == "HierarchicalGate"
    served = model.cluster_of_expert_[model.route(X)[0][:, 0]]
    assert (served == model.clustering_.labels_).mean() > 0.95
    assert np.mean((model.predict(Xt) - yt) ** 2) < 0.05 * np.var(yt)


def test_oracle_and_label_gates_use_groups():
    X, y, arm, Xt, yt, armt = _spiral_task(60, seed=1, kind="pinwheel")
    oracle = GraphMoERegressor(gate="oracle", epochs=40, random_state=0, **ONE)
    oracle.fit(X, y, groups=arm)
    assert oracle.n_experts_ == 5
    assert np.mean((oracle.predict(Xt, groups=armt) - yt) ** 2) < 0.05 * np.var(yt)
    experts, _ = oracle.route(Xt, groups=armt)
    assert np.array_equal(experts[:, 0], armt)
    labels = GraphMoERegressor(gate="labels", epochs=2, random_state=0, **ONE)
    labels.fit(X, y, groups=arm)
    assert (labels.route(X)[0][:, 0] == arm).mean() > 0.95


def test_gnn_experts_and_dmvae_gate_fit_pinwheels():
    X, y, arm, Xt, yt, armt = _spiral_task(80, seed=2, kind="pinwheel")
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0)
    gnn = GraphMoERegressor(expert="gnn", hops=2, clustering=cc, **FAST).fit(X, y)
    assert np.mean((gnn.predict(Xt) - yt) ** 2) < 0.1 * np.var(yt)
    dm = GraphMoERegressor(gate="dmvae", clustering=cc, recluster_every=10,
                           gate_params={"distill_epochs": 20, "hidden_dims": (32,)},
                           **FAST).fit(X, y)
    events = [h["event"] for h in dm.history_]
    assert "recluster" in events
    assert dm.n_experts_ == len(dm.experts_) >= 1
    experts, weights = dm.route(Xt)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    # quality floor (measured 0.16 of the variance; a mean predictor scores 1.0) and
    # routing that follows the arms (measured ARI 0.37; random routing scores ~0)
    assert np.mean((dm.predict(Xt) - yt) ** 2) < 0.3 * np.var(yt)
    assert adjusted_rand_score(armt, experts[:, 0]) > 0.15


def test_classifier_on_digits_and_semi_supervised_labels():
    X, y = datasets.load_digits()
    rng = np.random.default_rng(0)
    test = rng.random(len(y)) < 0.3
    kw = dict(gate="softmax", n_experts=4, epochs=15, random_state=0, **ONE)
    clf = GraphMoEClassifier(**kw).fit(X[~test], y[~test])
    assert clf.score(X[test], y[test]) > 0.9
    proba = clf.predict_proba(X[test][:10])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    y_semi = y[~test].copy()
    y_semi[rng.random(len(y_semi)) > 0.1] = -1  # keep about 10% of the labels
    semi = GraphMoEClassifier(**kw).fit(X[~test], y_semi)
    assert semi.n_pseudo_labelled_ > 0.5 * (y_semi == -1).sum()
    assert semi.score(X[test], y[test]) > 0.85
    assert set(semi.classes_.tolist()) == set(range(10))


@pytest.mark.parametrize("bad_y, match", [
    (np.zeros(5), "rows but X has"),
    (np.r_[np.zeros(9), np.nan], "NaN or infinity"),
    (np.zeros((10, 2, 2)), "1-D or 2-D"),
])
def test_regressor_rejects_bad_targets(bad_y, match):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=match):
        GraphMoERegressor(gate="softmax", n_experts=2, **ONE).fit(X, bad_y)


def test_bad_input_is_named():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="at least 2 classes"):
        GraphMoEClassifier(gate="softmax", n_experts=2, **ONE).fit(X, np.ones(30))
    with pytest.raises(ValueError, match="NaN or infinity"):
        GraphMoEClassifier(gate="softmax", n_experts=2, **ONE).fit(X, np.r_[np.ones(29), np.inf])
    with pytest.raises(ValueError, match="needs group labels"):
        GraphMoERegressor(gate="labels", **ONE).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="needs n_experts"):
        GraphMoERegressor(gate="kmeans", **ONE).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        GraphMoERegressor(gate="softmax", n_experts=2, **ONE).fit(np.r_[X[:-1], [[np.nan, 0]]],
                                                                  X[:, 0])
    with pytest.raises(ValueError, match="gate"):
        GraphMoERegressor(gate="centroid", **ONE).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="hierarchical=True needs gate='graph'"):
        GraphMoERegressor(gate="dmvae", hierarchical=True, **ONE).fit(X, X[:, 0])
    with pytest.raises(NotFittedError):
        GraphMoERegressor().predict(X)
    with pytest.raises(NotFittedError):
        GraphMoEClassifier().predict_proba(X)
    model = GraphMoERegressor(gate="softmax", n_experts=2, epochs=1, **ONE).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((3, 5)))
