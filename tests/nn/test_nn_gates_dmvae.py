"""The DMVAE gate routes like the connectivity hierarchy, without the training set."""
import numpy as np
import pytest
import torch

from graphmoe import GraphMoERegressor
from graphmoe.cluster import ConnectivityClustering
from graphmoe.cluster.proba import cluster_proba
from graphmoe.datasets import make_affine_targets, make_pinwheel_spirals
from graphmoe.nn.distill import distil
from graphmoe.nn.gates import DMVAEGate
from graphmoe.nn.gates.dmvae import prune_weights


@pytest.fixture(scope="module")
def pinwheel():
    """5 arms x 60 training and 5 x 60 new points, per-arm affine targets."""
    X, arm = make_pinwheel_spirals(60, random_state=0)
    Xt, armt = make_pinwheel_spirals(60, random_state=1000)
    _, (W, b) = make_affine_targets(X, arm, random_state=0, return_params=True)
    y = np.einsum("nd,nd->n", X, W[arm][:, :, 0]) + b[arm][:, 0]
    yt = np.einsum("nd,nd->n", Xt, W[armt][:, :, 0]) + b[armt][:, 0]
    return X, y, Xt, yt


def test_distilled_gate_agrees_with_the_hierarchy_on_new_points(pinwheel):
    X, _, Xt, _ = pinwheel
    mean, std = X.mean(0), X.std(0)
    Z, Zt = (X - mean) / std, (Xt - mean) / std
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0).fit(Z)
    gate = DMVAEGate(2, 5).fit(Z, membership=cluster_proba(cc), random_state=0)
    assert gate.distill_.agreement >= 0.98  # on the rows held out of the distillation
    gate.eval()
    with torch.no_grad():
        probs = gate(torch.as_tensor(Zt, dtype=torch.float32)).probs.numpy()
    target = cluster_proba(cc, Zt)  # the hierarchy's routing of the new points (kNN query)
    # measured 1.000 on 4 seeds since patience counts optimizer steps (0.963 / 1 / 1 / 1 when
    # 2 batches an epoch let it stop after ~40 steps)
    assert np.mean(probs.argmax(1) == target.argmax(1)) >= 0.98
    # calibrated to the mostly hard membership: most new points go to one expert only
    assert np.mean(probs.max(1) == 1.0) >= 0.9


def test_dmvae_routing_is_near_graph_routing_and_far_better_than_kmeans(pinwheel):
    X, y, Xt, yt = pinwheel
    mse = {}
    for gate in ("graph", "dmvae", "kmeans"):
        model = GraphMoERegressor(gate=gate, n_experts=5, epochs=10, num_threads=1,
                                  random_state=0).fit(X, y)
        mse[gate] = np.mean((model.predict(Xt) - yt) ** 2)
    # the targets are 2x graph and kmeans/20 on 5 x 400 points; this is 5 x 60
    assert mse["dmvae"] <= 3 * mse["graph"], mse
    assert mse["dmvae"] <= mse["kmeans"] / 100, mse


def test_estimator_refines_the_gate_to_the_pair_contrasts(pinwheel):
    X, y, Xt, _ = pinwheel
    model = GraphMoERegressor(gate="dmvae", n_experts=5, epochs=5, num_threads=1,
                              random_state=0).fit(X, y)
    events = [h for h in model.history_ if h.get("event") == "refine_gate"]
    assert len(events) == 1 and events[0]["agreement"] >= 0.95, events
    assert model.gate_.refine_.agreement == events[0]["agreement"]
    proba = model.gate_proba(Xt)  # hard routing: one expert per new point
    np.testing.assert_array_equal(proba.max(1), np.ones(len(Xt)))
    off = GraphMoERegressor(gate="dmvae", n_experts=5, epochs=5, num_threads=1, random_state=0,
                            gate_params={"refine_contrasts": False}).fit(X, y)
    assert not any(h.get("event") == "refine_gate" for h in off.history_)


