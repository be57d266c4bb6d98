"""Tree routines against references: EOM vs hdbscan, Genie vs a naive Genie, k-cluster cuts."""
import numpy as np
import pytest
from hdbscan._hdbscan_tree import compute_stability, condense_tree, get_clusters

from graphmoe.cluster import (condensed_tree, labels_from_selection, propagate_labels,
                              select_eom, select_n_clusters, single_linkage_tree)
from graphmoe.cluster.genie import genie_merge_order, monotone_heights
from graphmoe.cluster.selection import select_top_splits
from graphmoe.graph import KNNGraph, core_distances, minimum_spanning_edges, \
    mutual_reachability_graph


def _mst(X, min_samples=5, k=10):
    g = KNNGraph(n_neighbors=k, backend="exact").fit(X)
    core = core_distances(g.distances_, min_samples)
    return minimum_spanning_edges(mutual_reachability_graph(g.graph_, core, g.floor_))


@pytest.fixture(scope="module")
def blob_mst():
    rng = np.random.default_rng(0)
    centers = rng.uniform(-10, 10, size=(6, 2))
    scales, sizes = [0.3, 0.5, 1, 0.4, 0.8, 0.6], [60, 90, 120, 40, 70, 50]
    X = np.vstack([c + rng.normal(scale=s, size=(m, 2)) for c, s, m in zip(centers, scales, sizes)])
    X = np.vstack([X, rng.uniform(-12, 12, size=(40, 2))])
    return _mst(X)


@pytest.mark.parametrize("min_cluster_size", [5, 15, 40])
def test_eom_selection_matches_hdbscan_get_clusters(blob_mst, min_cluster_size):
    linkage = single_linkage_tree(blob_mst)
    tree = condensed_tree(linkage, min_cluster_size)
    ours = labels_from_selection(tree.parent, select_eom(tree.parent, tree.stability),
                                 tree.point_node)
    raw = condense_tree(linkage, min_cluster_size)
    ref = get_clusters(raw, compute_stability(raw))[0]
    np.testing.assert_array_equal(ours, ref)


def test_condensed_arrays_are_consistent(blob_mst):
    tree = condensed_tree(single_linkage_tree(blob_mst), 10)
    n = blob_mst.shape[0] + 1
    assert tree.parent[0] == -1 and np.all(tree.parent[1:] < np.arange(1, tree.parent.size))
    assert tree.size[0] == n and np.all(tree.lambda_birth[1:] > 0)
    # children are born when their parent dies, both at least min_cluster_size big
    for node, kids in enumerate(tree.children):
        assert len(kids) in (0, 2)
        if kids:
            assert tree.lambda_birth[kids[0]] == tree.lambda_birth[kids[1]]
            assert sum(tree.size[kids]) <= tree.size[node] and min(tree.size[kids]) >= 10
    # a sample falls out of its node no earlier than the node is born
    assert np.all(tree.point_lambda >= tree.lambda_birth[tree.point_node] - 1e-12)


def test_n_clusters_selection_is_an_antichain_of_the_right_size(blob_mst):
    tree = condensed_tree(single_linkage_tree(blob_mst), 10)
    for k in (1, 2, 4, 6):
        sel = select_n_clusters(tree.parent, tree.stability, k)
        assert sel.size == k
        labels = labels_from_selection(tree.parent, sel, tree.point_node)
        assert set(np.unique(labels)) <= set(range(-1, k))
        for a in sel:  # no selected node lies below another
            node = tree.parent[a]
            while node >= 0:
                assert node not in sel
                node = tree.parent[node]
    with pytest.warns(UserWarning, match="at most"):
        assert select_n_clusters(tree.parent, tree.stability, 500).size < 500


def _naive_genie(edges, n, threshold):
    """Reference Genie: recompute sizes and the Gini index from scratch at every step."""
    label = np.arange(n)
    used = np.zeros(len(edges), dtype=bool)
    order = []
    for _ in range(n - 1):
        sizes = np.bincount(label)[np.unique(label)]
        k = sizes.size
        gini = np.abs(sizes[:, None] - sizes[None, :]).sum() / 2 / ((k - 1) * n)
        candidates = np.flatnonzero(~used)
        if gini > threshold:
            smallest = sizes.min()
            size_of = np.bincount(label)
            candidates = [e for e in candidates
                          if min(size_of[label[int(edges[e, 0])]],
                                 size_of[label[int(edges[e, 1])]]) == smallest]
        e = candidates[0]
        used[e] = True
        order.append(e)
        a, b = label[int(edges[e, 0])], label[int(edges[e, 1])]
        label[label == a] = b
    return np.array(order)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.7, 1.0])
def test_genie_order_matches_naive_reference(threshold):
    X = np.random.default_rng(1).normal(size=(150, 2))
    edges = _mst(X, min_samples=0)
    np.testing.assert_array_equal(genie_merge_order(edges, threshold),
                                  _naive_genie(edges, 150, threshold))
    if threshold == 1.0:  # Gini never exceeds 1: plain single linkage (Kruskal order)
        np.testing.assert_array_equal(genie_merge_order(edges, threshold), np.arange(149))


def test_monotone_heights_make_a_valid_dendrogram():
    X = np.random.default_rng(2).normal(size=(120, 2))
    edges = _mst(X, min_samples=0)
    link = monotone_heights(single_linkage_tree(edges[genie_merge_order(edges, 0.3)]))
    n = 120
    for r, (a, b, h, _) in enumerate(link):
        for c in (int(a), int(b)):
            if c >= n:
                assert link[c - n, 2] <= h


def test_propagation_cuts_only_between_labelled_parts(blob_mst):
    tree = condensed_tree(single_linkage_tree(blob_mst), 10)
    sel = select_top_splits(tree.parent, tree.lambda_birth, 4)
    seeds = labels_from_selection(tree.parent, sel, tree.point_node)
    labels = propagate_labels(blob_mst, seeds)
    assert np.all(labels >= 0)
    np.testing.assert_array_equal(labels[seeds >= 0], seeds[seeds >= 0])
    # every cluster stays connected in the MST and exactly k - 1 MST edges are cut
    cut = labels[blob_mst[:, 0].astype(int)] != labels[blob_mst[:, 1].astype(int)]
    assert cut.sum() == 3
    # a forest inside a tree is connected iff it has one edge fewer than nodes
    kept = blob_mst[~cut, :2].astype(int)
    for c in range(4):
        assert np.sum(labels[kept[:, 0]] == c) == np.sum(labels == c) - 1
