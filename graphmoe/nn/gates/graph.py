"""Connectivity routing: kNN query into the training graph + soft cluster membership."""
from __future__ import annotations

import numpy as np

from .base import Gate, normalize_rows

__all__ = ["GraphGate", "cluster_proba"]


def _dense(M):
    return M.toarray() if hasattr(M, "toarray") else np.asarray(M, dtype=float)


def cluster_proba(clustering, Z=None):
    """Soft membership over the clusters only, rows summing to 1: ``(n, n_clusters)``.

    The clustering's last column holds the noise mass; it is dropped and the
    cluster columns renormalised, so a noise point is routed by whatever
    membership it has. A point with none is routed to the cluster that most
    of its training neighbours belong to. A clustering that found no cluster
    yields one column: the whole data set as a single cluster.
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


class GraphGate(Gate):
    """Route by the connectivity clustering's soft membership.

    Expert ``e`` serves cluster ``cluster_of_expert[e]``; the indirection keeps
    expert identities stable when a re-clustering renames the clusters.

    Parameters
    ----------
    clustering : fitted ConnectivityClustering
    cluster_of_expert : array of int, optional
        Defaults to the identity (expert ``e`` serves cluster ``e``).
    """

    def __init__(self, clustering, cluster_of_expert=None):
        super().__init__()
        self.clustering = clustering
        self.cluster_of_expert = cluster_of_expert

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        n_clusters = max(1, int(self.clustering.n_clusters_))  # no cluster: one expert
        order = self.cluster_of_expert
        self.cluster_of_expert_ = np.arange(n_clusters) if order is None else np.asarray(order)
        self.n_experts = len(self.cluster_of_expert_)
        self.train_prior_ = cluster_proba(self.clustering)[:, self.cluster_of_expert_]
        return self

    def prior_proba(self, Z, groups=None):
        return normalize_rows(cluster_proba(self.clustering, Z)[:, self.cluster_of_expert_])
