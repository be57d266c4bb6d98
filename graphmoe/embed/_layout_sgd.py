"""Negative-sampling SGD that lays a fuzzy graph out in a few dimensions (numba kernels).

The objective is the fuzzy cross-entropy of McInnes et al. 2018 (UMAP, section
3.2): low-dimensional similarity ``q(d) = 1 / (1 + a d^(2b))``; every edge
pulls its endpoints together with the gradient of ``log q`` and every sampled
non-edge pushes them apart with the gradient of ``log(1 - q)``. Each edge is
visited in proportion to its weight (an edge of weight w every ``w_max / w``
epochs) rather than weighted in the gradient, which keeps step sizes bounded.

Determinism: the kernel runs single-threaded over the edges in a fixed order
and draws negative samples from its own xorshift generator seeded by the
caller, so a given ``random_state`` always gives the same layout. The kernels
are compiled with ``cache=True``: the first process ever pays the compile
(a few seconds), later processes load it from ``__pycache__``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["edge_schedule", "attraction_curve", "run_epoch"]

#: gradient coefficients are clipped to this magnitude per coordinate, as the
#: UMAP paper does, so that a single close pair cannot throw a point away.
_CLIP = 4.0


def attraction_curve(min_dist, spread):
    """Parameters ``(a, b)`` of the similarity curve ``q(d) = 1 / (1 + a d^(2b))``.

    ``min_dist=None`` gives the Student-t curve ``a = 1 / spread^2, b = 1``.
    Otherwise the target is 1 for ``d < min_dist`` and
    ``exp(-(d - min_dist) / spread)`` beyond, sampled on ``[0, 3 spread]`` and
    fitted by least squares.
    """
    from scipy.optimize import curve_fit

    if min_dist is None:
        return 1.0 / spread**2, 1.0

    d = np.linspace(0.0, 3.0 * spread, 300)
    target = np.where(d < min_dist, 1.0, np.exp(-(d - min_dist) / spread))

    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2.0 * b))

    (a, b), _ = curve_fit(curve, d, target, p0=(1.0, 1.0), bounds=(1e-6, 10.0))
    return float(a), float(b)


def edge_schedule(graph, n_epochs):
    """Edges of the graph and how often each is visited.

    Edges lighter than ``w_max / n_epochs`` would never be visited and are dropped.

    Returns
    -------
    head, tail : ndarrays of shape (m,), int32
    epochs_per_sample : ndarray of shape (m,), float64
    """
    coo = graph.tocoo()
    w = coo.data.astype(np.float64)
    w_max = w.max() if w.size else 1.0
    keep = w >= w_max / n_epochs
    epochs_per_sample = w_max / w[keep]
    return (coo.row[keep].astype(np.int32), coo.col[keep].astype(np.int32),
            epochs_per_sample)


@njit(cache=True, inline="always")
def _xorshift(state):
    state ^= (state << np.uint64(13))
    state ^= (state >> np.uint64(7))
    state ^= (state << np.uint64(17))
    return state


@njit(cache=True, inline="always")
def _clip(value):
    if value > _CLIP:
        return _CLIP
    if value < -_CLIP:
        return -_CLIP
    return value


@njit(cache=True)
def run_epoch(emb, reference, head, tail, epochs_per_sample, next_sample, next_negative,
              epoch, a, b, repulsion, alpha, negative_rate, n_fixed, state):
    """One epoch of SGD over the edges that are due; returns the new RNG state.

    ``emb`` (n_free, d) is updated in place; ``reference`` (n_ref, d) holds the
    points that negatives are drawn from and that tails point into. When
    ``reference`` is ``emb`` (fitting) tails move too; when placing new points
    (``n_fixed > 0``) the reference stays fixed. ``next_sample`` and
    ``next_negative`` carry each edge's schedule between epochs.
    """
    n_ref = reference.shape[0]
    move_tail = n_fixed == 0
    for e in range(head.shape[0]):
        if next_sample[e] > epoch:
            continue
        i = head[e]
        j = tail[e]
        d2 = 0.0
        for c in range(emb.shape[1]):
            diff = emb[i, c] - reference[j, c]
            d2 += diff * diff
        if d2 > 0.0:
            # d2^(b-1) and d2^b from one power: pow is the costliest step here.
            pow_b1 = 1.0 if b == 1.0 else d2 ** (b - 1.0)
            coef = -2.0 * a * b * pow_b1 / (1.0 + a * pow_b1 * d2)
            for c in range(emb.shape[1]):
                step = _clip(coef * (emb[i, c] - reference[j, c])) * alpha
                emb[i, c] += step
                if move_tail:
                    reference[j, c] -= step
        next_sample[e] += epochs_per_sample[e]
        per_negative = epochs_per_sample[e] / negative_rate
        n_neg = int((epoch - next_negative[e]) / per_negative)
        for _ in range(n_neg):
            state = _xorshift(state)
            k = np.int64(state >> np.uint64(33)) % n_ref
            if move_tail and k == i:
                continue
            d2 = 0.0
            for c in range(emb.shape[1]):
                diff = emb[i, c] - reference[k, c]
                d2 += diff * diff
            # Coincident points have no direction to push along; skip them.
            if d2 > 0.0:
                pow_b = d2 if b == 1.0 else d2 ** b
                coef = 2.0 * repulsion * b / ((0.001 + d2) * (1.0 + a * pow_b))
                for c in range(emb.shape[1]):
                    emb[i, c] += _clip(coef * (emb[i, c] - reference[k, c])) * alpha
        next_negative[e] += n_neg * per_negative
    return state
