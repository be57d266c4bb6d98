"""Connectivity routing: kNN query into the training graph + soft cluster membership."""
from __future__ import annotations

import numpy as np

from ...cluster.proba import cluster_proba, normalize_rows
from .base import Gate

__all__ = ["GraphGate"]


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
