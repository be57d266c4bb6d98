"""Routing probabilities over a fitted clustering's clusters (noise mass folded back in).

Beside :mod:`graphmoe.cluster.membership`, which computes the soft membership
with its explicit noise column, this module turns that membership into what a
router needs: one probability per cluster, rows summing to 1, for training
rows and new rows alike.
"""
from __future__ import annotations

import numpy as np

__all__ = ["cluster_proba", "normalize_rows"]


def normalize_rows(P):
    """Rows scaled to sum to 1; an all-zero row becomes uniform (no evidence, no preference)."""
    P = np.clip(np.asarray(P, dtype=float), 0.0, None)
    s = P.sum(axis=1, keepdims=True)
    uniform = np.full_like(P, 1.0 / P.shape[1])
    return np.where(s > 1e-12, P / np.where(s > 1e-12, s, 1.0), uniform)


def _dense(M):
    return M.toarray() if hasattr(M, "toarray") else np.asarray(M, dtype=float)


def cluster_proba(clustering, Z=None):
    """Soft membership over the clusters only, rows summing to 1: ``(n, n_clusters)``.

    The clustering's last column holds the noise mass; it is dropped and the
    cluster columns renormalised, so a noise point is routed by whatever
    membership it has. A point with none is routed to the cluster that most
    of its training neighbours belong to. A clustering that found no cluster
    yields one column: the whole data set as a single cluster.

    Parameters
    ----------
    clustering : fitted ConnectivityClustering
    Z : array-like of shape (n, d), optional
        New rows in the clustering's input space; None means its training rows.
    """
    n_clusters = int(clustering.n_clusters_)
    n_rows = len(clustering.labels_) if Z is None else len(Z)
    if n_clusters < 1:
        return np.ones((n_rows, 1))
    P = _dense(clustering.membership_ if Z is None else clustering.predict_proba(Z))
    P = np.clip(P[:, :n_clusters], 0.0, None)
    empty = np.flatnonzero(P.sum(axis=1) <= 1e-12)
    if len(empty):
        labels = np.asarray(clustering.labels_)
        if Z is None:
            _, ind = clustering.knn_.kneighbors()
            ind = ind[empty]
        else:
            _, ind = clustering.knn_.kneighbors(np.asarray(Z)[empty])
        votes = labels[ind]
        for row, v in zip(empty, votes):
            v = v[v >= 0]
            if len(v):
                P[row] = np.bincount(v, minlength=n_clusters)
    return normalize_rows(P)
