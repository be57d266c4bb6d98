"""Modularity criterion of ``method="auto"``: cross-checked with networkx, and the choice it makes."""
import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.community import modularity as nx_modularity
from sklearn.metrics import adjusted_rand_score

from graphmoe import ConnectivityClustering, KNNGraph, datasets
from graphmoe.cluster.method_choice import matched_agreement
from graphmoe.cluster.modularity import (merge_clusters, partition_modularity,
                                        refine_modularity, symmetric_adjacency)
from graphmoe.cluster.selection import select_best_splits


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


def test_local_moves_raise_modularity_and_keep_the_clusters():
    G, _ = _graph_and_labels(0)
    adjacency = symmetric_adjacency(G)
    truth = np.repeat(np.arange(3), 40)
    rng = np.random.default_rng(0)
    noisy = truth.copy()
    flipped = rng.choice(truth.size, 15, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 3
    noisy[:2] = -1  # noise neither moves nor attracts
    moved = refine_modularity(adjacency, noisy)
    assert partition_modularity(G, moved) > partition_modularity(G, noisy)
    assert np.array_equal(np.unique(moved[moved >= 0]), np.arange(3))
    assert (moved[:2] == -1).all() and (moved[2:] >= 0).all()
    # the flipped samples mostly go back to their own blob
    assert (moved[flipped] == truth[flipped]).mean() >= 0.8
    np.testing.assert_array_equal(refine_modularity(adjacency, noisy), moved)
    with pytest.raises(ValueError, match="adjacency has shape"):
        refine_modularity(adjacency, noisy[:-1])


def test_best_first_splits_follow_the_score():
    # root 0 -> (1, 2); 1 -> (3, 4); 2 -> (5, 6)
    parent = np.array([-1, 0, 0, 1, 1, 2, 2])
    prefers_two = lambda sel: float(5 in sel)  # noqa: E731
    np.testing.assert_array_equal(select_best_splits(parent, 3, prefers_two), [1, 5, 6])
    np.testing.assert_array_equal(select_best_splits(parent, 3, lambda sel: 0.0), [2, 3, 4])
    with pytest.warns(UserWarning, match="at most 4 clusters"):
        assert select_best_splits(parent, 6, lambda sel: 0.0).size == 4


def test_merging_halves_gives_back_the_blobs():
    G, _ = _graph_and_labels(0)
    adjacency = symmetric_adjacency(G)
    truth = np.repeat(np.arange(3), 40)
    halves = 2 * truth + (np.arange(120) % 2)  # each blob split in two interleaved halves
    halves[:3] = -1
    merged, mapping = merge_clusters(adjacency, halves, 3)
    assert adjusted_rand_score(truth[3:], merged[3:]) == 1.0
    assert (merged[:3] == -1).all() and mapping.shape == (6,)
    np.testing.assert_array_equal(merged[3:], mapping[halves[3:]])
    assert partition_modularity(G, merged) > partition_modularity(G, halves)
    # as many clusters as asked for or fewer: only relabelled
    same, _ = merge_clusters(adjacency, halves, 6)
    np.testing.assert_array_equal(same, halves)
    with pytest.raises(ValueError, match="adjacency has shape"):
        merge_clusters(adjacency, halves[:-1], 3)
    # label ids that no sample carries are no clusters: still 3 clusters from 6 parts
    gapped = np.where(halves >= 0, 2 * halves, -1)
    merged_gapped, mapping_gapped = merge_clusters(adjacency, gapped, 3)
    np.testing.assert_array_equal(merged_gapped, merged)
    assert (mapping_gapped[1::2] == -1).all()


def test_merging_many_parts_matches_the_greedy_definition():
    """The incrementally updated gain table merges exactly as recomputing every gain would."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4))
    adjacency = symmetric_adjacency(KNNGraph(n_neighbors=8, backend="exact").fit(X).graph_)
    labels = rng.integers(0, 40, size=600)
    merged, _ = merge_clusters(adjacency, labels, 5)
    reference = labels.copy()  # greedy by brute force: the merge of largest modularity
    while np.unique(reference).size > 5:
        ids = np.unique(reference)
        options = [(partition_modularity(None, np.where(reference == b, a, reference), adjacency),
                    -a, -b) for i, a in enumerate(ids) for b in ids[i + 1:]]
        _, a, b = max(options)
        reference = np.where(reference == -b, -a, reference)
    assert np.unique(merged).size == 5
    assert adjusted_rand_score(reference, merged) == 1.0


def test_matched_agreement():
    a = np.repeat(np.arange(3), 10)
    assert matched_agreement(a, (a + 1) % 3) == 1.0
    b = a.copy()
    b[:3] = 2
    assert matched_agreement(a, b) == pytest.approx(27 / 30)


def test_modularity_refuses_labels_of_another_length():
    G, labels = _graph_and_labels(0)
    with pytest.raises(ValueError, match="labels has 10 samples"):
        partition_modularity(G, labels[:10])
