"""method="auto" with a given number: HDBSCAN and MST cuts at several Gini thresholds, one MST."""
import numpy as np
import pytest

from graphmoe import ConnectivityClustering, datasets
from graphmoe.cluster.method_choice import AUTO_GINI
from graphmoe.cluster.modularity import partition_modularity


@pytest.fixture(scope="module")
def spirals():
    X, y = datasets.make_interleaved_spirals(n_per_arm=200, noise=0.1, random_state=2)
    return X, y


def test_auto_keeps_the_candidate_of_largest_modularity(spirals):
    X, _ = spirals
    auto = ConnectivityClustering(n_clusters=5, random_state=0).fit(X)
    assert auto.method_ in ("mst", "hdbscan") and set(auto.method_scores_) == {"mst", "hdbscan"}
    kept = partition_modularity(auto.knn_.graph_, auto.labels_)
    assert kept == pytest.approx(max(auto.method_scores_.values()))
    # every single segmenter it tried scores no higher
    for gini in (0.2, *AUTO_GINI):
        single = ConnectivityClustering("mst", n_clusters=5, gini_threshold=gini,
                                        random_state=0).fit(X)
        assert single.gini_threshold_ == gini
        assert partition_modularity(single.knn_.graph_, single.labels_) <= kept + 1e-12
    if auto.method_ == "mst":
        assert auto.gini_threshold_ in (0.2, *AUTO_GINI)
        assert auto.split_order_ in ("merge", "modularity")
    if auto.method_ == "mst" and auto.split_order_ == "merge":
        same = ConnectivityClustering("mst", n_clusters=5, gini_threshold=auto.gini_threshold_,
                                      random_state=0).fit(X)
        np.testing.assert_array_equal(same.labels_, auto.labels_)


def test_auto_without_a_number_tries_only_the_users_gini(spirals):
    X, _ = spirals
    auto = ConnectivityClustering(random_state=0).fit(X)
    assert auto.gini_threshold_ in (None, 0.2)
    hd = ConnectivityClustering("hdbscan", n_clusters=5, random_state=0).fit(X)
    assert hd.gini_threshold_ is None
