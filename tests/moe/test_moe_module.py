"""GraphMoE module: sparse top-k dispatch, the named-tuple output, auxiliary losses."""
import numpy as np
import torch
from torch import nn

from graphmoe.moe import GraphMoE, MoEOutput, load_balance_loss, routing_entropy
from graphmoe.nn.experts import MLPExpert
from graphmoe.nn.gates import SoftmaxGate
from graphmoe.nn.gates.base import Gate


class _Counting(nn.Module):
    """Wraps an expert and records the rows it was run on."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


def _moe(top_k, n_experts=4, seed=0):
    torch.manual_seed(seed)
    experts = [_Counting(MLPExpert(3, 2, hidden_dims=(5,))) for _ in range(n_experts)]
    return GraphMoE(experts, SoftmaxGate(3, n_experts), top_k=top_k)


def test_each_expert_runs_only_on_the_points_routed_to_it():
    moe = _moe(top_k=2)
    x = torch.randn(40, 3)
    out = moe(x, x)
    assert isinstance(out, MoEOutput)
    indices, weights = out.routing
    for e, expert in enumerate(moe.experts):
        routed = x[(indices == e).any(dim=1)]
        seen = torch.cat(expert.seen) if expert.seen else torch.zeros(0, 3)
        assert seen.shape[0] == routed.shape[0] < len(x)
        torch.testing.assert_close(seen, routed)
    assert sum(len(torch.cat(e.seen)) for e in moe.experts if e.seen) == 2 * len(x)


def test_sparse_output_equals_the_dense_top_k_mixture():
    moe = _moe(top_k=2)
    x = torch.randn(25, 3)
    out = moe(x, x)
    with torch.no_grad():
        dense = torch.stack([e.inner(x) for e in moe.experts], dim=1)  # (n, E, out)
        probs = out.probs
        w, idx = probs.topk(2, dim=1)
        w = w / w.sum(1, keepdim=True)
        expected = (w[..., None] * dense[torch.arange(25)[:, None], idx]).sum(1)
    torch.testing.assert_close(out.output, expected)
    torch.testing.assert_close(out.routing[1].sum(1), torch.ones(25))
    torch.testing.assert_close(out.probs.sum(1), torch.ones(25))


def test_zero_weight_routes_are_not_computed():
    """With a hard (one-hot) prior and top_k=2 the second choice has weight 0: skipped."""
    torch.manual_seed(0)
    experts = [_Counting(MLPExpert(3, 1)) for _ in range(3)]
    moe = GraphMoE(experts, Gate(3), top_k=2)
    x = torch.randn(30, 3)
    hard = torch.nn.functional.one_hot(torch.arange(30) % 3, 3).float()
    moe(x, x, prior=hard)
    assert [len(torch.cat(e.seen)) for e in moe.experts] == [10, 10, 10]


def test_halo_rows_get_the_expert_loss_but_not_the_output():
    torch.manual_seed(0)
    experts = [MLPExpert(3, 1) for _ in range(2)]
    moe = GraphMoE(experts, Gate(2), top_k=1)
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    prior = torch.nn.functional.one_hot(torch.arange(20) % 2, 2).float()
    weights = prior.clone()
    plain = moe(x, x, prior=prior)
    halo = moe(x, x, prior=prior, expert_weights=weights + 0.5 * (1 - prior), target=y)
    torch.testing.assert_close(plain.output, halo.output)
    assert halo.aux_losses["expert"].item() > 0


def test_aux_losses_follow_their_definitions():
    uniform = torch.full((8, 4), 0.25)
    assert abs(float(load_balance_loss(uniform, torch.arange(8) % 4)) - 1.0) < 1e-6
    peaked = torch.nn.functional.one_hot(torch.zeros(8, dtype=torch.long), 4).float()
    assert float(load_balance_loss(peaked, torch.zeros(8, dtype=torch.long))) == 4.0
    assert abs(float(routing_entropy(uniform)) - np.log(4)) < 1e-6
    assert float(routing_entropy(peaked)) < 1e-6
    moe = _moe(top_k=1)
    out = moe(torch.randn(10, 3), torch.randn(10, 3))
    assert set(out.aux_losses) == {"load_balance", "entropy", "gate", "expert"}
    assert "GraphMoE(n_experts=4, top_k=1" in repr(moe)


def test_linear_init_starts_each_expert_at_its_least_squares_fit():
    from graphmoe.moe.training import MoEData, init_experts_linear

    torch.manual_seed(0)
    x = torch.randn(60, 2)
    group = torch.arange(60) % 2
    maps = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    y = ((x * maps[group]).sum(1) + torch.where(group == 0, 1.0, -4.0))[:, None]
    moe = GraphMoE([MLPExpert(2, 1) for _ in range(2)], Gate(2), top_k=1)
    probs = torch.nn.functional.one_hot(group, 2).float().numpy()
    init_experts_linear(moe, MoEData(x, x, y), probs)
    with torch.no_grad():
        out = moe(x, x, prior=torch.as_tensor(probs)).output
    torch.testing.assert_close(out, y, atol=1e-4, rtol=1e-4)
