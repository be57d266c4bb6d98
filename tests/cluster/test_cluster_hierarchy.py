"""ClusterHierarchy invariants on a fitted clustering: sizes, members, halo, levels, exports."""
import matplotlib
import numpy as np
import pytest

from graphmoe import ClusterHierarchy, ConnectivityClustering

matplotlib.use("Agg")


@pytest.fixture(scope="module", params=["hdbscan", "mst"])
def fitted(request):
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [12, 3]])
    X = np.vstack([c + rng.normal(scale=s, size=(m, 2))
                   for c, s, m in zip(centers, [0.5, 0.8, 0.6, 1.0, 0.4], [80, 120, 60, 100, 50])])
    return X, ConnectivityClustering(method=request.param, min_cluster_size=10,
                                     random_state=0).fit(X)


def test_sizes_and_members_nest(fitted):
    _, cc = fitted
    h = cc.hierarchy_
    assert h.size(h.root) == h.n_samples == len(cc.labels_)
    for node in range(h.n_nodes):
        kids = h.children(node)
        members = h.members(node)
        assert members.size == h.size(node) and np.all(np.diff(members) > 0)
        assert sum(h.size(c) for c in kids) <= h.size(node)
        for c in kids:
            assert h.parent(c) == node
            assert np.isin(h.members(c), members).all()
            assert h.birth_distance(c) <= h.birth_distance(node)


def test_cluster_nodes_hold_exactly_their_labels(fitted):
    _, cc = fitted
    h = cc.hierarchy_
    assert h.cluster_nodes.size == cc.n_clusters_
    for i, node in enumerate(h.cluster_nodes):
        np.testing.assert_array_equal(h.members(node), np.flatnonzero(cc.labels_ == i))
    np.testing.assert_array_equal(h.cluster_labels(), cc.labels_)


def test_halo_adds_graph_neighbours_outside(fitted):
    _, cc = fitted
    h, G = cc.hierarchy_, cc.graph_
    node = h.cluster_nodes[0]
    m0, m1, m2 = (h.members(node, halo=r) for r in (0, 1, 2))
    assert np.isin(m0, m1).all() and np.isin(m1, m2).all()
    assert m1.size > m0.size
    ring = np.setdiff1d(m1, m0)
    # every halo sample is one hop from a member, and every neighbour of a member is in the halo
    assert np.all(np.asarray(G[ring][:, m0].sum(axis=1)).ravel() > 0)
    assert np.isin(np.unique(G[m0].indices), m1).all()
    with pytest.raises(ValueError, match="halo"):
        h.members(node, halo=-1)


def test_levels_go_coarse_to_fine(fitted):
    _, cc = fitted
    h = cc.hierarchy_
    levels = h.levels
    np.testing.assert_array_equal(levels[0], [h.root])
    for coarse, fine in zip(levels[:-1], levels[1:]):
        assert fine.size >= coarse.size
        # each finer node lies under exactly one coarser node
        for node in fine:
            assert sum(h.is_ancestor(a, node) for a in coarse) == 1
    for i in range(len(levels) - 1):
        coarse, fine = h.labels_at(i), h.labels_at(i + 1)
        # a finer label never spans two coarser ones
        for lab in np.unique(fine[fine >= 0]):
            assert np.unique(coarse[fine == lab]).size == 1


def test_exports(fitted):
    _, cc = fitted
    h = cc.hierarchy_
    df = h.to_pandas()
    assert len(df) == h.n_nodes
    assert set(df.columns) >= {"node", "parent", "size", "birth_distance", "lambda_birth",
                               "stability", "cluster_label"}
    assert (df.cluster_label >= 0).sum() == cc.n_clusters_
    tree = h.to_networkx()
    assert tree.number_of_nodes() == h.n_nodes and tree.number_of_edges() == h.n_nodes - 1
    assert tree.nodes[h.root]["size"] == h.n_samples
    ax = h.plot()
    assert len(ax.collections) >= 1
    assert "ClusterHierarchy(" in repr(h)


def test_bad_trees_and_nodes():
    with pytest.raises(ValueError, match="root first"):
        ClusterHierarchy([0, -1], [0, 1], [0, 0], [0, 1], [1])
    h = ClusterHierarchy([-1, 0, 0], [0, 1, 1], [0, 2, 3], [1, 1, 2, 2, 0], [1, 2])
    assert h.members(1).tolist() == [0, 1] and h.size(0) == 5
    with pytest.raises(ValueError, match="does not exist"):
        h.children(7)
    with pytest.raises(ValueError, match="needs the kNN graph"):
        h.members(1, halo=1)
