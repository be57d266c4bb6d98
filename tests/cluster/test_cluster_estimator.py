"""ConnectivityClustering: quality floors, agreement with hdbscan, prediction, membership."""
import hdbscan
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphmoe import ConnectivityClustering, datasets

METHODS = ["auto", "hdbscan", "mst"]


@pytest.mark.parametrize("method", METHODS)
def test_two_moons_floor(method):
    X, y = datasets.make_moons(2000, noise=0.06, random_state=0)
    cc = ConnectivityClustering(method=method, random_state=0).fit(X)
    assert adjusted_rand_score(y, cc.labels_) >= 0.99


@pytest.mark.parametrize("method", METHODS)
def test_pinwheel_floor(method):
    X, y = datasets.make_pinwheel_spirals(1000, random_state=0)
    cc = ConnectivityClustering(method=method, random_state=0).fit(X)
    assert adjusted_rand_score(y, cc.labels_) >= 0.99


def test_interleaved_spirals_floor_where_kmeans_fails():
    X, y = datasets.make_interleaved_spirals(400, noise=0.1, random_state=0)
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0).fit(X)
    assert adjusted_rand_score(y, cc.labels_) >= 0.90
    km = KMeans(5, n_init=4, random_state=0).fit_predict(X)
    assert adjusted_rand_score(y, km) < 0.1


def test_digits_floor_without_layout():
    X, y = datasets.load_digits()
    cc = ConnectivityClustering(method="mst", n_clusters=10, layout="off", random_state=0).fit(X)
    assert cc.n_clusters_ == 10
    assert adjusted_rand_score(y, cc.labels_) >= 0.75


@pytest.mark.parametrize("data", ["blobs", "moons"])
def test_agrees_with_hdbscan_library(data):
    if data == "blobs":
        X, _ = make_blobs(1500, centers=4, cluster_std=[0.5, 1, 1.5, 0.8], random_state=0)
    else:
        X, _ = datasets.make_moons(2000, noise=0.06, random_state=0)
    for mcs, ms in [(15, None), (25, 10)]:
        ref = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms).fit_predict(X)
        ours = ConnectivityClustering("hdbscan", min_cluster_size=mcs,
                                      min_samples=ms).fit(X).labels_
        assert adjusted_rand_score(ref, ours) >= 0.95
        assert abs((ref < 0).mean() - (ours < 0).mean()) < 0.02


@pytest.fixture(scope="module", params=METHODS)
def noisy_blobs(request):
    X, _ = make_blobs(600, centers=3, cluster_std=1.0, random_state=1)
    X = np.vstack([X, np.random.default_rng(0).uniform(-15, 15, size=(60, 2)), X[:5]])
    return X, ConnectivityClustering(method=request.param, min_cluster_size=20,
                                     random_state=0).fit(X)


def test_predict_on_training_data_is_exact(noisy_blobs):
    X, cc = noisy_blobs
    np.testing.assert_array_equal(cc.predict(X), cc.labels_)
    np.testing.assert_array_equal(cc.fit_predict(X), cc.labels_)
    np.testing.assert_allclose(cc.predict_proba(X), cc.membership_.toarray())
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(cc.predict(X[perm]), cc.labels_[perm])
    # duplicate rows (the last 5 copy the first 5) share a label
    np.testing.assert_array_equal(cc.labels_[-5:], cc.labels_[:5])


def test_membership_is_a_soft_version_of_labels(noisy_blobs):
    X, cc = noisy_blobs
    M = cc.membership_
    assert M.shape == (len(X), cc.n_clusters_ + 1) and M.format == "csr"
    np.testing.assert_allclose(np.asarray(M.sum(axis=1)).ravel(), 1.0)
    dense = M.toarray()
    clustered = cc.labels_ >= 0
    np.testing.assert_array_equal(dense[clustered, :-1].argmax(axis=1), cc.labels_[clustered])
    if cc.method_ == "mst":
        assert np.all(cc.labels_ >= 0) and np.all(dense[:, -1] == 0)
    else:
        assert np.all(dense[~clustered].argmax(axis=1) == cc.n_clusters_)
    # interior points are confident, so the membership is not uniform
    assert np.median(dense.max(axis=1)) > 0.9


