"""DMVAE: the sklearn-style estimator around :class:`DMVAEModule`.

Training has four phases:

1. autoencoder pretraining of the Gaussian encoder/decoder (``pretrain_epochs``);
2. a partition of the pretrained codes (``init``: Gaussian mixture or
   connectivity clustering) sets the prior means/variances;
3. the categorical encoder q(c|x) is fitted to that partition by
   cross-entropy (until it agrees on 99% of the rows, at most
   ``_DISTILL_EPOCHS`` epochs), so that the ELBO starts from a sensible
   assignment instead of a uniform one, which tends to collapse onto a few
   components;
4. the negative ELBO (plus the graph terms) is minimised with the
   Gumbel-softmax temperature annealed as
   ``tau(e) = max(min_temperature, temperature * exp(-r e))`` with ``r``
   chosen so that ``tau`` reaches ``min_temperature`` halfway through
   ``epochs`` (the exponential schedule of Jang et al. 2017). For the first
   ``_HOLD_FRACTION`` of the epochs q(c|x) is held fixed (no gradient), so the
   Gaussian encoder can first gather each group around its component.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import BaseEmbedder, sampling_generator
from ..nn.distill import distil
from ..nn.dmvae import DMVAEModule, DMVAEOutput  # noqa: F401 - DMVAEOutput re-exported
from .graph_loss import assignment_agreement_loss, umap_contrastive_loss
from .init import fit_mixture_prior
from .mixture import MixtureEmbedderMixin
from .vade import VaDE

__all__ = ["DMVAE", "temperature_schedule"]

_DISTILL_EPOCHS = 100
_DISTILL_ACCURACY = 0.99
_HOLD_FRACTION = 0.2


def temperature_schedule(epoch, epochs, temperature=1.0, min_temperature=0.5):
    """Gumbel-softmax temperature at ``epoch`` (0-based) of ``epochs``."""
    if temperature <= min_temperature:
        return float(temperature)
    rate = math.log(temperature / min_temperature) / max(1.0, 0.5 * epochs)
    return float(max(min_temperature, temperature * math.exp(-rate * epoch)))


class DMVAE(MixtureEmbedderMixin, BaseEmbedder):
    """Discrete Mixture VAE: an amortised categorical posterior q(c|x) plus a mixture prior.

    ``predict``/``predict_proba`` read q(c|x) in one forward pass of the
    categorical encoder; ``transform`` returns the mean of q(z|x);
    ``sample`` generates from p(c) p(z|c) p(x|z).

    Parameters
    ----------
    n_clusters : int, default=10
    n_components, hidden_dims, likelihood, epochs, batch_size, learning_rate, graph_weight,
    n_neighbors, validation_fraction, patience, pretrain_epochs, init, n_init, device,
    num_threads, random_state, verbose, checkpoint_dir, checkpoint_every
        As in :class:`VaDE`. With ``graph_weight > 0`` kNN neighbours of the
        input are kept close in code space and asked to share q(c|x).
    temperature : float, default=1.0
        Initial Gumbel-softmax temperature.
    min_temperature : float, default=0.5
        Temperature reached halfway through training and kept afterwards.

    Attributes
    ----------
    module_ : DMVAEModule
    init_labels_ : ndarray of shape (n_samples,)
    temperature_ : float
        Temperature at the last training epoch.
    likelihood_, hidden_dims_, mean_, scale_, history_, n_features_in_
        As in :class:`AutoEncoder`.

    Examples
    --------
    >>> from graphmoe.datasets import make_pinwheel_spirals
    >>> from graphmoe.embed import DMVAE
    >>> X, labels = make_pinwheel_spirals(200, random_state=0)
    >>> model = DMVAE(n_clusters=5, n_components=2, epochs=5, random_state=0).fit(X)
    >>> model.predict_proba(X[:2]).shape
    (2, 5)
    """

    _parameter_constraints = {
        **VaDE._parameter_constraints,
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_temperature": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, n_clusters=10, n_components=10, *, hidden_dims=None, likelihood="auto",
                 epochs=100, batch_size=256, learning_rate=1e-3, graph_weight=5.0,
                 n_neighbors=10, validation_fraction=0.1, patience=10, pretrain_epochs=50,
                 init="graph", n_init=5, temperature=1.0, min_temperature=0.5, device="cpu",
                 num_threads=None, random_state=None, verbose=False, checkpoint_dir=None,
                 checkpoint_every=10):
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.hidden_dims = hidden_dims
        self.likelihood = likelihood
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.graph_weight = graph_weight
        self.n_neighbors = n_neighbors
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.pretrain_epochs = pretrain_epochs
        self.init = init
        self.n_init = n_init
        self.temperature = temperature
        self.min_temperature = min_temperature
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    def _build_module(self):
        self.temperature_ = float(self.temperature)
        return DMVAEModule(self.n_features_in_, self.n_clusters, self.n_components,
                           self.hidden_dims_, self.likelihood_)

    def _encode_mean(self, module, x):
        return module.encode(x)[0]

    def _cluster_log_proba(self, module, x):
        return torch.log_softmax(module.categorical_logits(x), dim=1)

    def _on_epoch(self, epoch, epochs):
        self.temperature_ = temperature_schedule(epoch, epochs, self.temperature,
                                                 self.min_temperature)
        # q(c|x) is held for the first epochs so that the Gaussian encoder first gathers
        # each initial group around its component; otherwise the component boundaries
        # (centroid-like in z) re-cut elongated groups before the codes have adapted.
        self._hold_assignments = epoch < int(_HOLD_FRACTION * epochs)

    def _init_mixture(self, X):
        labels, _, means, logvars = fit_mixture_prior(self, X)
        with torch.no_grad():
            self.module_.prior_means.copy_(torch.as_tensor(means, dtype=torch.float32))
            self.module_.prior_logvars.copy_(torch.as_tensor(logvars, dtype=torch.float32))
        self.init_labels_ = labels
        self._distill_categorical(X, labels)

    def _distill_categorical(self, X, labels):
        """Fit q(c|x) to the initial partition by cross-entropy, until it agrees on 99%.

        :func:`graphmoe.nn.distill.distil` on every row (none held out: the
        ELBO trains q(c|x) further, so the partition is a start, not a goal).
        """
        net = self.module_.categorical
        X_t = torch.from_numpy(X).to(self.device_)
        target = F.one_hot(torch.as_tensor(labels, dtype=torch.long),
                           self.n_clusters).float().to(self.device_)
        distil(lambda x: torch.log_softmax(net(x), dim=1), net, X_t, target,
               epochs=_DISTILL_EPOCHS, learning_rate=self.learning_rate,
               batch_size=self.batch_size, validation_fraction=0.0,
               patience=_DISTILL_EPOCHS, stop_agreement=_DISTILL_ACCURACY,
               random_state=self._rng)
        net.train()

    def _loss(self, x, x_pos):
        m = self.module_
        out = m(x, temperature=self.temperature_)
        hold = getattr(self, "_hold_assignments", False) and m.training
        if hold:
            out = out._replace(logits=out.logits.detach(), c=out.c.detach())
        loss, terms = m.elbo_loss(x, out)
        if x_pos is not None:
            mu_pos = m.encode(x_pos)[0]
            graph = umap_contrastive_loss(out.mu, mu_pos)
            if not hold:
                graph = graph + assignment_agreement_loss(
                    torch.softmax(out.logits, dim=1),
                    torch.softmax(m.categorical_logits(x_pos), dim=1))
            terms["graph"] = graph.detach()
            loss = loss + self.graph_weight * graph
        return loss, terms

    def sample(self, n_samples=1, cluster=None, random_state=None):
        """Generate rows from the model.

        Parameters
        ----------
        n_samples : int
        cluster : int or None
            Draw every row from this mixture component (``None``: c ~ Uniform).
        random_state : int or None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Means of p(x|z), in the units of the training data.
        clusters : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "module_")
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) \
                or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        if cluster is not None and not (isinstance(cluster, numbers.Integral)
                                        and 0 <= cluster < self.n_clusters):
            raise ValueError(f"cluster must be in [0, {self.n_clusters}), got {cluster!r}.")
        generator = sampling_generator(random_state)
        self.module_.eval()
        x, _, c = self.module_.sample(int(n_samples), cluster, generator)
        X = x.cpu().numpy().astype(np.float64) * self.scale_ + self.mean_
        return X, c.cpu().numpy().astype(np.int64)
