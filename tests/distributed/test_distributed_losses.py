"""The per-rank surrogates of moe_global_losses average to the global-batch gradient.

Two ranks are simulated in one process: a rank's all-reduce only needs the
other ranks' local sums, so a first pass records them and a second pass
returns their total.
"""
import numpy as np
import torch

from graphmoe.distributed import World
from graphmoe.distributed.data_parallel import DataParallel, moe_global_losses
from graphmoe.moe.losses import load_balance_loss, routing_entropy, task_loss
from graphmoe.moe.module import MoEOutput
from graphmoe.moe.training import MoEData

TERMS = ("expert", "load_balance", "entropy", "gate")
COEFS = {"expert": 0.7, "load_balance": 2.0, "entropy": 0.3, "gate": 0.5}


class _FakeRank(DataParallel):
    def __init__(self, rank, size, totals):
        self.world, self.module, self.totals, self.sent = World(rank, size), None, totals, None

    def all_sum(self, values):
        self.sent = torch.as_tensor(values, dtype=torch.float64)
        return self.sent if self.totals is None else self.totals


def _step(gate, head, batch):
    """A toy MoE forward whose loss terms are computed like GraphMoE's."""
    probs = torch.softmax(gate(batch.gate_input), dim=1)
    top = probs.topk(2, dim=1)
    out = head(batch.x)
    weights = batch.expert_weights
    per_row = (out - batch.target).pow(2).mean(dim=1)
    expert = (weights.sum(dim=1) * per_row).sum() / weights.sum().clamp_min(1e-8)
    aux = {"load_balance": load_balance_loss(probs, top.indices[:, 0]),
           "entropy": routing_entropy(probs), "gate": probs[:, 0].mean(), "expert": expert}
    return MoEOutput(out, aux, (top.indices, top.values), probs)


def _grads(loss, params):
    return [g.detach().clone() for g in torch.autograd.grad(loss, params)]


def test_surrogates_match_the_global_batch():
    gen = torch.Generator().manual_seed(0)
    n, size = 11, 3  # uneven shares: 4 + 4 + 3 rows
    data = MoEData(torch.randn(n, 3, generator=gen), torch.randn(n, 2, generator=gen),
                   torch.randn(n, 1, generator=gen),
                   expert_weights=torch.rand(n, 4, generator=gen))
    gate, head = torch.nn.Linear(2, 4), torch.nn.Linear(3, 1)
    params = [*gate.parameters(), *head.parameters()]
    full = _step(gate, head, data)
    task = task_loss(full.output, data.target, "regression")
    ref = task + sum(COEFS[t] * full.aux_losses[t] for t in TERMS)
    ref_grads = _grads(ref, params)

    def rank_loss(rank, totals):
        par = _FakeRank(rank, size, totals)
        rows, n_rows = par.shard(torch.arange(n))
        batch = data.rows(rows)
        out = _step(gate, head, batch)
        t, aux = moe_global_losses(par, task_loss(out.output, batch.target, "regression"),
                                   out, batch, "regression", n_rows)
        return par, t + sum(COEFS[k] * aux[k] for k in TERMS)

    totals = sum(rank_loss(r, None)[0].sent for r in range(size))
    losses = [rank_loss(r, totals)[1] for r in range(size)]
    for loss in losses:  # every rank reports the global value
        np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
    # DDP averages the ranks' gradients
    mean_grads = [sum(gs) / size for gs in zip(*(_grads(loss, params) for loss in losses))]
    for got, want in zip(mean_grads, ref_grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6)
    # a per-rank load balance (the mistake this guards against) would not match
    per_rank = sum(_step(gate, head, data.rows(torch.arange(r, n, size)))
                   .aux_losses["load_balance"].item() for r in range(size)) / size
    assert abs(per_rank - full.aux_losses["load_balance"].item()) > 1e-3
