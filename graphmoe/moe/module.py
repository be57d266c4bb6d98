"""The GraphMoE torch module: a gate, experts, and sparse top-k dispatch."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .dispatch import group_mode, grouped_forward, routing_pairs
from .losses import load_balance_loss, routing_entropy, task_loss

__all__ = ["GraphMoE", "MoEOutput", "DISPATCH"]

#: how the routed rows reach the experts: "grouped" (one batched call over stacked
#: expert weights), "loop" (one call per used expert), "auto" (grouped when possible)
DISPATCH = ("auto", "grouped", "loop")

#: "auto" loops when experts get more rows than this on average: the per-call overhead
#: that grouping saves is then negligible, and the loop computes no padding rows
LOOP_ABOVE_ROWS = 512


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
    dispatch : {"auto", "grouped", "loop"}, default="auto"
        "grouped" packs the routed rows of all experts into tiles of one
        expert each and runs every layer of all experts as one batched matmul
        over their stacked weights (:mod:`graphmoe.moe.dispatch`); "loop"
        calls each used expert on its rows. "auto" groups experts of one architecture and loops over
        graph (GNN) experts, which each need their own subgraph. Both give
        the same outputs and gradients.

    Shapes
    ------
    ``x (n, in_features)``, ``gate_input (n, d)`` -> :class:`MoEOutput`.
    """

    #: modules restored from files written before ``dispatch`` existed loop, as they did
    dispatch = "loop"

    def __init__(self, experts, gate, top_k=2, task="regression", dispatch="auto"):
        super().__init__()
        if dispatch not in DISPATCH:
            raise ValueError(f"dispatch must be one of {DISPATCH}, got {dispatch!r}.")
        self.experts = nn.ModuleList(experts)
        self.gate = gate
        self.top_k = int(top_k)
        self.task = task
        self.dispatch = dispatch
        self._group_mode = False  # not yet known: found on the first forward

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
            return self._run_graph_expert(expert, x, rows, context, neighbors)
        return expert(x[rows])

    def _run_graph_expert(self, expert, x, rows, context, neighbors):
        """A GNN expert on ``rows``, within its node budget ``expert.max_nodes``.

        Over budget, training samples neighbours (memory bounded by the batch
        and the fanouts, not by the graph) and inference stays exact, running
        the full neighbourhoods of as many targets at a time as fit.
        """
        hops, budget, k = expert.hops, getattr(expert, "max_nodes", None), neighbors.shape[1]
        if budget is None or context.size_bound(len(rows), k, hops) <= budget:
            return expert(*context.subgraph(x[rows], neighbors[rows], hops))
        if self.training:
            return expert(*context.subgraph(x[rows], neighbors[rows], hops,
                                            num_neighbors=expert.num_neighbors))
        chunk = max(1, budget // context.size_bound(1, k, hops))
        return torch.cat([expert(*context.subgraph(x[part], neighbors[part], hops))
                          for part in rows.split(chunk)])

    def _grouped(self):
        """The grouping mode of :func:`graphmoe.moe.dispatch.group_mode`, or None (loop)."""
        if self.dispatch == "loop":
            return None
        if getattr(self, "_group_mode", False) is False:  # experts never change type
            self._group_mode = group_mode(list(self.experts))
        if self.dispatch == "grouped" and self._group_mode is None:
            raise ValueError("dispatch='grouped' needs experts of one architecture without "
                             "graph inputs or buffers; use dispatch='loop' or 'auto'.")
        return self._group_mode

    def _dispatch(self, x, pairs, context, neighbors):
        """Outputs ``(P, out)`` of the experts on their pairs (probabilities if classifying)."""
        mode = self._grouped()
        if self.dispatch == "auto" and pairs.tile_size > LOOP_ABOVE_ROWS:
            mode = None
        if mode is not None:
            out = grouped_forward(self.experts, x, pairs, mode)
        else:  # graph experts need their own subgraph each: one call per used expert
            bounds = torch.cumsum(torch.bincount(pairs.experts, minlength=self.n_experts), 0)
            parts, start = [], 0
            for e, stop in enumerate(bounds.tolist()):
                if stop > start:
                    parts.append(self._run_expert(e, x, pairs.rows[start:stop], context,
                                                  neighbors))
                start = stop
            out = torch.cat(parts) if parts else None
        if out is not None and self.task == "classification":
            out = torch.softmax(out, dim=-1)
        return out

    def forward(self, x, gate_input, *, prior=None, context=None, neighbors=None,
                expert_weights=None, target=None):
        gate_out = self.gate(gate_input, prior=prior)
        probs = gate_out.probs
        indices, weights = self.route(probs)
        training = expert_weights is not None and target is not None
        route, pairs = routing_pairs(indices, weights, self.n_experts,
                                     expert_weights if training else None)
        out = self._dispatch(x, pairs, context, neighbors)
        output, expert_loss = None, x.new_zeros(())
        if out is not None:
            w_route = route[pairs.rows, pairs.experts]
            output = x.new_zeros((x.shape[0], out.shape[1])).index_add(
                0, pairs.rows, w_route[:, None] * out)
            if training:
                w = expert_weights[pairs.rows, pairs.experts]
                per_pair = task_loss(out, target[pairs.rows], self.task, "none")
                expert_loss = (w * per_pair).sum() / w.sum().clamp_min(1e-8)
        aux = {
            "load_balance": load_balance_loss(probs, indices[:, 0]),
            "entropy": routing_entropy(probs),
            "gate": gate_out.aux_loss,
            "expert": expert_loss,
        }
        return MoEOutput(output, aux, (indices, weights), probs)

    def __repr__(self):
        return (f"{type(self).__name__}(n_experts={self.n_experts}, top_k={self.top_k}, "
                f"task={self.task!r},\n  gate={self.gate!r},\n  expert={self.experts[0]!r})")
