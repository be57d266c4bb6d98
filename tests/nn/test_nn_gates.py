"""Gates: probabilities are distributions, baselines route as documented, bad input is named."""
import numpy as np
import pytest
import torch

from graphmoe.cluster import ConnectivityClustering
from graphmoe.datasets import make_pinwheel_spirals
from graphmoe.nn.gates import (DFCPGate, DMVAEGate, GMMGate, GraphGate, HierarchicalGate,
                               KMeansGate, LabelsGate, OracleGate, SoftmaxGate, cluster_proba,
                               expert_tree)


@pytest.fixture(scope="module")
def spirals():
    X, arm = make_pinwheel_spirals(80, n_arms=3, random_state=0)
    return (X - X.mean(0)) / X.std(0), arm


@pytest.fixture(scope="module")
def clustering(spirals):
    return ConnectivityClustering(method="mst", n_clusters=3, random_state=0).fit(spirals[0])


def _fixed_gates(clustering):
    return [KMeansGate(3), GMMGate(3), DFCPGate(3), LabelsGate(), OracleGate(),
            GraphGate(clustering)]


def test_fixed_gate_probabilities_sum_to_one(spirals, clustering):
    X, arm = spirals
    X_new = X[::7] + 0.01
    for gate in _fixed_gates(clustering):
        gate.fit(X, groups=arm, random_state=0)
        for P in (gate.train_prior_, gate.prior_proba(X_new, groups=arm[::7])):
            assert P.shape[1] == gate.n_experts
            assert np.all(P >= 0), type(gate).__name__
            np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-9)
        out = gate(torch.zeros(3, 2), prior=torch.as_tensor(gate.train_prior_[:3]))
        assert float(out.aux_loss) == 0.0


def test_learned_gate_probabilities_sum_to_one(spirals):
    X, _ = spirals
    z = torch.as_tensor(X, dtype=torch.float32)
    torch.manual_seed(0)
    for gate in (SoftmaxGate(2, 4, hidden_dims=(8,)), DMVAEGate(2, 4, distill_epochs=1)):
        gate.fit(X, random_state=0)
        probs = gate(z).probs
        assert probs.shape == (len(X), 4)
        torch.testing.assert_close(probs.sum(dim=1), torch.ones(len(X)))


def test_label_and_oracle_gates_route_by_the_groups(spirals):
    X, arm = spirals
    labels = LabelsGate().fit(X, groups=arm)
    assert np.array_equal(labels.train_prior_.argmax(1), arm)
    assert (labels.prior_proba(X).argmax(1) == arm).mean() > 0.95
    oracle = OracleGate().fit(X, groups=arm)
    assert np.array_equal(oracle.prior_proba(X[:5], groups=arm[:5]).argmax(1), arm[:5])


def test_graph_gate_follows_the_clustering(spirals, clustering):
    X, _ = spirals
    gate = GraphGate(clustering, cluster_of_expert=[2, 0, 1]).fit(X)
    labels = clustering.labels_
    ok = labels >= 0
    # expert e serves cluster cluster_of_expert[e]
    assert np.array_equal(gate.cluster_of_expert_[gate.train_prior_.argmax(1)][ok], labels[ok])
    np.testing.assert_allclose(cluster_proba(clustering).sum(1), 1.0)


def test_dfcp_refinement_changes_only_uncertain_points(spirals):
    X, _ = spirals
    gate = DFCPGate(3, uncertainty=0.8).fit(X, random_state=0)
    kmeans = gate.kmeans_.labels_
    d = np.sort(gate.kmeans_.transform(X), axis=1)
    certain = d[:, 0] / d[:, 1] <= 0.8
    assert np.array_equal(gate.train_prior_.argmax(1)[certain], kmeans[certain])


def test_dmvae_gate_distils_the_hierarchy(spirals, clustering):
    X, _ = spirals
    torch.manual_seed(0)
    M = cluster_proba(clustering)
    gate = DMVAEGate(2, 3, hidden_dims=(32,), distill_epochs=60).fit(X, membership=M,
                                                                      random_state=0)
    gate.eval()
    with torch.no_grad():
        probs = gate(torch.as_tensor(X, dtype=torch.float32)).probs.numpy()
    assert (probs.argmax(1) == M.argmax(1)).mean() > 0.9
    # the prior of each component sits at its cluster's latent mean
    with torch.no_grad():
        mu = gate.embedding(torch.as_tensor(X, dtype=torch.float32)).numpy()
    for c in range(3):
        np.testing.assert_allclose(gate.module.prior_means[c].detach().numpy(),
                                   mu[M.argmax(1) == c].mean(0), atol=0.1)


def test_softmax_reseed_splits_the_donor_region():
    torch.manual_seed(0)
    gate = SoftmaxGate(2, 3)
    z = torch.randn(50, 2)
    with torch.no_grad():
        before = gate(z).probs
        gate.reseed_expert(0, 2)
        after = gate(z).probs
    # the donor keeps (at least) its share, now split evenly with the re-seeded expert
    assert torch.all(after[:, 0] + after[:, 2] >= before[:, 2] - 0.02)
    assert torch.allclose(after[:, 0], after[:, 2], atol=0.05)


def test_gates_name_missing_groups(spirals):
    X, _ = spirals
    with pytest.raises(ValueError, match="LabelsGate needs group labels"):
        LabelsGate().fit(X)
    with pytest.raises(ValueError, match="OracleGate needs group labels"):
        OracleGate().fit(X)
    with pytest.raises(ValueError, match="groups has 3 entries but X has"):
        OracleGate().fit(X, groups=[0, 1, 2])
    oracle = OracleGate().fit(X, groups=np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="pass groups"):
        oracle.prior_proba(X)
    with pytest.raises(ValueError, match="not seen at fit"):
        oracle.prior_proba(X[:2], groups=[0, 7])


def test_hierarchical_gate_multiplies_node_choices_along_the_tree(spirals):
    X, _ = spirals
    cc = ConnectivityClustering(method="mst", n_clusters=3, random_state=0).fit(X)
    hierarchy = cc.hierarchy_
    leaves = np.asarray(hierarchy.cluster_nodes)
    internal, routes = expert_tree(hierarchy, leaves)
    # every expert's route starts at the coarsest split and each split has >= 2 branches
    assert all(len(children) >= 2 for _, children in internal)
    assert all(len(route) >= 1 for route in routes) and len(routes) == 3
    torch.manual_seed(0)
    M = cluster_proba(cc)
    gate = HierarchicalGate(2, hierarchy, leaves, hidden_dims=(16,), distill_epochs=40)
    gate.fit(X, membership=M, random_state=0)
    with torch.no_grad():
        probs = gate(torch.as_tensor(X, dtype=torch.float32)).probs
    torch.testing.assert_close(probs.sum(1), torch.ones(len(X)))
    assert (probs.argmax(1).numpy() == M.argmax(1)).mean() > 0.9
    assert "internal_nodes=" in repr(gate)
