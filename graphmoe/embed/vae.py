"""The variational autoencoder (Kingma & Welling 2014) with a standard normal prior."""
from __future__ import annotations

import torch
from torch import nn

from ._base import BaseEmbedder, sampling_generator
from .autoencoder import AutoEncoder
from .gaussian import kl_to_standard, reparameterize
from .graph_loss import umap_contrastive_loss
from .networks import MLP

__all__ = ["VAE", "VAEModule"]

#: log-variances are kept in this range so that exp() cannot overflow early in training.
LOGVAR_RANGE = (-12.0, 8.0)


class VAEModule(nn.Module):
    """Gaussian encoder ``x -> (mu, logvar)`` and decoder ``z -> output``.

    Shapes
    ------
    x (n, in_features) -> mu, logvar (n, latent_dim) -> output (n, in_features)
    """

    def __init__(self, in_features, latent_dim, hidden_dims):
        super().__init__()
        self.in_features, self.latent_dim = int(in_features), int(latent_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.encoder = MLP([self.in_features, *self.hidden_dims, 2 * self.latent_dim])
        self.decoder = MLP([self.latent_dim, *reversed(self.hidden_dims), self.in_features])
        self.reset_parameters()

    def reset_parameters(self):
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def __repr__(self):
        return (f"{self.__class__.__name__}(in_features={self.in_features}, "
                f"latent_dim={self.latent_dim}, hidden_dims={self.hidden_dims})")


def pretrain_loss(estimator, x, x_pos):
    """Autoencoder loss on the mean path of a Gaussian encoder (VaDE/DMVAE pretraining)."""
    module = estimator.module_
    mu = module.encode(x)[0]
    loss = estimator._reconstruction_nll(x, module.decode(mu)).mean()
    terms = {"nll": loss.detach()}
    if x_pos is not None:
        graph = umap_contrastive_loss(mu, module.encode(x_pos)[0])
        terms["graph"] = graph.detach()
        loss = loss + estimator.graph_weight * graph
    return loss, terms


class VAE(BaseEmbedder):
    """Variational autoencoder; ``transform`` returns the posterior mean.

    Minimises the negative ELBO ``-E_q[log p(x|z)] + KL(q(z|x) || N(0, I))``
    (one reparameterised draw per row) plus ``graph_weight`` times the kNN
    contrastive term on the posterior means.

    Parameters are those of :class:`AutoEncoder`.

    Attributes
    ----------
    module_ : VAEModule
    likelihood_, hidden_dims_, mean_, scale_, history_, n_features_in_
        As in :class:`AutoEncoder`.

    Examples
    --------
    >>> from graphmoe.datasets import load_digits
    >>> from graphmoe.embed import VAE
    >>> X, _ = load_digits()
    >>> vae = VAE(n_components=10, epochs=5, random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 10)
    """

    __init__ = AutoEncoder.__init__

    def _build_module(self):
        return VAEModule(self.n_features_in_, self.n_components, self.hidden_dims_)

    def _encode_mean(self, module, x):
        return module.encode(x)[0]

    def _loss(self, x, x_pos):
        mu, logvar = self.module_.encode(x)
        z = reparameterize(mu, logvar) if self.module_.training else mu
        nll = self._reconstruction_nll(x, self.module_.decode(z)).mean()
        kl = kl_to_standard(mu, logvar).mean()
        terms = {"nll": nll.detach(), "kl": kl.detach()}
        loss = nll + kl
        if x_pos is not None:
            graph = umap_contrastive_loss(mu, self.module_.encode(x_pos)[0])
            terms["graph"] = graph.detach()
            loss = loss + self.graph_weight * graph
        return loss, terms

    def score(self, X, y=None):
        """Mean ELBO per row (at the posterior mean, so it is deterministic)."""
        return super().score(X, y)

    def sample(self, n_samples=1, random_state=None):
        """Draw ``n_samples`` rows from the generative model; (n_samples, n_features)."""
        z = torch.randn(n_samples, self.n_components, generator=sampling_generator(random_state))
        return self.inverse_transform(z.numpy().astype("float64"))