def test_new_points_follow_connectivity(noisy_blobs):
    X, cc = noisy_blobs
    rng = np.random.default_rng(3)
    core = np.flatnonzero(cc.labels_ >= 0)[:200]
    near = X[core] + rng.normal(scale=0.05, size=(core.size, 2))
    assert (cc.predict(near) == cc.labels_[core]).mean() >= 0.98
    proba = cc.predict_proba(near)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = cc.predict(near)
    top = proba.argmax(axis=1)
    np.testing.assert_array_equal(np.where(top == cc.n_clusters_, -1, top), pred)
    far = np.array([[200.0, 200.0], [-300.0, 50.0]])
    expected = -1 if cc.method_ == "hdbscan" else None
    if expected == -1:
        assert np.all(cc.predict(far) == -1)
    else:
        assert np.all(cc.predict(far) >= 0)


@pytest.mark.parametrize("method", METHODS)
def test_n_clusters_is_honoured(method):
    X, _ = make_blobs(500, centers=5, cluster_std=0.5, center_box=(-30, 30), random_state=2)
    for k in (2, 5):
        assert ConnectivityClustering(method=method, n_clusters=k).fit(X).n_clusters_ == k
    with pytest.warns(UserWarning, match="at most"):
        cc = ConnectivityClustering(method=method, n_clusters=200).fit(X)
    assert cc.n_clusters_ < 200


def test_one_blob_and_tiny_data():
    X = np.random.default_rng(0).normal(size=(40, 2))
    cc = ConnectivityClustering("hdbscan", min_cluster_size=30, n_neighbors=5)
    assert cc.fit(X).n_clusters_ == 0
    cc = ConnectivityClustering("hdbscan", min_cluster_size=30, n_neighbors=5,
                                allow_single_cluster=True).fit(X)
    assert cc.n_clusters_ == 1
    cc = ConnectivityClustering(method="mst", min_cluster_size=2, n_neighbors=1).fit(X[:3])
    assert cc.labels_.shape == (3,) and np.all(cc.labels_ >= 0)


def test_bad_input(bad_input):
    X, error, match = bad_input
    with pytest.raises(error, match=match):
        ConnectivityClustering(min_cluster_size=2, n_neighbors=1).fit(X)


def test_bad_sizes_and_predict_input():
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.warns(UserWarning, match="n_neighbors=30 is not smaller .* using 29"):
        assert ConnectivityClustering(n_neighbors=30, min_cluster_size=5).fit(X) \
            .knn_.indices_.shape == (30, 29)
    with pytest.warns(UserWarning, match="min_cluster_size=31 is larger .* using 30"):
        cc = ConnectivityClustering(method="hdbscan", n_neighbors=5, min_cluster_size=31).fit(X)
    assert cc.n_clusters_ == 0 and cc.min_cluster_size == 31  # the parameter is untouched
    with pytest.raises(ValueError, match="min_samples=30 must be smaller"):
        ConnectivityClustering(n_neighbors=5, min_cluster_size=5, min_samples=30).fit(X)
    with pytest.raises(ValueError, match="method"):
        ConnectivityClustering(method="kmeans").fit(X)
    cc = ConnectivityClustering(n_neighbors=5, min_cluster_size=5).fit(X)
    with pytest.raises(ValueError, match="expecting 3 features"):
        cc.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Reshape your data"):
        cc.predict(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        cc.predict_proba(np.full((1, 3), np.nan))


@parametrize_with_checks([
    ConnectivityClustering(),
    ConnectivityClustering(method="mst"),
    ConnectivityClustering(n_neighbors=5, min_cluster_size=5),
    ConnectivityClustering(method="hdbscan", n_neighbors=5, min_cluster_size=5),
    ConnectivityClustering(method="mst", n_neighbors=5, min_cluster_size=5),
])
def test_sklearn_compatible(estimator, check, monkeypatch):
    # The checks use 10-50 samples: the defaults (15) are clipped to the data
    # with a warning, the small instances exercise real neighbourhoods.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_progress_bar_only_when_verbose(capsys):
    X, _ = make_blobs(200, centers=2, random_state=0)
    ConnectivityClustering(n_neighbors=5, min_cluster_size=10).fit(X)
    assert capsys.readouterr().err == ""
    ConnectivityClustering(n_neighbors=5, min_cluster_size=10, verbose=True).fit(X)
    assert "ConnectivityClustering" in capsys.readouterr().err
