"""Core distances, mutual reachability and the sparse MST against reference implementations."""
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hdbscan._hdbscan_linkage import mst_linkage_core
from hdbscan._hdbscan_reachability import mutual_reachability
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from graphmoe.graph import (KNNGraph, core_distances, minimum_spanning_edges,
                            mutual_reachability_graph)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(loc=c, size=(80, 3)) for c in (0, 4, 9)])


def test_core_distances_follow_hdbscan(blobs):
    g = KNNGraph(n_neighbors=10, backend="exact").fit(blobs)
    # hdbscan's tree code queries min_samples + 1 points, the point itself included
    ref = NearestNeighbors().fit(blobs).kneighbors(blobs, n_neighbors=6)[0][:, -1]
    np.testing.assert_allclose(core_distances(g.distances_, 5), ref)
    assert np.all(core_distances(g.distances_, 0) == 0)
    with pytest.raises(ValueError, match="needs 11 neighbours"):
        core_distances(g.distances_, 11)


def test_full_graph_mst_equals_hdbscan_dense_mst(blobs):
    """Two MST algorithms agree: scipy on our sparse graph vs hdbscan's dense Prim."""
    n = blobs.shape[0]
    g = KNNGraph(n_neighbors=n - 1, backend="exact").fit(blobs)
    core = core_distances(g.distances_, 5)
    ours = minimum_spanning_edges(mutual_reachability_graph(g.graph_, core, g.floor_))
    ref = mst_linkage_core(mutual_reachability(cdist(blobs, blobs), min_points=5))
    assert ours.shape == (n - 1, 3)
    assert np.all(np.diff(ours[:, 2]) >= 0)
    assert ours[:, 2].sum() == pytest.approx(ref[:, 2].sum(), rel=1e-12)


def test_knn_mst_matches_networkx_and_bounds_full_mst(blobs):
    g = KNNGraph(n_neighbors=8, backend="exact").fit(blobs)
    core = core_distances(g.distances_, 5)
    reach = mutual_reachability_graph(g.graph_, core, g.floor_)
    ours = minimum_spanning_edges(reach)
    ref = nx.minimum_spanning_tree(nx.from_scipy_sparse_array(reach))
    assert ours[:, 2].sum() == pytest.approx(ref.size(weight="weight"), rel=1e-12)
    # a subgraph's MST can only be heavier than the full graph's, and here barely is
    full = mst_linkage_core(mutual_reachability(cdist(blobs, blobs), min_points=5))
    assert full[:, 2].sum() * (1 - 1e-12) <= ours[:, 2].sum() <= 1.01 * full[:, 2].sum()


def test_mutual_reachability_weights():
    G = sp.csr_matrix(np.array([[0, 1.0, 0], [1.0, 0, 3.0], [0, 3.0, 0]]))
    core = np.array([2.0, 0.5, 0.1])
    R = mutual_reachability_graph(G, core).toarray()
    np.testing.assert_allclose(R, [[0, 2.0, 0], [2.0, 0, 3.0], [0, 3.0, 0]])


def test_disconnected_graph_is_rejected():
    G = sp.csr_matrix(np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="2 components"):
        minimum_spanning_edges(G)
