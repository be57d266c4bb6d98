"""Label routing: the supervised baseline that knows the groups of the training points."""
from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from .base import Gate, one_hot

__all__ = ["LabelsGate"]


class LabelsGate(Gate):
    """Route training points by their given group; new points by a kNN vote on those groups.

    ``n_experts`` is the number of distinct groups.

    Parameters
    ----------
    n_neighbors : int, default=15
        Neighbours of the kNN classifier that routes new points.
    """

    needs_groups = True

    def __init__(self, n_neighbors=15):
        super().__init__()
        self.n_neighbors = n_neighbors

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        self.check_groups(groups, len(Z))
        self.classes_, codes = np.unique(np.asarray(groups), return_inverse=True)
        self.n_experts = len(self.classes_)
        k = min(self.n_neighbors, len(codes))
        self.knn_ = KNeighborsClassifier(n_neighbors=k).fit(Z, codes)
        self.train_prior_ = one_hot(codes, self.n_experts)
        return self

    def prior_proba(self, Z, groups=None):
        P = np.zeros((len(Z), self.n_experts))
        P[:, self.knn_.classes_] = self.knn_.predict_proba(Z)
        return P
