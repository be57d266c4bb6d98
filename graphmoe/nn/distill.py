"""One distillation loop: fit a network's ``log q(c | x)`` to a given soft assignment.

The learned gates (DMVAE, hierarchical) start by teaching a network the
partition a clustering found. :func:`distil` does it for both: soft
cross-entropy to the target rows, Adam, and early stopping on rows held out
of the fit, so the loop stops when the network generalises the partition
rather than after a fixed number of passes.
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch

from .._validation import check_random_state

__all__ = ["distil", "DistillResult", "soft_cross_entropy"]


class DistillResult(NamedTuple):
    """``epochs`` run; ``agreement`` of the kept weights' argmax with the target's on the
    held-out rows (the training rows when none are held out); ``loss`` their cross-entropy."""

    epochs: int
    agreement: float
    loss: float


def soft_cross_entropy(log_q, target):
    """``-mean_i sum_c target_ic log q_ic``: a scalar; ``target`` rows are distributions."""
    return -(target * log_q).sum(dim=1).mean()


@torch.no_grad()
def _evaluate(log_proba, x, target, batch_size=4096):
    loss, hits = 0.0, 0
    for start in range(0, len(x), batch_size):
        log_q = log_proba(x[start:start + batch_size])
        t = target[start:start + batch_size]
        loss += float(soft_cross_entropy(log_q, t)) * len(t)
        hits += int((log_q.argmax(dim=1) == t.argmax(dim=1)).sum())
    return loss / len(x), hits / len(x)


def _split(n, validation_fraction, rng):
    order = rng.permutation(n)
    n_val = int(round(validation_fraction * n))
    if n_val < 10 or n - n_val < 10:  # too few rows to hold any out: judge on the fit rows
        return order, order
    return order[n_val:], order[:n_val]


def distil(log_proba, module, x, target, *, epochs, learning_rate, batch_size=256,
           extra_loss=None, validation_fraction=0.1, patience=10, tol=1e-3,
           random_state=None):
    """Fit ``log_proba(x)`` to ``target`` by soft cross-entropy; keep the best held-out weights.

    Parameters
    ----------
    log_proba : callable
        ``x (b, d) -> log q (b, K)``, computed by ``module``'s parameters.
    module : torch.nn.Module
        Owner of every parameter trained here; its best state is restored.
    x : tensor of shape (n, d)
    target : tensor of shape (n, K)
        Rows summing to 1 (soft membership or one-hot labels).
    epochs : int
        Most passes over the fit rows; 0 trains nothing.
    learning_rate : float
        Of Adam.
    extra_loss : callable, optional
        ``idx (b,) -> scalar`` added to each minibatch loss (e.g. the DMVAE's
        generative terms over the same rows).
    validation_fraction : float, default=0.1
        Rows held out to judge the fit; none when that leaves fewer than 10.
    patience : int, default=10
        Stop after this many epochs without a held-out cross-entropy
        improvement; the weights of the best epoch are kept.
    tol : float, default=1e-3
        Improvement (nats) that counts. On separable data the cross-entropy
        keeps shrinking towards 0 as the network grows more confident on
        rows it already agrees on; such gains stop counting, so the loop ends
        once the assignment is learnt (calibration sets the confidence later).

    Returns
    -------
    DistillResult
    """
    rng = check_random_state(random_state)
    fit_rows, val_rows = _split(len(x), validation_fraction, rng)
    val_rows = torch.as_tensor(val_rows)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=learning_rate, foreach=True)
    was_training = module.training
    best = (np.inf, 0.0, copy.deepcopy(module.state_dict()), 0)
    n_batches = max(1, int(np.ceil(len(fit_rows) / batch_size)))
    epoch = 0
    for epoch in range(1, int(epochs) + 1):
        module.train()
        for idx in np.array_split(rng.permutation(fit_rows), n_batches):
            idx = torch.as_tensor(idx)
            loss = soft_cross_entropy(log_proba(x[idx]), target[idx])
            if extra_loss is not None:
                loss = loss + extra_loss(idx)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        module.eval()
        val_loss, agreement = _evaluate(log_proba, x[val_rows], target[val_rows])
        if val_loss < best[0] - tol:
            best = (val_loss, agreement, copy.deepcopy(module.state_dict()), epoch)
        elif epoch - best[3] >= patience:
            break
    if epoch:
        module.load_state_dict(best[2])
    else:
        best = (*_evaluate(log_proba, x[val_rows], target[val_rows]), None, 0)
    module.train(was_training)
    return DistillResult(epoch, float(best[1]), float(best[0]))
