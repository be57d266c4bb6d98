"""Property-based tests: every public estimator on generated arrays (hypothesis).

Arrays come in six families -- ordinary finite values at scales from 1e-13
to 1e6, huge (1e200) and tiny (1e-300) values, duplicated rows, constant
columns, and mixed dtypes (integer, float32, DataFrames of int and float
columns) -- and each estimator must either refuse the input with a clear
``ValueError`` / ``TypeError`` or give a correct result:

* ``predict(X_train) == labels_`` and ``predict_proba`` rows sum to 1;
* labels do not depend on the order of the rows (up to renaming);
* outputs are finite and shaped as documented;
* ``graphmoe.load(graphmoe.save(est))`` answers identically.

The budget is bounded (154 cases, tiny networks): about 30 s in all.
Run with ``--hypothesis-show-statistics`` to see how many cases ran.
"""
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import graphmoe  # noqa: E402
from graphmoe import (ConnectivityClustering, GraphMoEClassifier,  # noqa: E402
                      GraphMoERegressor, KNNGraph)
from graphmoe.embed import DMVAE, VAE, AutoEncoder, VaDE  # noqa: E402

KINDS = ("finite", "huge", "tiny", "duplicated", "constant-column", "mixed-dtypes")
#: refused families need fewer cases than the ones that must give correct results
WEIGHTED_KINDS = ("finite",) * 3 + ("duplicated", "constant-column", "mixed-dtypes") * 2 \
    + ("huge", "tiny")
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


@st.composite
def datasets_(draw, kinds=WEIGHTED_KINDS, min_rows=8, max_rows=40):
    """``(X, kind)``: X of one family; the values come from a drawn seed."""
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centers = rng.normal(0, 4, size=(3, d))
    X = centers[rng.integers(0, 3, n)] + rng.normal(size=(n, d))
    if kind == "finite":
        X = X * draw(st.sampled_from([1e-13, 1e-6, 1.0, 1e6]))
    elif kind == "huge":
        X = X * 1e200
    elif kind == "tiny":
        X = X * 1e-300
    elif kind == "duplicated":
        X = X[rng.integers(0, max(2, n // 3), n)]  # many exact copies
    elif kind == "constant-column":
        X[:, rng.integers(0, d)] = draw(st.sampled_from([0.0, 3.5, -1e5]))
    else:
        X = _mixed(X, draw(st.sampled_from(["int", "float32", "frame"])))
    return X, kind


def _mixed(X, how):
    if how == "int":
        return np.round(X * 10).astype(np.int32)
    if how == "float32":
        return X.astype(np.float32)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    frame["c0"] = np.round(frame["c0"] * 10).astype(np.int64)
    return frame


def _fit_or_refuse(est, X, kind, *args):
    """Fit; huge/tiny must be refused with the rescaling message, nothing else may fail."""
    event(kind)  # tallied by --hypothesis-show-statistics
    if kind in ("huge", "tiny"):
        with pytest.raises(ValueError, match="Rescale X"):
            est.fit(X, *args)
        return None
    return est.fit(X, *args)


def _round_trip(est, tmp_path):
    path = tmp_path / "model.gmoe"
    graphmoe.save(est, path)
    return graphmoe.load(path)


def _as_array(X):
    return np.asarray(X, dtype=np.float64)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("method", ["hdbscan", "mst"])
@settings(max_examples=30, **SETTINGS)
@given(data=datasets_())
def test_clustering_invariants(method, data, tmp_path):
    X, kind = data
    cc = _fit_or_refuse(ConnectivityClustering(method=method, min_cluster_size=4,
                                               n_neighbors=5, random_state=0), X, kind)
    if cc is None:
        return
    n = len(X)
    assert cc.labels_.shape == (n,) and cc.labels_.max() < cc.n_clusters_
    np.testing.assert_array_equal(cc.predict(X), cc.labels_)
    proba = cc.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    Xa = _as_array(X)
    same = (Xa[:, None, :] == Xa[None, :, :]).all(axis=2)
    assert (cc.labels_[:, None] == cc.labels_[None, :])[same].all()  # copies share a label
    order = np.random.default_rng(n).permutation(n)
    permuted = ConnectivityClustering(method=method, min_cluster_size=4, n_neighbors=5,
                                      random_state=0).fit(Xa[order])
    assert adjusted_rand_score(cc.labels_[order], permuted.labels_) == 1.0
    loaded = _round_trip(cc, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=30, **SETTINGS)
@given(data=datasets_(), k=st.integers(1, 20))
def test_knn_graph_invariants(data, k, tmp_path):
    X, kind = data
    g = _fit_or_refuse(KNNGraph(n_neighbors=k, backend="exact"), X, kind)
    if g is None:
        return
    n = len(X)
    k_used = min(k, n - 1)
    assert g.indices_.shape == (n, k_used)
    assert np.isfinite(g.distances_).all() and (np.diff(g.distances_, axis=1) >= 0).all()
    assert (g.graph_ != g.graph_.T).nnz == 0 and g.graph_.diagonal().sum() == 0
    Xa = _as_array(X)
    own = g.indices_ == np.arange(n)[:, None]
    assert not own.any()  # a point is never its own neighbour
    loaded = _round_trip(g, tmp_path)
    for a, b in zip(loaded.kneighbors(Xa[:5]), g.kneighbors(Xa[:5])):
        np.testing.assert_array_equal(a, b)


EMBEDDERS = [AutoEncoder, VAE, VaDE, DMVAE]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cls", EMBEDDERS, ids=lambda c: c.__name__)
@settings(max_examples=8, **SETTINGS)
@given(data=datasets_(min_rows=12, max_rows=30))
def test_embedder_invariants(cls, data, tmp_path):
    X, kind = data
    params = dict(epochs=2, n_components=2, random_state=0, hidden_dims=(8,))
    if "pretrain_epochs" in cls().get_params():
        params["pretrain_epochs"] = 1
    if "n_clusters" in cls().get_params():
        params["n_clusters"] = 2
    est = _fit_or_refuse(cls(**params), X, kind)
    if est is None:
        return
    Z = est.transform(X)
    assert Z.shape == (len(X), 2) and np.isfinite(Z).all()
    np.testing.assert_array_equal(_round_trip(est, tmp_path).transform(X), Z)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("gate", ["graph", "dmvae", "softmax", "kmeans"])
@settings(max_examples=8, **SETTINGS)
@given(data=datasets_(min_rows=12, max_rows=30), classify=st.booleans())
def test_moe_invariants(gate, data, classify, tmp_path):
    X, kind = data
    rng = np.random.default_rng(len(X))
    cls = GraphMoEClassifier if classify else GraphMoERegressor
    y = rng.integers(0, 2, len(X)) if classify else rng.normal(size=len(X))
    est = _fit_or_refuse(cls(gate=gate, n_experts=2, epochs=2, hidden_dims=(8,),
                             gate_params={"distill_epochs": 2} if gate == "dmvae" else None,
                             random_state=0), X, kind, y)
    if est is None:
        return
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    experts, weights = est.route(X)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert experts.min() >= 0 and experts.max() < est.n_experts_
    if classify:
        proba = est.predict_proba(X)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        assert set(np.unique(pred)) <= set(est.classes_)
    else:
        assert np.isfinite(pred).all()
    np.testing.assert_array_equal(_round_trip(est, tmp_path).predict(X), pred)
