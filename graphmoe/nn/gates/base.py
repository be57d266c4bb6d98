"""The gate interface shared by every router.

A gate maps a batch of gate inputs ``z (n, d)`` to routing probabilities
``(n, n_experts)`` whose rows sum to 1. Two kinds exist:

* fixed routers (graph, k-means, GMM, labels, oracle, dfcp) decide from data
  with numpy/scikit-learn; their probabilities are computed once per data set
  by :meth:`Gate.prior_proba` and handed to :meth:`Gate.forward` as ``prior``;
* learned routers (softmax, DMVAE) are torch modules trained with the experts
  and ignore ``prior``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ...cluster.proba import normalize_rows  # noqa: F401 - re-exported to the gates

__all__ = ["Gate", "GateOutput", "one_hot", "normalize_rows", "split_logit_row"]


class GateOutput(NamedTuple):
    """``probs (n, n_experts)`` rows summing to 1; ``aux_loss`` the gate's own loss (scalar)."""

    probs: torch.Tensor
    aux_loss: torch.Tensor


def one_hot(labels, n_classes):
    """Dense float one-hot ``(n, n_classes)`` of integer ``labels``."""
    out = np.zeros((len(labels), n_classes))
    out[np.arange(len(labels)), np.asarray(labels, dtype=int)] = 1.0
    return out


@torch.no_grad()
def split_logit_row(linear, dead, donor):
    """Make output ``dead`` of a logit layer a near copy of ``donor``'s, halving both.

    Subtracting log 2 from both biases keeps the donor region's total
    probability while splitting it evenly; the small noise breaks the tie.
    """
    linear.weight[dead] = linear.weight[donor] + 1e-2 * torch.randn_like(linear.weight[donor])
    if linear.bias is not None:
        linear.bias[donor] -= float(np.log(2.0))
        linear.bias[dead] = linear.bias[donor]


class Gate(nn.Module):
    """Base class: a fixed router unless ``trainable`` is set by a subclass.

    Subclasses implement :meth:`fit` (set ``n_experts`` and, for fixed
    routers, ``train_prior_`` of shape (n_train, n_experts)) and either
    :meth:`prior_proba` (fixed) or :meth:`forward` (learned).
    """

    trainable = False
    #: routes by group labels given to ``fit`` (labels, oracle); :meth:`check_groups` enforces it
    needs_groups = False

    def __init__(self, n_experts=None):
        super().__init__()
        self.n_experts = None if n_experts is None else int(n_experts)
        self.train_prior_ = None

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        raise NotImplementedError

    def check_groups(self, groups, n_rows=None):
        """``ValueError`` when the gate needs group labels and ``groups`` is None or misaligned."""
        if not self.needs_groups:
            return
        if groups is None:
            raise ValueError(f"{type(self).__name__} needs group labels: call "
                             f"fit(X, y, groups=...).")
        if n_rows is not None and len(groups) != n_rows:
            raise ValueError(f"groups has {len(groups)} entries but X has {n_rows} rows.")

    def prior_proba(self, Z, groups=None):
        """Routing probabilities ``(n, n_experts)`` of new inputs; None for learned gates."""
        return None

    def forward(self, z, prior=None):
        if prior is None:
            raise ValueError(f"{type(self).__name__} is a fixed router: pass its prior "
                             f"probabilities.")
        return GateOutput(prior, z.new_zeros(()))

    def embedding(self, z):
        """A learned representation to re-cluster on, or None (the gate learns none)."""
        return None

    def __repr__(self):
        return f"{type(self).__name__}(n_experts={self.n_experts})"
