"""Spiral generators of DESIGN.md and per-group affine regression targets.

Shapes: every generator returns ``X`` of shape (n_arms * n_per_arm, 2) and the
generating arm ``labels`` of shape (n_arms * n_per_arm,), arms in blocks.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_random_state

__all__ = ["make_pinwheel_spirals", "make_interleaved_spirals", "make_affine_targets"]


def _check_sizes(n_per_arm, n_arms):
    if int(n_per_arm) < 1 or int(n_arms) < 1:
        raise ValueError(f"n_per_arm and n_arms must be >= 1, got {n_per_arm} and {n_arms}.")
    return int(n_per_arm), int(n_arms)


def make_pinwheel_spirals(n_per_arm=1000, n_arms=5, noise=0.05, random_state=None):
    """Pinwheel spirals of the DMVAE report.

    Arm ``j`` has ``n_per_arm`` points with radius ``r = linspace(2.5, 10)`` and
    angle ``linspace(1.25 j, 1.25 (j + 1)) + N(0, noise)``; a point is
    ``(r sin(angle), r cos(angle))``. Arms touch only at their ends, so
    connectivity separates them easily while k-means (ARI about 0.67) does not.

    Returns
    -------
    X : ndarray of shape (n_arms * n_per_arm, 2)
    labels : ndarray of shape (n_arms * n_per_arm,), the arm of each point.
    """
    n_per_arm, n_arms = _check_sizes(n_per_arm, n_arms)
    rng = check_random_state(random_state)
    r = np.linspace(2.5, 10.0, n_per_arm)
    X, labels = [], []
    for j in range(n_arms):
        angle = np.linspace(1.25 * j, 1.25 * (j + 1), n_per_arm)
        angle = angle + rng.normal(0.0, noise, n_per_arm)
        X.append(np.column_stack([r * np.sin(angle), r * np.cos(angle)]))
        labels.append(np.full(n_per_arm, j))
    return np.vstack(X), np.concatenate(labels)


def make_interleaved_spirals(n_per_arm=400, n_arms=5, noise=0.1, random_state=None):
    """Arms that wind around each other: the case graphmoe exists for.

    For arm ``a``: ``t = sqrt(U(0.15, 1)) * 3 pi``, ``angle = t + 2 pi a / n_arms``,
    point ``= t (cos(angle), sin(angle)) + N(0, noise^2 I)``. Every arm passes
    through every sector, so centroid methods fail (k-means ARI about 0.02).

    Returns
    -------
    X : ndarray of shape (n_arms * n_per_arm, 2)
    labels : ndarray of shape (n_arms * n_per_arm,)
    """
    n_per_arm, n_arms = _check_sizes(n_per_arm, n_arms)
    rng = check_random_state(random_state)
    X, labels = [], []
    for a in range(n_arms):
        t = np.sqrt(rng.uniform(0.15, 1.0, n_per_arm)) * 3.0 * np.pi
        angle = t + 2.0 * np.pi * a / n_arms
        pts = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        X.append(pts + rng.normal(0.0, noise, (n_per_arm, 2)))
        labels.append(np.full(n_per_arm, a))
    return np.vstack(X), np.concatenate(labels)


def make_affine_targets(X, groups, n_targets=1, weight_scale=1.0, bias_scale=3.0,
                        random_state=None, return_params=False):
    """Regression targets with one affine map per group: ``y = W_c x + b_c``.

    ``W_c ~ N(0, weight_scale^2)``, ``b_c ~ N(0, bias_scale^2)``. A router that
    mixes groups cannot fit them, which makes routing quality visible in MSE.

    Returns
    -------
    y : ndarray of shape (n_samples,) when ``n_targets == 1``, else (n_samples, n_targets)
    params : tuple (W, b) with shapes (n_groups, n_features, n_targets) and
        (n_groups, n_targets); only when ``return_params``.
    """
    X = np.asarray(X, dtype=float)
    groups = np.asarray(groups)
    if groups.shape[0] != X.shape[0]:
        raise ValueError(f"groups has {groups.shape[0]} entries but X has {X.shape[0]} rows.")
    rng = check_random_state(random_state)
    uniq, inv = np.unique(groups, return_inverse=True)
    W = rng.normal(0.0, weight_scale, (len(uniq), X.shape[1], n_targets))
    b = rng.normal(0.0, bias_scale, (len(uniq), n_targets))
    y = np.einsum("nd,ndt->nt", X, W[inv]) + b[inv]
    y = y[:, 0] if n_targets == 1 else y
    return (y, (W, b)) if return_params else y