def test_prune_weights_drops_small_weights_and_keeps_distributions():
    probs = torch.tensor([[0.97, 0.02, 0.01], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
    out = prune_weights(probs, 0.25)
    torch.testing.assert_close(out.sum(1), torch.ones(3))
    assert torch.equal(out[0], torch.tensor([1.0, 0.0, 0.0]))
    assert out[1, 2] == 0 and out[1, 0] > 0.5  # renormalised over what is kept
    torch.testing.assert_close(prune_weights(probs, 0.0), probs)


def test_calibration_sharpens_without_moving_the_decision(pinwheel):
    X = pinwheel[0][:200]
    z = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    hard = torch.nn.functional.one_hot((z[:, 0] > 0).long(), 2).float()
    gate = DMVAEGate(2, 2, distill_epochs=0)
    torch.manual_seed(0)
    with torch.no_grad():  # a gate that is right but unsure
        logits = gate.module.categorical_logits(z)
    before = logits.argmax(1)
    scale = gate.calibrate(z, torch.nn.functional.one_hot(before, 2).float())
    with torch.no_grad():
        after = gate.module.categorical_logits(z)
    assert scale > 1.0
    assert torch.equal(after.argmax(1), before)
    soft = torch.full_like(hard, 0.5)  # a fully uncertain membership asks for flat routing
    assert gate.calibrate(z, soft) < 1.0


def test_distil_keeps_the_best_held_out_weights_and_stops_early():
    torch.manual_seed(0)
    x = torch.randn(400, 2)
    target = torch.nn.functional.one_hot((x[:, 0] > 0).long(), 2).float()
    net = torch.nn.Linear(2, 2)
    result = distil(lambda v: torch.log_softmax(net(v), dim=1), net, x, target, epochs=500,
                    learning_rate=0.05, patience=5, random_state=0)
    assert result.epochs < 500  # no 1% improvement for 5 epochs ends it
    assert result.agreement >= 0.97
    idle = distil(lambda v: torch.log_softmax(net(v), dim=1), net, x, target, epochs=0,
                  learning_rate=0.05, random_state=0)
    assert idle.epochs == 0 and idle.agreement == pytest.approx(result.agreement, abs=0.03)


def test_dmvae_gate_rejects_bad_parameters():
    with pytest.raises(ValueError, match="min_weight must lie in"):
        DMVAEGate(2, 4, min_weight=1.5)
    # more clusters than 1/min_weight: the threshold is capped, not refused
    assert DMVAEGate(2, 60).min_weight == pytest.approx(1 / 60)
    with pytest.raises(ValueError, match="init must be"):
        DMVAEGate(2, 4, init="kmeans")


def test_frozen_gate_reuses_its_training_routing_and_trains_nothing(pinwheel):
    X = pinwheel[0]
    Z = (X - X.mean(0)) / X.std(0)
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0).fit(Z)
    membership = cluster_proba(cc)
    gate = DMVAEGate(2, 5, joint=False, distill_epochs=30).fit(
        Z, membership=membership, random_state=0)
    assert gate.frozen and not any(p.requires_grad for p in gate.parameters())
    z = torch.as_tensor(Z, dtype=torch.float32)
    # hard routing: each training row goes to its cluster's expert alone
    np.testing.assert_array_equal(gate.train_prior_, np.eye(5)[membership.argmax(1)])
    soft = DMVAEGate(2, 5, joint=False, hard=False, distill_epochs=30).fit(
        Z, membership=membership, random_state=0)
    soft.eval()
    with torch.no_grad():
        routed = soft(z).probs.numpy()
    np.testing.assert_allclose(soft.train_prior_, routed, atol=1e-6)  # its own, once in fit
    gate.train()
    prior = torch.as_tensor(gate.train_prior_)
    out = gate(z, prior=prior)  # a training step reads the stored routing, runs no network
    assert out.probs is prior and float(out.aux_loss) == 0.0


def test_joint_training_step_trains_the_routing_head_only(pinwheel):
    X = pinwheel[0]
    Z = (X - X.mean(0)) / X.std(0)
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0).fit(Z)
    membership = cluster_proba(cc)
    gate = DMVAEGate(2, 5, distill_epochs=5).fit(Z, membership=membership, random_state=0)
    gate.train()
    gate.zero_grad(set_to_none=True)
    out = gate(torch.as_tensor(Z, dtype=torch.float32),
               prior=torch.as_tensor(membership, dtype=torch.float32))
    out.aux_loss.backward()
    assert all(p.grad is not None for p in gate.module.categorical.parameters())
    # the latent space (encoder, decoder, mixture prior) is fitted in fit() only
    assert all(p.grad is None for p in gate.module.vae.parameters())
    assert gate.module.prior_means.grad is None


