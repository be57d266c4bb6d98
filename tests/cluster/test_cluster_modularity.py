"""Modularity criterion of ``method="auto"``: cross-checked with networkx, and the choice it makes."""
import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.community import modularity as nx_modularity
from sklearn.metrics import adjusted_rand_score

from graphmoe import ConnectivityClustering, KNNGraph, datasets
from graphmoe.cluster.modularity import partition_modularity


def _graph_and_labels(seed):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, 1.0, size=(40, 3)) for c in (0, 6, 12)])
    G = KNNGraph(n_neighbors=6, backend="exact").fit(X).graph_
    labels = np.repeat(np.arange(3), 40)
    labels[rng.choice(labels.size, 10, replace=False)] = -1
    return G, labels


@pytest.mark.parametrize("seed", [0, 1])
def test_modularity_matches_networkx(seed):
    G, labels = _graph_and_labels(seed)
    nxg = nx.Graph()
    nxg.add_nodes_from(range(G.shape[0]))
    coo = G.tocoo()
    nxg.add_edges_from((int(i), int(j)) for i, j in zip(coo.row, coo.col) if i != j)
    # noise samples are communities of their own
    communities = [set(np.flatnonzero(labels == c)) for c in range(3)]
    communities += [{int(i)} for i in np.flatnonzero(labels < 0)]
    assert partition_modularity(G, labels) == pytest.approx(nx_modularity(nxg, communities))


def test_modularity_prefers_the_true_partition_to_a_collapsed_one():
    G, labels = _graph_and_labels(0)
    truth = np.repeat(np.arange(3), 40)
    merged = np.where(truth == 2, 1, truth)
    assert partition_modularity(G, truth) > partition_modularity(G, merged) + 0.1
    # calling everything noise scores below any real partition
    assert partition_modularity(G, np.full(120, -1)) < 0 < partition_modularity(G, merged)


@pytest.mark.parametrize("n_clusters", [None, 5])
def test_auto_picks_the_mst_cut_on_interleaved_spirals(n_clusters):
    X, y = datasets.make_interleaved_spirals(300, noise=0.1, random_state=0)
    cc = ConnectivityClustering(n_clusters=n_clusters, random_state=0).fit(X)
    assert cc.method_ == "mst" and set(cc.method_scores_) == {"hdbscan", "mst"}
    assert cc.method_scores_["mst"] >= cc.method_scores_["hdbscan"]
    hdb = ConnectivityClustering("hdbscan", n_clusters=n_clusters, random_state=0).fit(X)
    assert adjusted_rand_score(y, cc.labels_) >= adjusted_rand_score(y, hdb.labels_) + 0.2
    single = ConnectivityClustering("mst", n_clusters=n_clusters, random_state=0).fit(X)
    assert single.method_scores_ == {}
    np.testing.assert_array_equal(single.labels_, cc.labels_)
