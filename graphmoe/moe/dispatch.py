"""Grouped sparse dispatch: the (row, expert) pairs of a batch run as one batched call.

A top-k MoE runs expert ``e`` only on the rows routed to it (plus, during
training, its halo rows). Run one expert at a time, that is a Python loop of
E small forward and backward passes whose per-call overhead dominates at the
batch sizes a MoE trains with. Here the pairs are sorted by expert and cut
into tiles of ``tile`` rows, each tile holding rows of one expert only
(grouped GEMM); the experts' weights are stacked along a new first axis
(``torch.stack`` is differentiable, so the gradients land in each expert's own
parameters) and gathered per tile, and every layer of all tiles runs as one
``torch.baddbmm``. The tile is the mean group size, so padding costs at most
as many rows again as the pairs themselves, whatever the routing's imbalance.

:class:`~graphmoe.nn.experts.MLPExpert` (and parent + child experts made
of them, whose shared parent is stacked once per expert) runs on hand-written
batched matmuls; another expert type that declares ``groupable = True`` (a pure
function of its parameters and input) is batched with ``torch.func.vmap``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

__all__ = ["Pairs", "routing_pairs", "group_mode", "grouped_forward"]

_ELEMENTWISE = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh, nn.GELU: F.gelu,
                nn.Identity: lambda h: h}


class Pairs:
    """The active ``(row, expert)`` pairs of a batch, sorted by expert then row.

    ``rows (P,)`` and ``experts (P,)`` name the pairs; ``tile (P,)`` and
    ``pos (P,)`` place each pair in the padded ``(n_tiles, tile_size, in)``
    block; ``tile_expert (n_tiles,)`` is the expert of each tile.
    """

    def __init__(self, active, tile_size=None):
        self.experts, self.rows = active.T.nonzero(as_tuple=True)
        counts = active.sum(dim=0)
        n_pairs, n_used = len(self.rows), int((counts > 0).sum())
        if tile_size is None:  # the mean group size, a multiple of 8 for the matmul kernels
            tile_size = -(-n_pairs // max(n_used, 1))
            tile_size = max(8, -(-tile_size // 8) * 8)
        self.tile_size = int(tile_size)
        n_tiles = -(-counts // self.tile_size)  # per expert
        first_tile = torch.cumsum(n_tiles, 0) - n_tiles
        within = (torch.arange(n_pairs, device=counts.device)
                  - (torch.cumsum(counts, 0) - counts)[self.experts])
        self.tile = first_tile[self.experts] + within // self.tile_size
        self.pos = within % self.tile_size
        self.tile_expert = torch.repeat_interleave(
            torch.arange(len(counts), device=counts.device), n_tiles)

    def __len__(self):
        return len(self.rows)


def routing_pairs(indices, weights, n_experts, expert_weights=None):
    """Dense routing weights ``(n, E)`` and the :class:`Pairs` that must run.

    A pair runs when its routing weight is positive or, during training, when
    its member + halo weight ``expert_weights (n, E)`` is.
    """
    route = torch.zeros(indices.shape[0], n_experts, dtype=weights.dtype,
                        device=weights.device).scatter_(1, indices, weights)
    active = route > 0
    if expert_weights is not None:
        active = active | (expert_weights > 0)
    return route, Pairs(active)


def _mlp_layers(expert):
    """The MLPExpert's body as a list, or None when it holds a layer we cannot batch."""
    layers = list(expert.body)
    ok = all(isinstance(m, (nn.Linear, nn.Dropout, *_ELEMENTWISE)) for m in layers)
    return layers if ok else None


def group_mode(experts):
    """How ``experts`` can run grouped: "bmm", "vmap", or None (one call per expert).

    Grouping needs one architecture (same type, same parameter shapes), no
    buffers and no graph input.
    """
    first = experts[0]
    if getattr(first, "needs_graph", False) or any(True for _ in first.buffers()):
        return None
    shapes = [(n, p.shape) for n, p in first.named_parameters()]
    if not all(type(e) is type(first) and repr(e) == repr(first)
               and [(n, p.shape) for n, p in e.named_parameters()] == shapes
               for e in experts):
        return None
    if _bmm_able(first):
        return "bmm"
    return "vmap" if getattr(first, "groupable", False) else None


def _bmm_able(expert):
    """An MLPExpert of batchable layers, or parent + child experts made of such."""
    from ..nn.experts import MLPExpert, ResidualExpert

    if type(expert) is ResidualExpert:
        return _bmm_able(expert.parent) and _bmm_able(expert.child)
    return type(expert) is MLPExpert and _mlp_layers(expert) is not None


def _linear(layers, h, tile_expert):
    """All tiles through their expert's copy of one linear layer: ``(T, s, in) -> (T, s, out)``."""
    weight = torch.stack([m.weight for m in layers])[tile_expert].transpose(1, 2)
    if layers[0].bias is None:
        return torch.bmm(h, weight)
    return torch.baddbmm(torch.stack([m.bias for m in layers])[tile_expert, None], h, weight)


def _mlp_forward(experts, block, tile_expert):
    first, h = experts[0], block
    # parent + child: both parts batched. A parent shared by all is stacked once per
    # expert like the others: run once on the flat block instead, its rows would depend on
    # the batch's size in float32 rounding (predictions of a row subset would differ)
    if hasattr(first, "parent"):
        return (_mlp_forward([e.parent for e in experts], block, tile_expert)
                + _mlp_forward([e.child for e in experts], block, tile_expert))
    for i, layer in enumerate(first.body):
        if isinstance(layer, nn.Linear):
            h = _linear([e.body[i] for e in experts], h, tile_expert)
        elif isinstance(layer, nn.Dropout):
            h = F.dropout(h, layer.p, layer.training)
        else:
            h = _ELEMENTWISE[type(layer)](h)
    if first.skip is not None:
        h = h + _linear([e.skip for e in experts], block, tile_expert)
    return h


def _vmap_forward(experts, block, tile_expert):
    names = [name for name, _ in experts[0].named_parameters()]
    params = [dict(e.named_parameters()) for e in experts]
    stacked = {name: torch.stack([p[name] for p in params])[tile_expert] for name in names}

    def one_tile(theta, rows):
        return functional_call(experts[0], theta, (rows,))

    return vmap(one_tile, randomness="different")(stacked, block)


def grouped_forward(experts, x, pairs, mode):
    """Outputs ``(P, out)`` of each pair's expert on its row, in ``pairs`` order."""
    if len(pairs) == 0:
        return None
    block = x.new_zeros((len(pairs.tile_expert), pairs.tile_size, x.shape[1]))
    block[pairs.tile, pairs.pos] = x[pairs.rows]
    forward = _mlp_forward if mode == "bmm" else _vmap_forward
    out = forward(list(experts), block, pairs.tile_expert)  # (n_tiles, tile_size, out)
    return out[pairs.tile, pairs.pos]
