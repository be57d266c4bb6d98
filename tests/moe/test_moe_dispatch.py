"""Grouped sparse dispatch: same outputs, losses and gradients as the per-expert loop."""
import pytest
import torch
from torch import nn

from graphmoe.moe import GraphMoE
from graphmoe.moe.dispatch import Pairs, group_mode
from graphmoe.nn.experts import GNNExpert, MLPExpert
from graphmoe.nn.gates import SoftmaxGate


def _pair(task="regression", n_experts=5, out=3, top_k=2, seed=0, **expert_kwargs):
    """Two GraphMoE modules with identical weights: grouped and loop dispatch."""
    torch.manual_seed(seed)
    experts = [MLPExpert(4, out, **expert_kwargs) for _ in range(n_experts)]
    grouped = GraphMoE(experts, SoftmaxGate(4, n_experts), top_k=top_k, task=task,
                       dispatch="grouped")
    loop = GraphMoE([MLPExpert(4, out, **expert_kwargs) for _ in range(n_experts)],
                    SoftmaxGate(4, n_experts), top_k=top_k, task=task, dispatch="loop")
    loop.load_state_dict(grouped.state_dict())
    return grouped, loop


def _batch(n=57, n_experts=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    halo = torch.rand(n, n_experts, generator=g) * (torch.rand(n, n_experts, generator=g) < 0.3)
    return x, halo


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_grouped_dispatch_matches_the_loop_outputs_losses_and_gradients(task, top_k):
    grouped, loop = _pair(task, top_k=top_k)
    x, halo = _batch()
    target = torch.randn(57, 3) if task == "regression" else torch.randint(0, 3, (57,))
    outs = []
    for model in (grouped, loop):
        out = model(x, x, expert_weights=halo, target=target)
        (out.output.square().sum() + out.aux_losses["expert"]).backward()
        outs.append(out)
    torch.testing.assert_close(outs[0].output, outs[1].output)
    torch.testing.assert_close(outs[0].aux_losses["expert"], outs[1].aux_losses["expert"])
    assert outs[0].aux_losses["expert"] > 0
    for (name, a), b in zip(grouped.named_parameters(), loop.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_grouped_output_equals_the_dense_top_k_mixture():
    """Sparse grouped dispatch against every expert run densely on every row."""
    grouped, _ = _pair(top_k=2, n_experts=6)
    x, _ = _batch(n_experts=6)
    out = grouped(x, x)
    with torch.no_grad():
        dense = torch.stack([e(x) for e in grouped.experts], dim=1)  # (n, E, out)
        w, idx = out.probs.topk(2, dim=1)
        w = w / w.sum(1, keepdim=True)
        expected = (w[..., None] * dense[torch.arange(len(x))[:, None], idx]).sum(1)
    torch.testing.assert_close(out.output, expected)


def test_pairs_cover_each_active_pair_once_in_single_expert_tiles():
    active = torch.rand(200, 7, generator=torch.Generator().manual_seed(0)) < 0.2
    active[:, 3] = False  # an expert with no rows gets no tile
    pairs = Pairs(active)
    assert len(pairs) == int(active.sum())
    assert active[pairs.rows, pairs.experts].all()
    slots = pairs.tile * pairs.tile_size + pairs.pos
    assert len(torch.unique(slots)) == len(pairs)  # no two pairs share a slot
    assert (pairs.tile_expert[pairs.tile] == pairs.experts).all()
    assert 3 not in pairs.tile_expert.tolist()
    # padding stays below the pairs themselves plus one tile per expert
    assert len(pairs.tile_expert) * pairs.tile_size <= 2 * len(pairs) + 8 * 7


def test_grouped_dispatch_refuses_experts_it_cannot_batch():
    experts = [MLPExpert(4, 2), MLPExpert(4, 2, hidden_dims=(5,))]
    assert group_mode(experts) is None
    assert group_mode([GNNExpert(4, 2) for _ in range(2)]) is None
    assert group_mode([MLPExpert(4, 2) for _ in range(2)]) == "bmm"
    moe = GraphMoE(experts, SoftmaxGate(4, 2), dispatch="grouped")
    with pytest.raises(ValueError, match="dispatch='grouped' needs experts of one"):
        moe(torch.randn(5, 4), torch.randn(5, 4))
    with pytest.raises(ValueError, match="dispatch must be one of"):
        GraphMoE(experts, SoftmaxGate(4, 2), dispatch="fast")


class _Affine(nn.Module):
    """A custom expert that opts into vmap grouping."""

    groupable = True

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        return torch.tanh(self.lin(x))


def test_groupable_custom_experts_run_through_vmap_with_equal_outputs():
    torch.manual_seed(0)
    experts = [_Affine() for _ in range(4)]
    assert group_mode(experts) == "vmap"
    grouped = GraphMoE(experts, SoftmaxGate(4, 4), dispatch="grouped")
    loop = GraphMoE([_Affine() for _ in range(4)], SoftmaxGate(4, 4), dispatch="loop")
    loop.load_state_dict(grouped.state_dict())
    x, _ = _batch(n_experts=4)
    torch.testing.assert_close(grouped(x, x).output, loop(x, x).output)


def _residual_experts(seed, n_experts=4):
    """A shared root around every expert; experts 0 and 1 also share a sibling parent."""
    from graphmoe.nn.experts import ResidualExpert

    torch.manual_seed(seed)
    root, sibling = MLPExpert(4, 3, (6,)), MLPExpert(4, 3, (5,), skip=False)
    own = [MLPExpert(4, 3, (5,), skip=False) for _ in range(n_experts)]
    inner = [ResidualExpert(sibling if e < 2 else MLPExpert(4, 3, (5,), skip=False), c)
             for e, c in enumerate(own)]
    return [ResidualExpert(root, e) for e in inner]


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_parent_and_shared_experts_group_like_the_loop(task):
    grouped = GraphMoE(_residual_experts(0), SoftmaxGate(4, 4), task=task, dispatch="grouped")
    loop = GraphMoE(_residual_experts(0), SoftmaxGate(4, 4), task=task, dispatch="loop")
    loop.load_state_dict(grouped.state_dict())
    assert grouped._grouped() == "bmm"
    x, halo = _batch(n_experts=4)
    target = torch.randn(57, 3) if task == "regression" else torch.randint(0, 3, (57,))
    for model in (grouped, loop):
        out = model(x, x, expert_weights=halo, target=target)
        (out.output.square().sum() + out.aux_losses["expert"]).backward()
        model.out = out
    torch.testing.assert_close(grouped.out.output, loop.out.output)
    # the shared root's gradient gathers every expert's share once
    for (name, a), b in zip(grouped.named_parameters(), loop.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)
