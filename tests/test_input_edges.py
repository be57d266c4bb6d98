"""The edges of the input space: huge and tiny values, column names, float32 copies."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from graphmoe import ConnectivityClustering, GraphMoERegressor, KNNGraph, datasets
from graphmoe.embed import AutoEncoder


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(90, centers=3, cluster_std=0.4, random_state=0)
    return X, y


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_values_whose_squares_overflow_are_refused(blobs, scale):
    X, y = blobs
    for est in (KNNGraph(), ConnectivityClustering(), AutoEncoder(epochs=1)):
        with pytest.raises(ValueError, match="Rescale X"):
            est.fit(X * scale)
    with pytest.raises(ValueError, match="Rescale X"):
        GraphMoERegressor(epochs=1).fit(X * scale, y)


def test_huge_queries_and_targets_are_refused_not_nan(blobs):
    X, y = blobs
    cc = ConnectivityClustering(min_cluster_size=10).fit(X)
    with pytest.raises(ValueError, match="values up to 1e\\+200"):
        cc.predict_proba([[1e200, 0.0]])
    with pytest.raises(ValueError, match="Rescale y"):
        GraphMoERegressor(epochs=1).fit(X, y * 1e200)


@pytest.mark.parametrize("method", ["hdbscan", "mst"])
@pytest.mark.parametrize("scale", [1e140, 1e-140, 1e-13])
def test_clustering_is_scale_equivariant_up_to_the_limits(blobs, method, scale):
    # 1e154 used to give ARI 0.62 with 108 infinite distances; accepted scales must not.
    X, _ = blobs
    ref = ConnectivityClustering(method=method, min_cluster_size=10).fit(X)
    scaled = ConnectivityClustering(method=method, min_cluster_size=10).fit(X * scale)
    assert ref.n_clusters_ == 3
    assert adjusted_rand_score(ref.labels_, scaled.labels_) == 1.0
    assert np.isfinite(scaled.predict_proba(X[:5] * scale)).all()


def test_embedder_does_not_collapse_tiny_data(blobs):
    # the constant-feature floor was an absolute 1e-12: data at 1e-13 became all-constant
    X, _ = blobs
    ref = AutoEncoder(epochs=3, random_state=0).fit(X).transform(X)
    tiny = AutoEncoder(epochs=3, random_state=0).fit(X * 1e-13).transform(X * 1e-13)
    np.testing.assert_allclose(tiny, ref, rtol=1e-4, atol=1e-4)
    constant = np.column_stack([X, np.full(len(X), 5.0)])
    assert AutoEncoder(epochs=1).fit(constant).scale_[-1] == 1.0


@pytest.mark.parametrize("make", [
    lambda: KNNGraph(n_neighbors=5),
    lambda: ConnectivityClustering(min_cluster_size=10),
    lambda: AutoEncoder(epochs=1),
    lambda: GraphMoERegressor(epochs=1),
], ids=["knn", "cc", "ae", "moe"])
def test_feature_names_are_recorded_and_checked(blobs, make):
    X, y = blobs
    frame = pd.DataFrame(X, columns=["a", "b"])
    est = make()
    est.fit(frame, y) if isinstance(est, GraphMoERegressor) else est.fit(frame)
    assert list(est.feature_names_in_) == ["a", "b"]
    answer = {KNNGraph: "kneighbors", AutoEncoder: "transform"}.get(type(est), "predict")
    getattr(est, answer)(frame)  # the same columns are fine
    with pytest.raises(ValueError, match="feature names should match"):
        getattr(est, answer)(frame[["b", "a"]])


@pytest.mark.parametrize("method", ["hdbscan", "mst"])
def test_training_rows_rounded_through_float32_keep_their_labels(method):
    # was 84 % (hdbscan, interleaved spirals): the row lookup needed exact equality
    X, _ = datasets.make_interleaved_spirals(n_per_arm=200, random_state=0)
    cc = ConnectivityClustering(method=method, random_state=0).fit(X)
    rounded = X.astype(np.float32).astype(np.float64)
    assert (rounded != X).any()
    np.testing.assert_array_equal(cc.predict(rounded), cc.labels_)
    np.testing.assert_array_equal(cc.predict(X.astype(np.float32)), cc.labels_)


def test_default_parameters_work_on_small_data():
    X = np.random.default_rng(0).normal(size=(8, 2))
    with pytest.warns(UserWarning, match="using 7"):
        g = KNNGraph().fit(X)
    assert g.indices_.shape == (8, 7)
    with pytest.warns(UserWarning):
        cc = ConnectivityClustering().fit(X)
    np.testing.assert_array_equal(cc.predict(X), cc.labels_)
