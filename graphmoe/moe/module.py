"""The GraphMoE torch module: a gate, experts, and sparse top-k dispatch."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .losses import load_balance_loss, routing_entropy, task_loss

__all__ = ["GraphMoE", "MoEOutput"]


class MoEOutput(NamedTuple):
    """Output of :class:`GraphMoE`.

    output : (n, out) prediction (regression) or class probabilities (classification).
    aux_losses : dict of scalar tensors: ``load_balance``, ``entropy``, ``gate``
        (the gate's own loss, e.g. the DMVAE's negative ELBO) and ``expert``
        (each expert's loss on its weighted members and halo; 0 without targets).
    routing : (indices (n, top_k) long, weights (n, top_k)), weights summing to 1.
    probs : (n, n_experts) full gate probabilities, rows summing to 1.
    """

    output: torch.Tensor
    aux_losses: dict
    routing: tuple
    probs: torch.Tensor


class GraphMoE(nn.Module):
    r"""A mixture of experts whose points run only through the experts they are routed to.

    The gate gives probabilities ``p (n, E)``; each point keeps its ``top_k``
    largest (renormalised, zero weights dropped) and expert ``e`` runs on the
    rows routed to it, plus, during training, the rows of its halo
    (``expert_weights[:, e] > 0``) on which it gets its own weighted loss.

    Parameters
    ----------
    experts : list of nn.Module
        All MLP experts (``expert(x)``) or all GNN experts
        (``expert(x_sub, edge_index, n_targets)``, ``needs_graph = True``).
    gate : graphmoe.nn.gates.Gate
    top_k : int, default=2
    task : {"regression", "classification"}, default="regression"
        For classification experts output logits and the mixture combines
        their softmax probabilities.

    Shapes
    ------
    ``x (n, in_features)``, ``gate_input (n, d)`` -> :class:`MoEOutput`.
    """

    def __init__(self, experts, gate, top_k=2, task="regression"):
        super().__init__()
        self.experts = nn.ModuleList(experts)
        self.gate = gate
        self.top_k = int(top_k)
        self.task = task

    @property
    def n_experts(self):
        return len(self.experts)

    def reset_parameters(self):
        for expert in self.experts:
            expert.reset_parameters()
        if hasattr(self.gate, "reset_parameters"):
            self.gate.reset_parameters()

    def route(self, probs):
        """Top-k indices and renormalised weights of ``probs (n, E)``."""
        k = min(self.top_k, probs.shape[1])
        weights, indices = probs.topk(k, dim=1)
        weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)
        return indices, weights

    def _run_expert(self, e, x, rows, context, neighbors):
        expert = self.experts[e]
        if getattr(expert, "needs_graph", False):
            x_sub, edge_index, n_targets = context.subgraph(x[rows], neighbors[rows], expert.hops)
            out = expert(x_sub, edge_index, n_targets)
        else:
            out = expert(x[rows])
        return torch.softmax(out, dim=-1) if self.task == "classification" else out

    def forward(self, x, gate_input, *, prior=None, context=None, neighbors=None,
                expert_weights=None, target=None):
        gate_out = self.gate(gate_input, prior=prior)
        probs = gate_out.probs
        indices, weights = self.route(probs)
        output, expert_loss, expert_mass = None, x.new_zeros(()), x.new_zeros(())
        for e in range(self.n_experts):
            w_route = (weights * (indices == e)).sum(dim=1)  # (n,)
            active = w_route > 0
            if expert_weights is not None and target is not None:
                active = active | (expert_weights[:, e] > 0)
            rows = active.nonzero(as_tuple=True)[0]
            if len(rows) == 0:
                continue
            out = self._run_expert(e, x, rows, context, neighbors)
            if output is None:
                output = x.new_zeros((x.shape[0], out.shape[1]))
            output = output.index_add(0, rows, w_route[rows, None] * out)
            if expert_weights is not None and target is not None:
                w = expert_weights[rows, e]
                per_row = task_loss(out, target[rows], self.task, "none")
                expert_loss = expert_loss + (w * per_row).sum()
                expert_mass = expert_mass + w.sum()
        aux = {
            "load_balance": load_balance_loss(probs, indices[:, 0]),
            "entropy": routing_entropy(probs),
            "gate": gate_out.aux_loss,
            "expert": expert_loss / expert_mass.clamp_min(1e-8),
        }
        return MoEOutput(output, aux, (indices, weights), probs)

    def __repr__(self):
        return (f"{type(self).__name__}(n_experts={self.n_experts}, top_k={self.top_k}, "
                f"task={self.task!r},\n  gate={self.gate!r},\n  expert={self.experts[0]!r})")
