"""Small built-in datasets: two moons and scikit-learn's 8x8 digits."""
from __future__ import annotations

import numpy as np
from sklearn import datasets as _skd

__all__ = ["make_moons", "load_digits"]


def make_moons(n_samples=2000, noise=0.06, random_state=None):
    """Two interleaving half circles (scikit-learn's generator, graphmoe defaults).

    Returns ``X`` of shape (n_samples, 2) and ``labels`` of shape (n_samples,).
    """
    return _skd.make_moons(n_samples=n_samples, noise=noise, random_state=random_state)


def load_digits(scale=True):
    """scikit-learn's 1,797 8x8 digit images as rows of 64 pixels.

    ``scale=True`` divides by 16 so pixels lie in [0, 1] (Bernoulli-friendly).
    Returns ``X`` (1797, 64) float64 and ``labels`` (1797,) int.
    """
    bunch = _skd.load_digits()
    X = bunch.data.astype(np.float64)
    return (X / 16.0 if scale else X), bunch.target.astype(np.int64)
