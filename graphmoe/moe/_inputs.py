"""Input side of a GraphMoE estimator: validation, embedding and the tensors a forward needs."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from .._progress import set_torch_threads
from .._validation import check_data, check_feature_names
from ..nn.experts import NeighborhoodContext
from .checkpoint import embedder_fit_params
from .contrast import contrast_prior
from .training import MoEData, predict_batches

__all__ = ["InputsMixin", "as_tensor"]


def as_tensor(a, dtype=torch.float32, device="cpu"):
    """``a`` as a torch tensor (None stays None)."""
    return None if a is None else torch.as_tensor(np.asarray(a), dtype=dtype, device=device)


class InputsMixin:
    """Turns raw rows into the mixture's inputs and runs the fitted module on them."""

    def _check_fit_input(self, X, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None.")
        X_in, X = X, check_data(X, min_samples=3)
        validate_data(self, X, reset=True, skip_check_array=True)  # n_features_in_
        check_feature_names(self, X_in, reset=True)  # the caller's column names
        return X

    def _check_X(self, X):
        check_is_fitted(self, "module_")
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _embed(self, X, fit):
        """Standardised expert inputs ``Xs`` and standardised gate inputs (the embedding)."""
        Xs = self.scaler_.transform(X)
        if self.embedder_ is None:
            Z = Xs
        elif fit:
            Z = self.embedder_.fit(X, **embedder_fit_params(self)).transform(X)
        else:
            Z = self.embedder_.transform(X)
        if fit:
            self.gate_scaler_ = StandardScaler().fit(Z)
        return Xs, self.gate_scaler_.transform(Z)

    def _data(self, X, groups=None):
        """MoEData of new inputs (no targets); kNN attachment for GNN experts."""
        Xs, G = self._embed(X, fit=False)
        prior = None if self.gate_.trainable else self.gate_.prior_proba(G, groups)
        if self._contrasts:
            dist, ind = self.clustering_.knn_.kneighbors(G)
            prior = contrast_prior(prior, ind, self.contrast_owner_, self.contrast_loss_,
                                   distances=dist)
        neighbors = None
        if self.expert == "gnn":
            neighbors = self.knn_.kneighbors(G)[1]
        dev = self.device
        return MoEData(as_tensor(Xs, device=dev), as_tensor(G, device=dev), None,
                       as_tensor(prior, device=dev), as_tensor(neighbors, torch.long, dev))

    def _context(self):
        if self.expert != "gnn":
            return None
        return NeighborhoodContext(self.train_x_,
                                   as_tensor(self.knn_.indices_, torch.long, self.device))

    def _forward_new(self, X, groups=None):
        X = self._check_X(X)
        previous = set_torch_threads(self.num_threads) if self.num_threads else None
        try:
            data = self._data(X, groups)
            return predict_batches(self.module_, data, context=self._context())
        finally:
            if previous is not None:
                torch.set_num_threads(previous)
