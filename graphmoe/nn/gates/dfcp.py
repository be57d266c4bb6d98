"""DFCP-MoE's two-stage router: k-means, then a kNN vote for uncertain points."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from .base import Gate, one_hot

__all__ = ["DFCPGate"]


def _margin(distances):
    """Ratio nearest / second-nearest centroid distance: near 1 means ambiguous."""
    d = np.sort(distances, axis=1)
    return d[:, 0] / np.maximum(d[:, 1], 1e-12)


class DFCPGate(Gate):
    """k-means routing whose ambiguous points are re-assigned by their neighbours.

    Stage 1 assigns every point to its nearest centroid. A point whose
    nearest/second-nearest distance ratio exceeds ``uncertainty`` is
    uncertain; stage 2 gives it the majority stage-1 label of its
    ``n_neighbors`` confident training neighbours.

    Parameters
    ----------
    n_experts : int
    n_neighbors : int, default=10
    uncertainty : float, default=0.8
    """

    def __init__(self, n_experts=None, n_neighbors=10, uncertainty=0.8):
        super().__init__(n_experts)
        self.n_neighbors = n_neighbors
        self.uncertainty = uncertainty

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        self.kmeans_ = KMeans(self.n_experts, n_init=4, random_state=random_state).fit(Z)
        confident = _margin(self.kmeans_.transform(Z)) <= self.uncertainty
        if confident.sum() < 1:  # degenerate: everyone ambiguous, trust k-means
            confident[:] = True
        self.anchor_labels_ = self.kmeans_.labels_[confident]
        k = min(self.n_neighbors, int(confident.sum()))
        self.knn_ = NearestNeighbors(n_neighbors=k).fit(Z[confident])
        self.train_prior_ = self.prior_proba(Z)
        return self

    def prior_proba(self, Z, groups=None):
        labels = self.kmeans_.predict(Z)
        uncertain = np.flatnonzero(_margin(self.kmeans_.transform(Z)) > self.uncertainty)
        if len(uncertain):
            ind = self.knn_.kneighbors(Z[uncertain], return_distance=False)
            votes = self.anchor_labels_[ind]
            counts = np.apply_along_axis(np.bincount, 1, votes, minlength=self.n_experts)
            labels[uncertain] = counts.argmax(axis=1)
        return one_hot(labels, self.n_experts)
