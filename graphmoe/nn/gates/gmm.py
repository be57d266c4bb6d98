"""Gaussian-mixture routing: soft centroid routing with full covariances."""
from __future__ import annotations

from sklearn.mixture import GaussianMixture

from .base import Gate, normalize_rows

__all__ = ["GMMGate"]


class GMMGate(Gate):
    """Route by the posterior of a full-covariance Gaussian mixture fitted to the gate input.

    Parameters
    ----------
    n_experts : int
    """

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        self.gmm_ = GaussianMixture(self.n_experts, covariance_type="full", n_init=2,
                                    reg_covar=1e-4, random_state=random_state).fit(Z)
        self.train_prior_ = self.prior_proba(Z)
        return self

    def prior_proba(self, Z, groups=None):
        return normalize_rows(self.gmm_.predict_proba(Z))
