"""The variational autoencoder (Kingma & Welling 2014) with a standard normal prior."""
from __future__ import annotations

import torch

from ..nn.vae import VAEModule
from ._base import BaseEmbedder, sampling_generator
from .autoencoder import AutoEncoder
from .gaussian import kl_to_standard, reparameterize
from .graph_loss import umap_contrastive_loss

__all__ = ["VAE", "VAEModule"]


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
