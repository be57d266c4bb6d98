"""Consensus of several layouts' cuts (``ConnectivityClustering(n_layouts=...)``)."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from graphmoe import ConnectivityClustering, datasets
from graphmoe.cluster.consensus import consensus_labels, member_seeds


def _cliques(sizes, bridges):
    """Adjacency of cliques joined by ``bridges[(a, b)]`` edges between cliques a and b."""
    start = np.cumsum([0, *sizes])
    rows, cols = [], []
    for a, size in enumerate(sizes):
        i, j = np.triu_indices(size, 1)
        rows += list(start[a] + i)
        cols += list(start[a] + j)
    for (a, b), count in bridges.items():
        rows += list(start[a] + np.arange(count))
        cols += list(start[b] + np.arange(count))
    n = start[-1]
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return (adj + adj.T).tocoo()


def test_the_graph_settles_what_the_cuts_disagree_on():
    # cliques A, B, C, D; B is tied to C by 8 edges and to A by 1
    adj = _cliques([10, 10, 10, 10], {(0, 1): 1, (1, 2): 8, (2, 3): 1})
    part = np.repeat(np.arange(4), 10)
    first = np.array([0, 0, 1, 2])[part]   # B with A: against the graph
    second = np.array([0, 1, 1, 2])[part]  # B with C
    merged = consensus_labels([first, second], adj)
    # the meet (A, B, C, D) merges back to three clusters by the graph: B goes to C,
    # and the label ids are the first labelling's
    np.testing.assert_array_equal(merged, np.array([0, 1, 1, 2])[part])
    again = consensus_labels([second, first], adj)
    np.testing.assert_array_equal(again, merged)
    # cuts that agree come back unchanged
    np.testing.assert_array_equal(consensus_labels([first, first], adj), first)
    with pytest.raises(ValueError, match="without noise"):
        consensus_labels([first, np.where(part == 3, -1, second)], adj)


def test_member_seeds():
    assert member_seeds(None, 2) == [None, None]
    assert member_seeds(0, 3) == member_seeds(0, 3)
    assert len(set(member_seeds(0, 3))) == 3


def test_digits_with_three_layouts():
    X, y = datasets.load_digits()
    cc = ConnectivityClustering(n_clusters=10, n_layouts=3, random_state=0).fit(X)
    assert cc.n_clusters_ == 10
    # seeds 0-5: 0.926 / 0.927 / 0.928 / 0.903 / 0.928 / 0.927 (one layout: 0.898-0.940)
    assert adjusted_rand_score(y, cc.labels_) >= 0.90
    np.testing.assert_array_equal(cc.predict(X), cc.labels_)
    for i, node in enumerate(cc.hierarchy_.cluster_nodes):  # the hierarchy follows the vote
        np.testing.assert_array_equal(np.sort(cc.hierarchy_.members(node)),
                                      np.flatnonzero(cc.labels_ == i))
    with pytest.raises(ValueError, match="n_layouts"):
        ConnectivityClustering(n_layouts=0).fit(X)
