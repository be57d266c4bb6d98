"""Halo weights that decay with the hop, and pair (contrast) routing of split memberships."""
import numpy as np
import pytest
import scipy.sparse as sp

from graphmoe import GraphMoERegressor, datasets
from graphmoe.moe._setup import halo_weights, hop_distances
from graphmoe.moe.contrast import contrast_prior, split_rows


def _path_graph(n):
    """0 - 1 - 2 - ... - (n-1): hop distances are index differences."""
    rows = np.arange(n - 1)
    return sp.csr_matrix((np.ones(n - 1), (rows, rows + 1)), shape=(n, n))


def test_hop_distances_on_a_path():
    first = np.array([0, 0, 1, 1, 1, 1])
    dist = hop_distances(_path_graph(6), first, 2, max_hops=3)
    np.testing.assert_array_equal(dist[:, 0], [0, 0, 1, 2, 3, 4])  # 4 = beyond max_hops
    np.testing.assert_array_equal(dist[:, 1], [2, 1, 0, 0, 0, 0])


def test_halo_weights_decay_with_the_hop():
    prior = np.zeros((8, 2))
    prior[:2, 0] = 1.0
    prior[2:, 1] = 1.0  # hard membership: only the halo can give weight to a neighbour
    w = halo_weights(prior, _path_graph(8), halo=3, decay=0.5)
    np.testing.assert_allclose(w[:, 0], [1, 1, 0.5, 0.25, 0.125, 0, 0, 0])
    hop1, hop2 = w[2, 0], w[3, 0]
    assert 0 < hop2 < hop1 < 1
    # halo 0: members only; a larger halo only adds rows
    members = halo_weights(prior, _path_graph(8), halo=0)
    np.testing.assert_array_equal(members, prior)
    assert (halo_weights(prior, _path_graph(8), halo=2) > 0).sum() < (w > 0).sum()


def test_halo_weights_keep_a_larger_soft_membership():
    prior = np.array([[1.0, 0.0], [0.2, 0.8], [0.0, 1.0]])
    w = halo_weights(prior, _path_graph(3), halo=2, decay=0.1)
    assert w[1, 0] == pytest.approx(0.2)  # soft membership beats decay ** 1
    assert w[2, 0] == pytest.approx(0.01)


def test_halo_grows_the_expert_training_sets_on_spirals():
    from graphmoe import ConnectivityClustering
    from graphmoe.nn.gates import cluster_proba

    X, _ = datasets.make_interleaved_spirals(60, random_state=0)
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0).fit(X)
    prior = cluster_proba(cc)
    counts = [int((halo_weights(prior, cc.graph_, h) > 0).sum()) for h in (0, 1, 2, 3)]
    assert counts[0] == len(X)
    assert counts[0] < counts[1] < counts[2] < counts[3]


def test_halo_decay_is_validated():
    with pytest.raises(ValueError, match="halo_decay"):
        halo_weights(np.eye(2), None, 1, decay=1.5)


def test_contrast_sends_split_rows_to_the_better_expert():
    prior = np.array([[0.9, 0.1, 0.0], [1.0, 0.0, 0.0], [0.0, 0.6, 0.4]])
    rows, first, second = split_rows(prior)
    np.testing.assert_array_equal(rows, [0, 2])
    np.testing.assert_array_equal(first, [0, 1])
    np.testing.assert_array_equal(second, [1, 2])
    owner = np.array([0, 1, 1, 2])
    # every training point is fitted better by expert 1 than by 0, and by 2 than by 1
    losses = np.array([[5.0, 1.0, 0.0], [5.0, 1.0, 0.0], [5.0, 1.0, 0.0], [5.0, 1.0, 0.0]])
    neighbors = np.array([[0, 1, 2], [0, 1, 2], [1, 2, 3]])
    out = contrast_prior(prior, neighbors, owner, losses)
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert prior[0, 0] == 0.9  # the input is not modified


def test_pair_experts_remove_blending_errors_on_interleaved_spirals():
    X, arm = datasets.make_interleaved_spirals(400, random_state=1)
    Xt, armt = datasets.make_interleaved_spirals(100, random_state=2)
    _, (W, b) = datasets.make_affine_targets(X, arm, random_state=0, return_params=True)

    def target(Z, a):
        return np.einsum("nd,nd->n", Z, W[a][:, :, 0]) + b[a][:, 0]

    mse = {}
    for pairs in (False, True):
        m = GraphMoERegressor(n_experts=5, epochs=8, learning_rate=1e-2, pair_experts=pairs,
                              random_state=0).fit(X, target(X, arm))
        mse[pairs] = float(np.mean((m.predict(Xt) - target(Xt, armt)) ** 2))
        weights = m.route(Xt)[1]
        if pairs:  # no test point is blended from two experts any more
            assert np.all((weights[:, 0] == 1.0) | (weights[:, 0] >= 1 - 1e-6))
    assert mse[True] < mse[False] / 100  # measured: 2.6e-5 against 2.1e-2
    assert mse[True] < 1e-3
