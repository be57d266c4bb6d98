"""Observation models p(x | z): Bernoulli for data in [0, 1], Gaussian otherwise.

Decoders output one unconstrained value per feature: Bernoulli logits or the
Gaussian mean. The Gaussian has unit variance on *standardised* data (the
estimators standardise Gaussian inputs), so its negative log-likelihood is a
half sum of squared errors; a fixed variance keeps the ELBO's balance between
reconstruction and KL the same for every dataset.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["LIKELIHOODS", "choose_likelihood", "negative_log_likelihood", "mean_from_output"]

LIKELIHOODS = ("bernoulli", "gaussian")
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def choose_likelihood(X, likelihood="auto"):
    """Resolve ``"auto"`` from the data range and check an explicit choice fits it.

    ``"auto"`` picks Bernoulli when every value lies in [0, 1], Gaussian otherwise.
    Raises ``ValueError`` for Bernoulli with data outside [0, 1].
    """
    lo, hi = float(np.min(X)), float(np.max(X))
    in_unit = lo >= 0.0 and hi <= 1.0
    if likelihood == "auto":
        return "bernoulli" if in_unit else "gaussian"
    if likelihood == "bernoulli" and not in_unit:
        raise ValueError(
            f"likelihood='bernoulli' needs data in [0, 1], but X spans [{lo:.4g}, {hi:.4g}]; "
            "rescale X or use likelihood='gaussian'."
        )
    return likelihood


def negative_log_likelihood(x, output, likelihood):
    """-log p(x | z) summed over features; shape (n,)."""
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(output, x, reduction="none").sum(dim=1)
    return (0.5 * (x - output).pow(2) + _HALF_LOG_2PI).sum(dim=1)


def mean_from_output(output, likelihood):
    """E[x | z] from the decoder output."""
    return torch.sigmoid(output) if likelihood == "bernoulli" else output