def test_hard_routing_is_one_hot_and_trains_by_the_membership(pinwheel):
    X = pinwheel[0]
    Z = (X - X.mean(0)) / X.std(0)
    cc = ConnectivityClustering(method="mst", n_clusters=5, random_state=0).fit(Z)
    membership = torch.as_tensor(cluster_proba(cc), dtype=torch.float32)
    gate = DMVAEGate(2, 5, distill_epochs=5).fit(Z, membership=membership.numpy(),
                                                 random_state=0)
    z = torch.as_tensor(Z, dtype=torch.float32)
    gate.eval()
    with torch.no_grad():
        probs, logits = gate(z).probs, gate.module.categorical_logits(z)
    assert torch.equal(probs.sum(1), torch.ones(len(z))) and set(probs.unique().tolist()) == {0, 1}
    assert torch.equal(probs.argmax(1), logits.argmax(1))
    gate.train()
    out = gate(z, prior=membership)  # training: each row goes where the membership puts it
    assert torch.equal(out.probs.argmax(1), membership.argmax(1))
    assert torch.equal(out.probs.max(1).values, torch.ones(len(z)))


def test_training_routing_follows_train_routing(pinwheel):
    X = pinwheel[0]
    Z = (X - X.mean(0)) / X.std(0)
    membership = torch.as_tensor(cluster_proba(ConnectivityClustering(
        method="mst", n_clusters=5, random_state=0).fit(Z)), dtype=torch.float32)
    membership[0] = torch.tensor([0.6, 0.4, 0.0, 0.0, 0.0])  # a split row
    z = torch.as_tensor(Z, dtype=torch.float32)
    soft = DMVAEGate(2, 5, distill_epochs=2, train_routing="membership").fit(
        Z, membership=membership.numpy(), random_state=0)
    soft.train()
    assert torch.equal(soft(z, prior=membership).probs, membership)  # the membership as is
    hard = DMVAEGate(2, 5, distill_epochs=2, train_routing="cluster", hard=False)
    hard.train()
    assert torch.equal(hard(z, prior=membership).probs[0], torch.eye(5)[0])
    assert DMVAEGate(2, 5).training_routing == "cluster"
    assert DMVAEGate(2, 5, hard=False).training_routing == "gate"
    with pytest.raises(ValueError, match="train_routing"):
        DMVAEGate(2, 5, train_routing="soft")


def test_estimators_route_training_rows_as_their_graph_gate():
    from graphmoe import GraphMoEClassifier
    from graphmoe.datasets import load_digits

    X, y = load_digits()
    X, y = X[:300], y[:300]
    clf = GraphMoEClassifier(gate="dmvae", epochs=1, random_state=0,
                             gate_params={"distill_epochs": 2}).fit(X, y)
    # no pair experts: the soft membership in training, the gate's top 2 at predict
    assert clf.gate_.training_routing == "membership" and not clf.gate_.hard
    explicit = GraphMoEClassifier(gate="dmvae", epochs=1, random_state=0,
                                  gate_params={"hard": True, "distill_epochs": 2}).fit(X, y)
    assert explicit.gate_.training_routing == "cluster"
    reg = GraphMoERegressor(gate="dmvae", epochs=1, random_state=0,
                            gate_params={"distill_epochs": 2}).fit(X, X[:, 10])
    assert reg.gate_.training_routing == "cluster" and reg.gate_.hard  # pair experts


