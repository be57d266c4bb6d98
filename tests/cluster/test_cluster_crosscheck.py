"""Cluster-tree kernels against other implementations: hdbscan, genieclust, a Python union-find."""
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from graphmoe.cluster import (condensed_tree, labels_from_selection, propagate_labels,
                              select_eom, single_linkage_tree)
from graphmoe.cluster._tree import children_lists
from graphmoe.cluster.genie import genie_merge_order
from graphmoe.graph import KNNGraph, core_distances, minimum_spanning_edges, \
    mutual_reachability_graph


def _exact_mst(X, min_samples):
    """Mutual-reachability MST over the complete graph (what the hdbscan library builds)."""
    g = KNNGraph(n_neighbors=len(X) - 1, backend="exact").fit(X)
    core = core_distances(g.distances_, min_samples)
    return minimum_spanning_edges(mutual_reachability_graph(g.graph_, core, g.floor_))


def _blobs_with_noise(seed=0):
    rng = np.random.default_rng(seed)
    centers = ([0, 0, 0], [6, 0, 0], [0, 7, 0])
    X = [rng.normal(scale=s, size=(80, 3)) + c for c, s in zip(centers, (1.0, 0.6, 1.3))]
    return np.vstack(X + [rng.uniform(-5, 10, size=(20, 3))])


def _propagate_reference(mst_edges, seed_labels):
    """The former pure-Python propagate_labels, kept as the reference."""
    n = seed_labels.shape[0]
    parent = list(range(n))
    label = seed_labels.astype(np.int64).tolist()

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for i, j in mst_edges[:, :2].astype(np.int64).tolist():
        ri, rj = find(i), find(j)
        if label[ri] >= 0 and label[rj] >= 0 and label[ri] != label[rj]:
            continue
        parent[ri] = rj
        label[rj] = max(label[ri], label[rj])
    return np.array([label[find(a)] for a in range(n)], dtype=np.int64)


def _random_tree(n, rng):
    """A random spanning tree as weight-sorted edges (i, j, w)."""
    order = rng.permutation(n)
    attach = [rng.integers(k) for k in range(1, n)]
    edges = np.array([(order[k], order[a], rng.random()) for k, a in zip(range(1, n), attach)])
    return edges[np.argsort(edges[:, 2], kind="stable")]


@pytest.mark.parametrize("seed", range(5))
def test_numba_propagation_equals_python_union_find(seed):
    rng = np.random.default_rng(seed)
    n = 400
    edges = _random_tree(n, rng)
    seeds = np.full(n, -1)
    picked = rng.choice(n, size=int(rng.integers(1, 40)), replace=False)
    seeds[picked] = rng.integers(0, 6, size=picked.size)
    labels = propagate_labels(edges, seeds)
    np.testing.assert_array_equal(labels, _propagate_reference(edges, seeds))
    assert labels.dtype == np.int64 and np.all(labels[picked] == seeds[picked])


def test_propagation_rejects_edges_outside_the_samples():
    edges = _random_tree(20, np.random.default_rng(0))
    with pytest.raises(ValueError, match="outside 0..9"):
        propagate_labels(edges, np.full(10, -1))


@pytest.mark.parametrize("min_samples", [1, 5])
def test_condensed_tree_matches_hdbscan_library(min_samples):
    hdbscan = pytest.importorskip("hdbscan")
    X = _blobs_with_noise()
    lib = hdbscan.HDBSCAN(min_cluster_size=10, min_samples=min_samples,
                          algorithm="generic").fit(X)
    # hdbscan counts the point itself among its min_samples neighbours: 1 = plain distances
    mst = _exact_mst(X, min_samples=0 if min_samples == 1 else min_samples)
    tree = condensed_tree(single_linkage_tree(mst), 10)
    np.testing.assert_allclose(np.sort(mst[:, 2]),
                               np.sort(lib.single_linkage_tree_.to_numpy()[:, 2]))
    labels = labels_from_selection(tree.parent, select_eom(tree.parent, tree.stability),
                                   tree.point_node)
    assert np.unique(labels[labels >= 0]).size == 3
    if min_samples > 1:
        # core distances tie many MST edges, and the two MSTs break ties differently:
        # the same edge weights (above), nearly the same clusters
        assert adjusted_rand_score(labels, lib.labels_) >= 0.97
        return
    # the same clusters and noise (cluster numbers follow the sibling order, which may differ)
    np.testing.assert_array_equal(labels < 0, lib.labels_ < 0)
    assert adjusted_rand_score(labels, lib.labels_) == 1.0
    # same tree up to the numbering of sibling nodes: compare what does not depend on it
    ref, raw, n = lib.condensed_tree_.to_numpy(), tree.raw, len(X)
    assert len(raw) == len(ref)
    for rows in (raw, ref):
        rows.sort(order=["child_size", "lambda_val"])
    np.testing.assert_array_equal(raw["child_size"], ref["child_size"])
    np.testing.assert_allclose(raw["lambda_val"], ref["lambda_val"])
    ours_pts, ref_pts = np.sort(raw[raw["child"] < n], order="child"), \
        np.sort(ref[ref["child"] < n], order="child")
    np.testing.assert_allclose(ours_pts["lambda_val"], ref_pts["lambda_val"])
    assert adjusted_rand_score(ours_pts["parent"], ref_pts["parent"]) == 1.0


def _cut(edges, order, n, k):
    """Labels after the first n - k merges of ``order``."""
    parent = np.arange(n)

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for e in order[:n - k]:
        parent[find(int(edges[e, 0]))] = find(int(edges[e, 1]))
    return np.array([find(a) for a in range(n)])


@pytest.mark.parametrize("threshold", [0.1, 0.3, 1.0])
def test_genie_merge_order_matches_genieclust(threshold):
    # optional cross-check: genieclust is in the bench extra, not dev, so CI skips this
    genieclust = pytest.importorskip("genieclust")
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(100, 2)) * s + c
                   for c, s in (([0, 0], 1.0), ([6, 0], 0.5), ([0, 7], 1.5))])
    n = len(X)
    edges = _exact_mst(X, min_samples=0)
    order = genie_merge_order(edges, threshold)
    # genieclust's partitions into 1..30 clusters: the last 29 merges, in order
    ref = genieclust.Genie(n_clusters=30, gini_threshold=threshold, M=1, coarser=True).fit(X)
    for k in range(2, 31):
        ours = _cut(edges, order, n, k)
        assert np.unique(ours).size == k
        assert adjusted_rand_score(ours, ref.labels_matrix_[k - 1]) == 1.0


def test_children_lists_inverts_parent():
    parent = np.array([-1, 0, 0, 1, 1, 2, 4])
    kids = children_lists(parent)
    assert kids == [[1, 2], [3, 4], [5], [], [6], [], []]
    assert all(parent[c] == p for p, cs in enumerate(kids) for c in cs)
