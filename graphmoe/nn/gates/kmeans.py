"""k-means routing: the centroid baseline that cuts non-convex groups apart."""
from __future__ import annotations

from sklearn.cluster import KMeans

from .base import Gate, one_hot

__all__ = ["KMeansGate"]


class KMeansGate(Gate):
    """Route each point to the expert of its nearest k-means centroid (hard routing).

    Parameters
    ----------
    n_experts : int
    """

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        self.kmeans_ = KMeans(self.n_experts, n_init=4, random_state=random_state).fit(Z)
        self.train_prior_ = one_hot(self.kmeans_.labels_, self.n_experts)
        return self

    def prior_proba(self, Z, groups=None):
        return one_hot(self.kmeans_.predict(Z), self.n_experts)
