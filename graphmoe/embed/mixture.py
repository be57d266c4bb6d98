"""What VaDE and DMVAE share: pretraining, mixture initialisation, cluster prediction."""
from __future__ import annotations

from functools import partial

import numpy as np

from .vae import pretrain_loss

__all__ = ["MixtureEmbedderMixin"]


class MixtureEmbedderMixin:
    """Three training phases and ``predict``/``predict_proba`` for mixture embedders.

    Subclasses define ``_init_mixture(X)``, ``_cluster_log_proba(module, x)`` (log
    posterior over clusters, (n, K)) and optionally ``_on_epoch``.
    """

    _on_epoch = None

    def _fit_module(self, X):
        # a fit resumed in the main phase has pretraining and the mixture set-up behind it
        # (their results are in the checkpoint's weights and extras)
        if self._resume_phase() != "train":
            if self.pretrain_epochs > 0:
                self.history_["pretrain"] = self._train(
                    X, partial(pretrain_loss, self), self.pretrain_epochs, desc="pretrain",
                    phase="pretrain")
            self._init_mixture(X)
        self.history_["train"] = self._train(X, self._loss, self.epochs, phase="train",
                                             desc=type(self).__name__, on_epoch=self._on_epoch)

    def _checkpoint_extras(self):
        extras = {"init_labels_": self.init_labels_} if hasattr(self, "init_labels_") else {}
        if hasattr(self, "temperature_"):
            extras["temperature_"] = self.temperature_
        return extras

    def predict_proba(self, X):
        """Posterior cluster probabilities; (n_samples, n_clusters), rows sum to 1."""
        X = self._check_input(X)
        log_p = self._batched(self._cluster_log_proba, self._scaled64(X))
        proba = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable cluster of each row; (n_samples,) int64."""
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)

    def fit_predict(self, X, y=None):
        """Fit, then return the cluster of every training row."""
        return self.fit(X).predict(X)
