"""Partition scores: ARI, AMI, NMI and Hungarian-matched clustering accuracy.

``score_partition`` scores on non-noise reference points and takes the best
over alternative reference labellings, as clustering benchmark batteries do.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (adjusted_mutual_info_score, adjusted_rand_score,
                             normalized_mutual_info_score)
from sklearn.metrics.cluster import contingency_matrix

__all__ = ["clustering_accuracy", "hungarian_match", "score_partition"]


def hungarian_match(y_true, y_pred):
    """Map predicted labels to reference labels maximising agreement.

    Returns a dict ``{pred_label: true_label}`` over the predicted labels that
    could be matched (extra predicted clusters stay unmatched).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"label arrays differ in shape: {y_true.shape} vs {y_pred.shape}.")
    t_vals, t_inv = np.unique(y_true, return_inverse=True)
    p_vals, p_inv = np.unique(y_pred, return_inverse=True)
    C = contingency_matrix(t_inv, p_inv)
    rows, cols = linear_sum_assignment(-C)
    return {p_vals[c]: t_vals[r] for r, c in zip(rows, cols)}


def clustering_accuracy(y_true, y_pred):
    """Best one-to-one matching accuracy between two labellings (in [0, 1])."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size == 0:
        raise ValueError("cannot score empty label arrays.")
    mapping = hungarian_match(y_true, y_pred)
    mapped = np.array([mapping.get(p, None) for p in y_pred], dtype=object)
    return float(np.mean(mapped == y_true))


def score_partition(y_pred, references, noise_label=None):
    """Score a partition against one or more reference labellings.

    Parameters
    ----------
    y_pred : array of shape (n,), predicted labels (``-1`` = noise is a cluster of its own).
    references : array of shape (n,) or list of such arrays (alternative ground truths).
    noise_label : int or None
        Reference label marking noise points; those points are left out of scoring.

    Returns
    -------
    dict with ``ari``, ``ami``, ``nmi``, ``acc`` each maximised over the references.
    """
    y_pred = np.asarray(y_pred)
    refs = [references] if np.ndim(references[0]) == 0 else list(references)
    best = {"ari": -np.inf, "ami": -np.inf, "nmi": -np.inf, "acc": -np.inf}
    for ref in refs:
        ref = np.asarray(ref)
        if ref.shape != y_pred.shape:
            raise ValueError(f"reference has shape {ref.shape}, prediction {y_pred.shape}.")
        keep = np.ones(len(ref), bool) if noise_label is None else ref != noise_label
        if not keep.any():
            continue
        r, p = ref[keep], y_pred[keep]
        scores = {
            "ari": adjusted_rand_score(r, p),
            "ami": adjusted_mutual_info_score(r, p),
            "nmi": normalized_mutual_info_score(r, p),
            "acc": clustering_accuracy(r, p),
        }
        best = {k: max(best[k], float(v)) for k, v in scores.items()}
    return best
