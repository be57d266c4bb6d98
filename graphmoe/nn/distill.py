"""One distillation loop: fit a network's ``log q(c | x)`` to a given soft assignment.

The learned gates (DMVAE, hierarchical) and the DMVAE embedder start by
teaching a network the partition a clustering found. :func:`distil` does it
for all three: soft cross-entropy to the target rows, Adam, and early
stopping on rows held out of the fit, so the loop stops when the network
generalises the partition rather than after a fixed number of passes (or,
for an initialisation that only has to be good enough, as soon as it agrees
on a given share of the rows: ``stop_agreement``).
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
    n_val = int(round(validation_fraction * n))
    if n_val < 10 or n - n_val < 10:  # too few rows to hold any out: judge on the fit rows
        rows = np.arange(n)  # (no random draw: the caller's stream is left as it is)
        return rows, rows
    order = rng.permutation(n)
    return order[n_val:], order[:n_val]


def distil(log_proba, module, x, target, *, epochs, learning_rate, batch_size=256,
           extra_loss=None, validation_fraction=0.1, patience=10, tol=1e-3,
           patience_steps=0, stop_agreement=None, random_state=None):
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
    patience_steps : int, default=0
        Patience in optimizer steps: the loop waits at least
        ``ceil(patience_steps / batches per epoch)`` epochs, so that a small
        data set (a batch or two per epoch) is not judged after a few dozen
        steps.
    tol : float, default=1e-3
        Improvement (nats) that counts. On separable data the cross-entropy
        keeps shrinking towards 0 as the network grows more confident on
        rows it already agrees on; such gains stop counting, so the loop ends
        once the assignment is learnt (calibration sets the confidence later).
    stop_agreement : float, optional
        Stop as soon as the held-out agreement reaches this (checked before
        the first epoch too), keeping the weights of that moment: for an
        initialisation that only has to be good enough (the DMVAE embedder's
        categorical encoder, which the ELBO then trains further).
    random_state : int, RandomState or None
        Draws the held-out rows and each epoch's order (``rng.permutation``
        of the fit rows); nothing else.

    Returns
    -------
    DistillResult
    """
    rng = check_random_state(random_state)
    fit_rows, val_rows = _split(len(x), validation_fraction, rng)
    val_rows = torch.as_tensor(val_rows)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    was_training = module.training
    best = (np.inf, 0.0, copy.deepcopy(module.state_dict()), 0)
    n_batches = max(1, int(np.ceil(len(fit_rows) / batch_size)))
    patience = max(int(patience), int(np.ceil(patience_steps / n_batches)))
    epoch = 0
    for epoch in range(1, int(epochs) + 1):
        if stop_agreement is not None:
            module.eval()
            val_loss, agreement = _evaluate(log_proba, x[val_rows], target[val_rows])
            if agreement >= stop_agreement:  # good enough already: keep these weights
                module.train(was_training)
                return DistillResult(epoch - 1, float(agreement), float(val_loss))
        module.train()
        order = rng.permutation(fit_rows)
        for start in range(0, len(order), batch_size):  # the last batch takes the remainder
            idx = torch.as_tensor(order[start:start + batch_size])
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
