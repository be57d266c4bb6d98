"""Pair ("contrast") routing for points whose membership is split between two experts.

Where two clusters meet (the centre and the rims of interleaved spirals, the
border between two digit classes) a point's soft membership is shared by two
experts. Blending their outputs there is wrong for both whenever the experts
disagree: 7 % of the neighbouring arm's affine map is an error of order one.
A pair of experts is instead *contrasted*: the point's training neighbours
that belong to either of the two clusters vote for the expert of the pair
that fits them better, and the point goes to the winner alone.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["split_rows", "contrast_prior", "expert_losses"]


def split_rows(prior, threshold=1e-6):
    """Rows whose two largest gate probabilities both exceed ``threshold``, and those two.

    Returns ``rows (m,)``, ``first (m,)``, ``second (m,)`` (expert ids).
    """
    prior = np.asarray(prior)
    if prior.shape[1] < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    top2 = np.argsort(-prior, axis=1, kind="stable")[:, :2]
    second = np.take_along_axis(prior, top2[:, 1:], axis=1)[:, 0]
    rows = np.flatnonzero(second > threshold)
    return rows, top2[rows, 0], top2[rows, 1]


def contrast_prior(prior, neighbors, owner, losses, threshold=1e-6, distances=None):
    """``prior`` with every split row sent to the better expert of its two.

    Parameters
    ----------
    prior : ndarray of shape (n, E)
        Gate probabilities (fixed router), rows summing to 1.
    neighbors : ndarray of shape (n, k)
        Training-set neighbours of each row (ids into ``owner`` and ``losses``).
    owner : ndarray of shape (n_train,)
        Expert each training point belongs to (its first membership).
    losses : ndarray of shape (n_train, E)
        Loss of each expert on each training point; lower is better.
    distances : ndarray of shape (n, k), optional
        Distances to ``neighbors``, nearest first. A row at distance 0 from a
        training point is that point: it goes to its owner when the owner is
        one of its pair, so training points keep their cluster's expert.

    Returns
    -------
    ndarray of shape (n, E): a copy; split rows one-hot on the pair's winner
    (the votes of the neighbours owned by either expert; a row with no such
    neighbour, or a tie, keeps its larger expert).
    """
    out = np.array(prior, dtype=float, copy=True)
    rows, first, second = split_rows(out, threshold)
    if not len(rows):
        return out
    nb = np.asarray(neighbors)[rows]
    in_pair = (owner[nb] == first[:, None]) | (owner[nb] == second[:, None])
    prefers_second = losses[nb, second[:, None]] < losses[nb, first[:, None]]
    votes_second = (in_pair & prefers_second).sum(axis=1)
    votes_first = (in_pair & ~prefers_second).sum(axis=1)
    winner = np.where(votes_second > votes_first, second, first)
    if distances is not None:
        nearest = owner[nb[:, 0]]
        itself = (np.asarray(distances)[rows, 0] <= 0.0) & in_pair[:, 0]
        winner = np.where(itself, nearest, winner)
    out[rows] = 0.0
    out[rows, winner] = 1.0
    return out


@torch.no_grad()
def expert_losses(module, x, target, task, batch_size=4096):
    """Loss ``(n, E)`` of every expert of ``module`` on every row (MLP experts only)."""
    from .losses import task_loss

    module.eval()
    columns = []
    for expert in module.experts:
        parts = []
        for start in range(0, x.shape[0], batch_size):
            out = expert(x[start:start + batch_size])
            if task == "classification":
                out = torch.softmax(out, dim=-1)
            parts.append(task_loss(out, target[start:start + batch_size], task, "none"))
        columns.append(torch.cat(parts).reshape(-1))
    return torch.stack(columns, dim=1).cpu().numpy()