def test_random_state_makes_a_standalone_gate_reproducible(pinwheel):
    X = pinwheel[0]
    Z = (X - X.mean(0)) / X.std(0)
    membership = cluster_proba(ConnectivityClustering(method="mst", n_clusters=5,
                                                      random_state=0).fit(Z))
    gates = []
    for seed in (0, 0, 1):
        torch.manual_seed(len(gates))  # the global generator must not matter
        gates.append(DMVAEGate(2, 5, distill_epochs=3, random_state=seed))
    first, same, other = (g.module.state_dict() for g in gates)
    assert all(torch.equal(first[k], same[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    for g in gates[:2]:
        g.fit(Z, membership=membership, random_state=0)
    assert all(torch.equal(a, b) for a, b in zip(gates[0].state_dict().values(),
                                                 gates[1].state_dict().values()))


def test_distil_stop_agreement_and_step_patience():
    torch.manual_seed(0)
    x = torch.randn(400, 2)
    target = torch.nn.functional.one_hot((x[:, 0] > 0).long(), 2).float()
    net = torch.nn.Linear(2, 2)
    log_q = lambda v: torch.log_softmax(net(v), dim=1)  # noqa: E731
    fit = distil(log_q, net, x, target, epochs=200, learning_rate=0.05, validation_fraction=0,
                 stop_agreement=0.95, random_state=0)
    assert fit.agreement >= 0.95 and fit.epochs < 200
    again = distil(log_q, net, x, target, epochs=200, learning_rate=0.05, validation_fraction=0,
                   stop_agreement=0.95, random_state=0)
    assert again.epochs == 0  # already good enough: nothing trained
    # 2 batches per epoch: 5 epochs of patience would be 10 steps, 100 steps are asked for;
    # no improvement ever counts (tol), so the loop ends when the patience runs out
    short = distil(log_q, net, x, target, epochs=300, learning_rate=1e-4, batch_size=200,
                   patience=5, tol=10.0, random_state=0)
    long = distil(log_q, net, x, target, epochs=300, learning_rate=1e-4, batch_size=200,
                  patience=5, tol=10.0, patience_steps=100, random_state=0)
    assert short.epochs == 6 and long.epochs == 51


@pytest.mark.parametrize("hard, joint, reseeded", [(True, True, False), (False, False, False),
                                                   (False, True, True)])
def test_collapse_is_only_logged_when_training_rows_follow_their_cluster(hard, joint, reseeded):
    """Hard or frozen routing sends each training row to its cluster's expert, so a small
    cluster's expert is 'collapsed' by its size alone: overwriting it with another expert
    would leave that cluster without its expert (review: test MSE 0.06 -> 1,158)."""
    from graphmoe.moe.module import GraphMoE
    from graphmoe.moe.training import reseed_collapsed
    from graphmoe.nn.experts import MLPExpert

    torch.manual_seed(0)
    gate = DMVAEGate(2, 3, hard=hard, joint=joint, random_state=0)
    model = GraphMoE([MLPExpert(2, 1) for _ in range(3)], gate, task="regression")
    before = [p.detach().clone() for p in model.experts[1].parameters()]
    probs = np.array([[0.7, 0.0, 0.3]] * 20)  # expert 1 carries no load
    history = []
    dead = reseed_collapsed(model, probs, 0.1, np.random.RandomState(0), history, 1)
    assert dead.tolist() == [1] and history[0]["event"] == "collapse"
    same = all(torch.equal(p, q) for p, q in zip(before, model.experts[1].parameters()))
    assert same != reseeded
    assert history[0]["action"].startswith("re-seeded" if reseeded else "logged")
