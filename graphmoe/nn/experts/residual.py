"""A child expert that specialises a parent expert shared with its siblings."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResidualExpert"]


class ResidualExpert(nn.Module):
    r"""``parent(x) + child(x)``: the parent is shared by the children of one coarse cluster.

    A hierarchical expert: every fine cluster's expert is the sum of the
    expert of its coarse cluster (the same module object for all its
    siblings, so it trains on all of their points) and its own correction.
    The parent learns what the siblings have in common from more data; the
    child only learns how its cluster differs.

    Parameters
    ----------
    parent, child : nn.Module
        Experts with the same input and output sizes (``expert(x)``).

    Shapes
    ------
    input ``(n, in_features)`` -> output ``(n, out_features)``.
    """

    def __init__(self, parent, child):
        super().__init__()
        self.parent = parent
        self.child = child

    def reset_parameters(self):
        self.parent.reset_parameters()
        self.child.reset_parameters()

    @torch.no_grad()
    def init_linear(self, weight, bias):
        """The child starts as the affine fit and the parent at zero (it learns from there)."""
        self.child.init_linear(weight, bias)
        if hasattr(self.parent, "init_linear"):
            self.parent.init_linear(torch.zeros_like(weight), torch.zeros_like(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.parent(x) + self.child(x)

    def __repr__(self):
        return f"{type(self).__name__}(parent={self.parent!r}, child={self.child!r})"
