"""The multilayer-perceptron expert."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["MLPExpert"]


class MLPExpert(nn.Module):
    r"""A small MLP with an optional linear skip path.

    The skip path lets an expert represent an affine map exactly, which is
    what each group of the spiral benchmarks is: without it a ReLU network
    needs many epochs to bend its pieces into a straight line.

    Parameters
    ----------
    in_features, out_features : int
    hidden_dims : tuple of int, default=(32, 32)
    skip : bool, default=True
        Add ``Linear(in_features, out_features)(x)`` to the MLP's output.
    dropout : float, default=0.0

    Shapes
    ------
    input ``(n, in_features)`` -> output ``(n, out_features)``.
    """

    def __init__(self, in_features, out_features, hidden_dims=(32, 32), skip=True, dropout=0.0):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        layers, width = [], self.in_features
        for h in self.hidden_dims:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, self.out_features))
        self.body = nn.Sequential(*layers)
        self.skip = nn.Linear(self.in_features, self.out_features) if skip else None
        self.reset_parameters()

    def reset_parameters(self):
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    @torch.no_grad()
    def init_linear(self, weight, bias):
        """Start as the affine map ``x @ weight.T + bias``: skip path set, MLP output zeroed."""
        if self.skip is None:
            raise ValueError("init_linear needs the skip path (skip=True).")
        self.skip.weight.copy_(weight)
        self.skip.bias.copy_(bias)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + self.skip(x) if self.skip is not None else out

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_features}, {self.out_features}, "
                f"hidden_dims={self.hidden_dims}, skip={self.skip is not None})")
