"""Keeping expert identities stable across re-clusterings, and spotting collapsed experts."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["ExpertMatch", "match_experts", "collapsed_experts", "expert_load"]


class ExpertMatch(NamedTuple):
    """Result of :func:`match_experts`.

    cluster_of_expert : (n_experts_new,) new cluster served by each surviving
        or spawned expert; survivors first, in their old order, then spawned ones.
    kept : (n_kept,) old expert indices that survive, in order.
    spawned_from : (n_spawned,) old expert with the largest overlap with each
        spawned expert's cluster (its initialisation), -1 when none overlaps.
    retired : (n_retired,) old experts whose cluster vanished.
    overlap : (n_old, n_new) the overlap counts matched on.
    """

    cluster_of_expert: np.ndarray
    kept: np.ndarray
    spawned_from: np.ndarray
    retired: np.ndarray
    overlap: np.ndarray


def match_experts(old_expert_of_point, new_labels, n_old, n_new):
    """Match new clusters to existing experts by maximum overlap (Hungarian).

    Parameters
    ----------
    old_expert_of_point : (n,) int, the expert each point was routed to (-1: none)
    new_labels : (n,) int, the new cluster of each point (-1: noise)
    n_old, n_new : int

    A matched pair with zero overlap is not a match: that old expert retires
    and the new cluster gets a spawned expert.
    """
    old = np.asarray(old_expert_of_point)
    new = np.asarray(new_labels)
    both = (old >= 0) & (new >= 0)
    overlap = np.zeros((n_old, n_new))
    np.add.at(overlap, (old[both], new[both]), 1.0)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    good = overlap[rows, cols] > 0
    rows, cols = rows[good], cols[good]
    order = np.argsort(rows)
    kept, kept_clusters = rows[order], cols[order]
    new_clusters = np.setdiff1d(np.arange(n_new), kept_clusters)
    spawned_from = np.array([overlap[:, c].argmax() if overlap[:, c].max() > 0 else -1
                             for c in new_clusters], dtype=int)
    return ExpertMatch(
        cluster_of_expert=np.concatenate([kept_clusters, new_clusters]).astype(int),
        kept=kept.astype(int),
        spawned_from=spawned_from,
        retired=np.setdiff1d(np.arange(n_old), kept).astype(int),
        overlap=overlap,
    )


def expert_load(probs):
    """Share of the routing mass each expert receives: ``probs (n, E)`` -> ``(E,)``, sums to 1."""
    probs = np.asarray(probs, dtype=float)
    return probs.sum(axis=0) / max(probs.sum(), 1e-12)


def collapsed_experts(load, threshold):
    """Experts whose load is below ``threshold / n_experts`` (a fraction of the fair share)."""
    load = np.asarray(load, dtype=float)
    return np.flatnonzero(load < threshold / len(load))
