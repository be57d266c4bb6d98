"""Auxiliary losses of the mixture: load balance (Switch form) and routing entropy."""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["load_balance_loss", "routing_entropy", "task_loss"]


def load_balance_loss(probs, top1):
    """Switch Transformer's balance loss ``E * sum_e f_e P_e``.

    ``f_e`` is the fraction of points whose first choice is expert ``e`` and
    ``P_e`` the mean gate probability of ``e``; it equals 1 under perfectly
    uniform routing and grows as routing concentrates. ``probs (n, E)``,
    ``top1 (n,)``.
    """
    n_experts = probs.shape[1]
    f = torch.bincount(top1, minlength=n_experts).to(probs.dtype) / max(len(top1), 1)
    return n_experts * (f * probs.mean(dim=0)).sum()


def routing_entropy(probs):
    """Mean entropy of the routing distribution (nats); small means confident routing."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(dim=1).mean()


def task_loss(pred, target, task, reduction="mean"):
    """MSE for regression (``pred`` the prediction); NLL for classification.

    For classification ``pred`` holds class probabilities (the mixture of the
    experts' softmax outputs) and targets equal to -1 are ignored (unlabelled).
    """
    if task == "regression":
        per = (pred - target).pow(2).mean(dim=1)
    else:
        labelled = target >= 0
        per = F.nll_loss(pred.clamp_min(1e-8).log(), target.clamp_min(0), reduction="none")
        per = per * labelled
        if reduction == "mean":
            return per.sum() / labelled.sum().clamp_min(1)
    return per.mean() if reduction == "mean" else per
