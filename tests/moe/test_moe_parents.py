"""Parent + child experts stay shared through collapse reseeding and re-clustering."""
import numpy as np
import pytest
import torch

from graphmoe import GraphMoEClassifier, GraphMoERegressor, datasets
from graphmoe.moe._build import parent_groups
from graphmoe.moe.module import GraphMoE
from graphmoe.moe.training import reseed_collapsed
from graphmoe.nn.experts import MLPExpert, ResidualExpert
from graphmoe.nn.gates import SoftmaxGate


def _family_module():
    """Experts 0, 1 share parent A; experts 2, 3 share parent B; a trainable gate."""
    torch.manual_seed(0)
    A, B = MLPExpert(3, 2), MLPExpert(3, 2)
    experts = [ResidualExpert(A, MLPExpert(3, 2)), ResidualExpert(A, MLPExpert(3, 2)),
               ResidualExpert(B, MLPExpert(3, 2)), ResidualExpert(B, MLPExpert(3, 2))]
    return GraphMoE(experts, SoftmaxGate(3, 4), task="regression"), A, B


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def test_reseeding_a_child_leaves_the_shared_parents_alone():
    model, A, B = _family_module()
    before = {"A": _snapshot(A), "B": _snapshot(B)}
    tensors = {"A": list(A.parameters()), "B": list(B.parameters())}
    probs = np.array([[0.3, 0.0, 0.6, 0.1]] * 10)  # expert 1 collapsed, expert 2 the donor
    dead = reseed_collapsed(model, probs, 0.1, np.random.RandomState(0), [], 1)
    assert dead.tolist() == [1]
    for name, parent in (("A", A), ("B", B)):
        for old, new in zip(before[name], parent.parameters()):
            torch.testing.assert_close(new, old, rtol=0, atol=0)
    # still one parent object per family, with the very same parameter tensors
    assert model.experts[0].parent is model.experts[1].parent is A
    assert model.experts[2].parent is model.experts[3].parent is B
    for e in (0, 1):
        assert all(p is q for p, q in zip(model.experts[e].parent.parameters(), tensors["A"]))
    # the collapsed child became a (slightly perturbed) copy of the donor's child
    for p, q in zip(model.experts[1].child.parameters(), model.experts[2].child.parameters()):
        assert not torch.equal(p, q)
        torch.testing.assert_close(p, q, rtol=0, atol=0.1 * float(q.abs().max()) + 1e-6)


def test_regroup_reuses_parents_and_spawned_children_share_the_donors():
    from graphmoe.moe.parents import regroup_parents

    torch.manual_seed(0)
    A, B = MLPExpert(3, 2), MLPExpert(3, 2)
    children = [MLPExpert(3, 2) for _ in range(4)]
    old_parent = [A, A, B, B]
    made = []

    def new_parent():
        made.append(MLPExpert(3, 2))
        return made[-1]

    # new tree: experts 0, 1 and 3 siblings, 2 alone
    experts = regroup_parents(children, old_parent, np.array([0, 0, -1, 0]), new_parent)
    assert experts[0].parent is experts[1].parent is experts[3].parent is A
    assert experts[2] is children[2]  # alone under its parent: no parent expert
    assert not made
    # two new families both led by A: the second gets a copy, never the same object
    experts = regroup_parents(children, old_parent, np.array([0, 0, 1, 1]), new_parent)
    assert experts[0].parent is experts[1].parent is A
    assert experts[2].parent is experts[3].parent is B
    experts = regroup_parents(children, [A, A, None, None], np.array([0, 1, 2, 2]),
                              new_parent)
    assert experts[0].parent is A and experts[1].parent is not A
    torch.testing.assert_close(experts[1].parent(torch.ones(2, 3)), A(torch.ones(2, 3)))
    assert experts[2].parent is experts[3].parent is made[0]


def _check_families(m):
    leaves = m._expert_leaves(m.n_experts_)
    group = parent_groups(m.clustering_.hierarchy_, leaves)
    experts = list(m.experts_)
    if m._shared_widths is not None:  # one root around every expert
        assert all(e.parent is experts[0].parent for e in experts)
        experts = [e.child for e in experts]
    for i, gi in enumerate(group):
        assert isinstance(experts[i], ResidualExpert) == (gi >= 0)
        for j, gj in enumerate(group):
            if gi >= 0 and gj >= 0:
                assert (experts[i].parent is experts[j].parent) == (gi == gj)
    return group


@pytest.mark.parametrize("shared", [None, (8,)])
def test_recluster_keeps_siblings_on_one_shared_parent(shared):
    X, arm = datasets.make_pinwheel_spirals(60, n_arms=4, random_state=0)
    y = datasets.make_affine_targets(X, arm, random_state=0)
    m = GraphMoERegressor(gate="dmvae", parent_experts=True, recluster_every=2, epochs=6,
                          n_experts=4, gate_params={"distill_epochs": 5}, random_state=0,
                          num_threads=1, shared_expert=shared).fit(X, y)
    events = [h for h in m.history_ if h["event"] == "recluster"]
    assert events and not any(h["action"].startswith("skipped") for h in events)
    group = _check_families(m)
    assert (group >= 0).sum() >= 2
    assert np.isfinite(m.predict(X)).all()


def test_shared_expert_is_one_module_around_every_expert():
    X, arm = datasets.make_pinwheel_spirals(60, n_arms=4, random_state=0)
    y = arm % 2  # two classes of two arms each
    m = GraphMoEClassifier(n_experts=4, epochs=10, batch_size=32, random_state=0,
                           num_threads=1, shared_expert=(16,)).fit(X, y)
    root = m.experts_[0].parent
    assert all(isinstance(e, ResidualExpert) and e.parent is root for e in m.experts_)
    assert root.hidden_dims == (16,) and root.skip is not None
    assert all(e.child.skip is None for e in m.experts_)  # one linear path, the root's
    n_child = sum(p.numel() for p in m.experts_[0].child.parameters())
    n_root = sum(p.numel() for p in root.parameters())
    n_gate = sum(p.numel() for p in m.gate_.parameters())
    assert sum(p.numel() for p in m.module_.parameters()) == 4 * n_child + n_root + n_gate
    assert m.score(X, y) > 0.8


@pytest.mark.parametrize("shared, expert, match", [
    ((0, 4), "mlp", "positive hidden widths"), ("wide", "mlp", "shared_expert"),
    ((8,), "gnn", "shared_expert needs expert='mlp'")])
def test_shared_expert_refuses_bad_values(shared, expert, match):
    X, arm = datasets.make_pinwheel_spirals(20, n_arms=2, random_state=0)
    with pytest.raises(ValueError, match=match):
        GraphMoEClassifier(shared_expert=shared, expert=expert, epochs=1).fit(X, arm)
