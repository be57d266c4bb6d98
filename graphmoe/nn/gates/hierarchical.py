"""The hierarchical gate: a softmax at every internal node of the cluster tree."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..distill import distil
from .base import Gate, GateOutput

__all__ = ["HierarchicalGate", "expert_tree"]


def expert_tree(hierarchy, leaf_nodes):
    """The part of ``hierarchy`` above ``leaf_nodes`` (one leaf per expert).

    Returns ``(internal, routes)``: ``internal`` lists ``(node, children)`` for
    every ancestor that splits into at least two branches holding experts,
    coarse to fine; ``routes[e]`` lists ``(i, j)``: at ``internal[i]`` expert
    ``e`` lies below child ``j``. Nodes with one expert-holding branch route
    with probability 1 and are left out.
    """
    leaf_nodes = [int(n) for n in leaf_nodes]
    paths = []
    for leaf in leaf_nodes:
        path, node = [leaf], leaf
        while hierarchy.parent(node) >= 0:
            node = hierarchy.parent(node)
            path.append(node)
        paths.append(path[::-1])  # root first
    on_path = {n for p in paths for n in p}
    internal, index = [], {}
    for node in sorted({n for p in paths for n in p[:-1]}):  # parents number before children
        branches = [c for c in hierarchy.children(node) if c in on_path]
        if len(branches) >= 2:
            index[node] = len(internal)
            internal.append((node, branches))
    routes = []
    for path in paths:
        routes.append([(index[a], internal[index[a]][1].index(b))
                       for a, b in zip(path[:-1], path[1:]) if a in index])
    return internal, routes


class HierarchicalGate(Gate):
    r"""A hierarchical mixture-of-experts gate over the cluster tree.

    Each internal node ``v`` has a softmax head ``f_v`` (linear, or a small MLP)
    over its expert-holding children; an expert's probability is the product
    of the choices along the path from the root to its leaf,
    ``p(e | z) = prod_v softmax(f_v(z))[child]``,
    so coarse splits are decided first and the rows sum to 1 by construction.
    Initialised by distilling the hierarchy's soft membership; during joint
    training that membership stays as an anchor (``anchor_weight``).

    Parameters
    ----------
    in_features : int
    hierarchy : ClusterHierarchy
    leaf_nodes : sequence of int, node of each expert
    hidden_dims : tuple of int, default=(64, 64)
        Hidden layers of each node's head; () for linear heads.
    distill_epochs : int, default=100
    learning_rate : float, default=1e-2
    anchor_weight : float, default=1.0
    """

    trainable = True

    def __init__(self, in_features, hierarchy, leaf_nodes, hidden_dims=(64, 64),
                 distill_epochs=100, learning_rate=1e-2, anchor_weight=1.0):
        super().__init__(len(leaf_nodes))
        self.in_features = int(in_features)
        self.internal, routes = expert_tree(hierarchy, leaf_nodes)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.heads = nn.ModuleList(self._head(len(children)) for _, children in self.internal)
        offsets = np.cumsum([0] + [len(c) for _, c in self.internal])
        path_matrix = torch.zeros(int(offsets[-1]), self.n_experts)
        for e, route in enumerate(routes):
            for i, j in route:
                path_matrix[offsets[i] + j, e] = 1.0
        self.register_buffer("path_matrix", path_matrix)
        self.distill_epochs, self.learning_rate = int(distill_epochs), float(learning_rate)
        self.anchor_weight = float(anchor_weight)
        self.reset_parameters()

    def _head(self, n_out):
        layers, width = [], self.in_features
        for h in self.hidden_dims:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        return nn.Sequential(*layers, nn.Linear(width, n_out))

    def reset_parameters(self):
        for module in self.heads.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def log_proba(self, z):
        """``log p(e | z)`` of shape (n, n_experts)."""
        if not self.heads:  # a single expert
            return z.new_zeros((z.shape[0], self.n_experts))
        logp = torch.cat([torch.log_softmax(head(z), dim=-1) for head in self.heads], dim=1)
        return logp @ self.path_matrix

    def forward(self, z, prior=None):
        log_p = self.log_proba(z)
        aux = z.new_zeros(())
        if prior is not None and self.anchor_weight:
            aux = -self.anchor_weight * (prior * log_p).sum(dim=1).mean()
        return GateOutput(log_p.exp(), aux)

    def fit(self, Z, *, membership=None, groups=None, random_state=None, batch_size=256):
        self.train_prior_ = membership
        if membership is None or not self.heads:
            return self
        z = torch.as_tensor(np.asarray(Z), dtype=torch.float32)
        target = torch.as_tensor(np.asarray(membership), dtype=torch.float32)
        self.distill_ = distil(self.log_proba, self.heads, z, target,
                               epochs=self.distill_epochs, learning_rate=self.learning_rate,
                               batch_size=batch_size, random_state=random_state)
        return self

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_features}, n_experts={self.n_experts}, "
                f"internal_nodes={len(self.internal)})")
