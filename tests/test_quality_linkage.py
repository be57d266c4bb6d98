"""The numba single-linkage tree matches hdbscan's ``label`` (the library it replaced)."""
import numpy as np
import pytest
from hdbscan._hdbscan_linkage import label as hdbscan_label

from graphmoe.cluster.condensed import single_linkage_tree
from graphmoe.cluster.genie import genie_merge_order


def _random_mst(n, seed):
    rng = np.random.default_rng(seed)
    u = np.arange(1, n)
    v = rng.integers(0, u)  # a random tree: node i hangs below an earlier node
    perm = rng.permutation(n)  # so that node ids carry no order
    w = np.round(rng.random(n - 1), 2)  # rounded: many ties
    edges = np.column_stack([perm[u], perm[v], w]).astype(np.float64)
    return edges[np.argsort(edges[:, 2], kind="stable")]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_linkage_matches_hdbscan(seed):
    edges = _random_mst(500, seed)
    np.testing.assert_array_equal(single_linkage_tree(edges), hdbscan_label(edges.copy()))
    # Genie's order is not sorted by weight: rows are merged as given
    genie = edges[genie_merge_order(edges, 0.2)]
    np.testing.assert_array_equal(single_linkage_tree(genie), hdbscan_label(genie.copy()))


def test_single_linkage_sizes_and_bad_edges():
    link = single_linkage_tree(_random_mst(50, 0))
    assert link[-1, 3] == 50
    assert set(link[:, :2].ravel().astype(int)) == set(range(2 * 50 - 2))
    with pytest.raises(ValueError, match="outside"):
        single_linkage_tree(np.array([[0.0, 5.0, 1.0]]))


@pytest.mark.parametrize("seed,min_cluster_size", [(0, 2), (1, 5), (2, 15), (3, 40)])
def test_condensed_tree_matches_hdbscan(seed, min_cluster_size):
    from hdbscan._hdbscan_tree import compute_stability, condense_tree

    from graphmoe.cluster.condensed import condensed_tree

    edges = _random_mst(600, seed)
    edges[:5, 2] = 0.0  # zero distances: infinite lambda, as in the library
    linkage = single_linkage_tree(edges)
    tree = condensed_tree(linkage, min_cluster_size)
    ref = condense_tree(linkage, min_cluster_size)
    key = lambda r: np.lexsort((r["child"], r["parent"]))  # noqa: E731
    ours, ref = tree.raw[key(tree.raw)], ref[key(ref)]
    for field in ("parent", "child", "child_size"):
        np.testing.assert_array_equal(ours[field], ref[field])
    np.testing.assert_array_equal(ours["lambda_val"], ref["lambda_val"])
    stab = compute_stability(ref)
    n = linkage.shape[0] + 1
    np.testing.assert_allclose(tree.stability,
                               [stab.get(node + n, 0.0) for node in range(tree.parent.size)])
    # every cluster but the root is born at the distance of its birth row
    rows = tree.birth_row[1:]
    np.testing.assert_array_equal(1.0 / linkage[rows, 2], tree.lambda_birth[1:])
