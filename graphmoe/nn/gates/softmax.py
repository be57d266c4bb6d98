"""The learned softmax gate: the report's "Deep MoE" baseline."""
from __future__ import annotations

import torch
from torch import nn

from .base import Gate, GateOutput, split_logit_row

__all__ = ["SoftmaxGate"]


class SoftmaxGate(Gate):
    """A linear (or small MLP) gate ``softmax(f(z))`` trained with the experts.

    Parameters
    ----------
    in_features, n_experts : int
    hidden_dims : tuple of int, default=()
        Hidden layers of ``f``; empty means a linear gate.
    """

    trainable = True

    def __init__(self, in_features, n_experts, hidden_dims=()):
        super().__init__(n_experts)
        self.in_features = int(in_features)
        layers, width = [], self.in_features
        for h in hidden_dims:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, self.n_experts))
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self):
        for module in self.net:
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        return self

    def forward(self, z, prior=None):
        return GateOutput(torch.softmax(self.net(z), dim=-1), z.new_zeros(()))

    def reseed_expert(self, dead, donor):
        split_logit_row(self.net[-1], dead, donor)

    def __repr__(self):
        return f"{type(self).__name__}({self.in_features}, n_experts={self.n_experts})"
