"""What a fitted GraphMoE estimator exposes: routing, gate probabilities, experts, tree."""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["InspectMixin"]


class InspectMixin:
    """Routing and the fitted structure (experts, hierarchy, the node of each expert)."""

    def route(self, X, groups=None):
        """Experts each point is routed to and their weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional
            Only for ``gate="oracle"``.

        Returns
        -------
        experts : ndarray of shape (n_samples, top_k), int, most weighted first
        weights : ndarray of shape (n_samples, top_k), rows summing to 1
        """
        _, indices, weights, _ = self._forward_new(X, groups)
        return indices.astype(np.int64), weights.astype(np.float64)

    def gate_proba(self, X, groups=None):
        """Full gate probabilities ``(n_samples, n_experts_)``, rows summing to 1."""
        return self._forward_new(X, groups)[3].astype(np.float64)

    @property
    def experts_(self):
        """The fitted experts (``torch.nn.ModuleList``), one per cluster for graph gates."""
        check_is_fitted(self, "module_")
        return self.module_.experts

    @property
    def n_experts_(self):
        check_is_fitted(self, "module_")
        return self.module_.n_experts

    @property
    def hierarchy_(self):
        """The ClusterHierarchy the experts come from (None for non-graph gates)."""
        check_is_fitted(self, "module_")
        return None if self.clustering_ is None else self.clustering_.hierarchy_

    @property
    def expert_nodes_(self):
        """Hierarchy node served by each expert (None for non-graph gates)."""
        hierarchy = self.hierarchy_
        if hierarchy is None:
            return None
        if self.clustering_.n_clusters_ < 1:  # no cluster found: one expert for the root
            return np.array([hierarchy.root])
        return np.asarray(hierarchy.cluster_nodes)[self.cluster_of_expert_]
