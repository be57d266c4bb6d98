"""VaDE (Jiang et al. 2016): a VAE whose prior is a Gaussian mixture.

The known pitfalls and how this implementation handles them:

* *collapse without pretraining*: the encoder/decoder are first trained as an
  autoencoder on the posterior-mean path (``pretrain_epochs``);
* *initialisation*: the mixture prior starts from a diagonal Gaussian mixture
  fitted to the pretrained codes, the best of ``n_init`` EM restarts by
  likelihood (``init="gmm"``), or from a connectivity clustering of the codes
  (``init="graph"``, see :func:`graphmoe.embed.init.initial_partition`);
* *variance across seeds*: everything random draws from ``random_state``, and
  with ``graph_weight > 0`` neighbours are also asked to share their cluster.
"""
from __future__ import annotations

import numbers

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._base import BaseEmbedder
from .gaussian import kl_to_components, log_density_components, reparameterize
from .graph_loss import assignment_agreement_loss, umap_contrastive_loss
from .init import fit_mixture_prior
from .mixture import MixtureEmbedderMixin
from .vae import VAEModule

__all__ = ["VaDE", "VaDEModule"]


class VaDEModule(nn.Module):
    """A Gaussian encoder/decoder (:class:`VAEModule`) with a learnable mixture prior.

    Parameters ``pi_logits`` (K,), ``prior_means`` (K, latent_dim),
    ``prior_logvars`` (K, latent_dim) define p(c) p(z|c).

    Shapes
    ------
    x (n, in_features) -> mu, logvar (n, latent_dim); log p(c|z) (n, K)
    """

    def __init__(self, in_features, n_clusters, latent_dim, hidden_dims):
        super().__init__()
        self.n_clusters = int(n_clusters)
        self.vae = VAEModule(in_features, latent_dim, hidden_dims)
        self.in_features, self.latent_dim = self.vae.in_features, self.vae.latent_dim
        self.hidden_dims = self.vae.hidden_dims
        self.pi_logits = nn.Parameter(torch.zeros(self.n_clusters))
        self.prior_means = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))
        self.prior_logvars = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))
        self.reset_parameters()

    def reset_parameters(self):
        self.vae.reset_parameters()
        nn.init.zeros_(self.pi_logits)
        nn.init.normal_(self.prior_means)
        nn.init.zeros_(self.prior_logvars)

    def encode(self, x):
        return self.vae.encode(x)

    def decode(self, z):
        return self.vae.decode(z)

    def forward(self, x):
        """Decoder output, mu, logvar and log p(c|z) at one posterior draw."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar, self.cluster_log_posterior(z)

    def cluster_log_posterior(self, z):
        """log p(c | z) for every component; (n, K)."""
        log_joint = (torch.log_softmax(self.pi_logits, dim=0)
                     + log_density_components(z, self.prior_means, self.prior_logvars))
        return torch.log_softmax(log_joint, dim=1)

    def __repr__(self):
        return (f"{self.__class__.__name__}(in_features={self.in_features}, "
                f"n_clusters={self.n_clusters}, latent_dim={self.latent_dim}, "
                f"hidden_dims={self.hidden_dims})")


class VaDE(MixtureEmbedderMixin, BaseEmbedder):
    """Variational deep embedding: clusters from a mixture prior in code space.

    Loss per row (one reparameterised draw z ~ q(z|x), gamma = p(c|z))::

        -log p(x|z) + sum_c gamma_c KL(q(z|x) || p(z|c)) + KL(gamma || pi)
        + graph_weight * (kNN contrastive term + neighbour agreement of gamma)

    Parameters
    ----------
    n_clusters : int, default=10
        Mixture components.
    n_components, hidden_dims, likelihood, epochs, batch_size, learning_rate, graph_weight,
    n_neighbors, validation_fraction, patience, device, num_threads, random_state, verbose,
    checkpoint_dir, checkpoint_every
        As in :class:`AutoEncoder`.
    pretrain_epochs : int, default=50
        Autoencoder epochs before the mixture is initialised (early-stopped too).
    init : {"gmm", "graph"}, default="graph"
        How the mixture prior starts: EM on the pretrained codes, or the
        clusters of a connectivity clustering of the codes.
    n_init : int, default=5
        EM restarts for ``init="gmm"`` (the most likely one wins).

    Attributes
    ----------
    module_ : VaDEModule
    init_labels_ : ndarray of shape (n_samples,)
        The partition the mixture prior was initialised from.
    likelihood_, hidden_dims_, mean_, scale_, history_, n_features_in_
        As in :class:`AutoEncoder`.
    """

    _parameter_constraints = {
        **BaseEmbedder._parameter_constraints,
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "pretrain_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "init": [StrOptions({"gmm", "graph"})],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_clusters=10, n_components=10, *, hidden_dims=None, likelihood="auto",
                 epochs=100, batch_size=256, learning_rate=1e-3, graph_weight=5.0,
                 n_neighbors=10, validation_fraction=0.1, patience=10, pretrain_epochs=50,
                 init="graph", n_init=5, device="cpu", num_threads=None, random_state=None,
                 verbose=False, checkpoint_dir=None,
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
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    def _build_module(self):
        return VaDEModule(self.n_features_in_, self.n_clusters, self.n_components,
                          self.hidden_dims_)

    def _encode_mean(self, module, x):
        return module.encode(x)[0]

    def _cluster_log_proba(self, module, x):
        return module.cluster_log_posterior(module.encode(x)[0])

    def _init_mixture(self, X):
        labels, pi, means, logvars = fit_mixture_prior(self, X)
        m = self.module_
        with torch.no_grad():
            m.pi_logits.copy_(torch.log(torch.as_tensor(pi, dtype=torch.float32)))
            m.prior_means.copy_(torch.as_tensor(means, dtype=torch.float32))
            m.prior_logvars.copy_(torch.as_tensor(logvars, dtype=torch.float32))
        self.init_labels_ = labels

    def _loss(self, x, x_pos):
        m = self.module_
        mu, logvar = m.encode(x)
        z = reparameterize(mu, logvar) if m.training else mu
        nll = self._reconstruction_nll(x, m.decode(z)).mean()
        log_gamma = m.cluster_log_posterior(z)
        gamma = log_gamma.exp()
        kl_z = torch.sum(gamma * kl_to_components(mu, logvar, m.prior_means, m.prior_logvars),
                         dim=1).mean()
        log_pi = torch.log_softmax(m.pi_logits, dim=0)
        kl_c = torch.sum(gamma * (log_gamma - log_pi), dim=1).mean()
        loss = nll + kl_z + kl_c
        terms = {"nll": nll.detach(), "kl_z": kl_z.detach(), "kl_c": kl_c.detach()}
        if x_pos is not None:
            mu_pos = m.encode(x_pos)[0]
            graph = (umap_contrastive_loss(mu, mu_pos)
                     + assignment_agreement_loss(m.cluster_log_posterior(mu).exp(),
                                                 m.cluster_log_posterior(mu_pos).exp()))
            terms["graph"] = graph.detach()
            loss = loss + self.graph_weight * graph
        return loss, terms
