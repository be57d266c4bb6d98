"""Routing helpers of the DMVAE gate: pruning, hard routing, calibration, teacher-labelled copies."""
from __future__ import annotations

import numpy as np
import torch

from ..distill import soft_cross_entropy

__all__ = ["calibrate_logits", "hard_routing", "jittered_teacher_rows", "neighbor_spacing", "pretrain_elbo",
           "prune_weights"]


def neighbor_spacing(z, rng, n_probe=1000):
    """Median distance from a row to its nearest other row (a sample of ``n_probe`` rows)."""
    probe = z[torch.as_tensor(rng.choice(len(z), min(n_probe, len(z)), replace=False))]
    d = torch.cdist(probe, z)
    d[d <= 0] = float("inf")  # the row itself (and exact duplicates)
    return float(d.min(dim=1).values.median()) if len(z) > 1 else 0.0


def prune_weights(probs, min_weight):
    """``probs (n, K)`` with entries below ``min_weight`` set to 0 and rows renormalised.

    A row's largest entry is always kept, so no row is emptied. Gradients
    pass through the kept entries.
    """
    if min_weight <= 0:
        return probs
    keep = (probs >= min_weight) | (probs == probs.max(dim=-1, keepdim=True).values)
    kept = probs * keep
    return kept / kept.sum(dim=-1, keepdim=True).clamp_min(1e-12)


def hard_routing(probs):
    """One-hot rows of each row's largest entry (the lowest index on ties); no gradient."""
    return torch.zeros_like(probs).scatter_(1, probs.argmax(dim=-1, keepdim=True), 1.0)


def jittered_teacher_rows(z, target, teacher, sigma, budget, rng):
    """The rows plus jittered copies labelled by ``teacher``; noise 1 to 8 ``sigma``.

    1 to 8 copies of each row, at most ``budget`` in all (rows drawn without
    replacement when there are more). Returns ``(rows, targets)`` tensors,
    the original rows first.
    """
    n, budget = len(z), max(int(budget), 1)
    if n > budget:
        source = rng.choice(n, budget, replace=False)
    else:
        source = np.tile(np.arange(n), min(8, budget // n))
    # three in four near the rows (1 to 2 sigma), where boundaries between clusters
    # need the density; one in four out to 8 sigma, beyond the ends of clusters
    far = rng.uniform(size=(len(source), 1)) < 0.25
    scale = sigma * np.where(far, 2.0 ** rng.uniform(0.0, 3.0, size=far.shape),
                             rng.uniform(1.0, 2.0, size=far.shape))
    noisy = z.numpy()[source] + scale * rng.standard_normal((len(source), z.shape[1]))
    labels = np.asarray(teacher(noisy), dtype=np.float32)
    return (torch.cat([z, torch.as_tensor(noisy, dtype=torch.float32)]),
            torch.cat([target, torch.as_tensor(labels)]))


def pretrain_elbo(module, z, rng, batch_size, epochs, learning_rate, temperature):
    """DVMoE: train ``module`` (a ``DMVAEModule``) on the negative ELBO alone for ``epochs`` passes."""
    optimizer = torch.optim.Adam(module.parameters(), lr=learning_rate)
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(len(z)), max(1, len(z) // batch_size)):
            idx = torch.as_tensor(idx)
            out = module(z[idx], temperature=temperature)
            loss = module.elbo_loss(z[idx], out)[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


@torch.no_grad()
def calibrate_logits(logits_of, last, z, membership, scales=np.geomspace(0.5, 64.0, 43)):
    """Scale the logit layer ``last`` so that ``logits_of(z)`` is as sharp as ``membership``.

    Distillation stops while ``q(c|z)`` is still softer than a mostly hard
    membership; the soft tails mix experts where the hierarchy does not.
    One temperature (Guo et al. 2017's calibration), chosen on the grid
    ``scales`` by cross-entropy to the membership, restores the sharpness
    without moving any decision boundary. Returns the scale.
    """
    logits = logits_of(z)
    losses = [float(soft_cross_entropy(torch.log_softmax(s * logits, dim=-1), membership))
              for s in scales]
    scale = float(scales[int(np.argmin(losses))])
    last.weight.mul_(scale)
    last.bias.mul_(scale)
    return scale
