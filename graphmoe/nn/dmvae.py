"""The Discrete Mixture VAE as a torch building block (the DMVAE embedder and gate use it).

Generative model: c ~ Uniform(K), z | c ~ N(m_c, diag e^{s_c}), x | z ~ p(x|z)
(Bernoulli or unit-variance Gaussian). Inference has *two* encoders: a
categorical one q(c|x) (logits, relaxed with Gumbel-softmax while training)
and a Gaussian one q(z|x). The negative ELBO per row is::

    -log p(x|z) + sum_c c~_c KL(q(z|x) || p(z|c)) + KL(q(c|x) || Uniform(K))

with z a reparameterised draw and c~ the Gumbel-softmax sample of q(c|x) (in
eval mode c~ is q(c|x) itself, so the bound is deterministic). Because q(c|x)
is amortised, ``categorical_logits(x)`` assigns new rows in one forward pass.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .gaussian import kl_to_components, reparameterize
from .likelihood import LIKELIHOODS, mean_from_output, negative_log_likelihood
from .networks import MLP
from .vae import VAEModule

__all__ = ["DMVAEModule", "DMVAEOutput"]


class DMVAEOutput(NamedTuple):
    """What :meth:`DMVAEModule.forward` returns (n rows, K clusters, d latent dims)."""

    recon: torch.Tensor      #: (n, in_features) E[x|z] (probabilities for Bernoulli)
    mu: torch.Tensor         #: (n, d) mean of q(z|x)
    logvar: torch.Tensor     #: (n, d) log-variance of q(z|x)
    z: torch.Tensor          #: (n, d) the draw decoded (mu in eval mode)
    logits: torch.Tensor     #: (n, K) logits of q(c|x)
    c: torch.Tensor          #: (n, K) relaxed one-hot sample (q(c|x) in eval mode)
    decoder_output: torch.Tensor  #: (n, in_features) logits (Bernoulli) or mean (Gaussian)


class DMVAEModule(nn.Module):
    """Discrete Mixture VAE.

    Parameters
    ----------
    in_features : int
    n_clusters : int
        K, the number of mixture components.
    latent_dim : int
    hidden_dims : sequence of int
        Widths of each encoder (the decoder mirrors them).
    likelihood : {"bernoulli", "gaussian"}

    Attributes
    ----------
    prior_means, prior_logvars : Parameter of shape (n_clusters, latent_dim)

    Shapes
    ------
    x (n, in_features) -> logits (n, K), mu/logvar/z (n, latent_dim), recon (n, in_features)
    """

    def __init__(self, in_features, n_clusters, latent_dim, hidden_dims, likelihood="bernoulli"):
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
        self.n_clusters, self.likelihood = int(n_clusters), likelihood
        self.vae = VAEModule(in_features, latent_dim, hidden_dims)
        self.in_features, self.latent_dim = self.vae.in_features, self.vae.latent_dim
        self.hidden_dims = self.vae.hidden_dims
        self.categorical = MLP([self.in_features, *self.hidden_dims, self.n_clusters])
        self.prior_means = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))
        self.prior_logvars = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))
        self.reset_parameters()

    def reset_parameters(self):
        self.vae.reset_parameters()
        self.categorical.reset_parameters()
        nn.init.normal_(self.prior_means)
        nn.init.zeros_(self.prior_logvars)

    def encode(self, x):
        """Mean and log-variance of q(z|x); each (n, latent_dim)."""
        return self.vae.encode(x)

    def decode(self, z):
        """Decoder output (Bernoulli logits or Gaussian mean); (n, in_features)."""
        return self.vae.decode(z)

    def categorical_logits(self, x):
        """Logits of q(c|x); (n, n_clusters)."""
        return self.categorical(x)

    def forward(self, x, temperature=1.0, hard=False):
        mu, logvar = self.encode(x)
        logits = self.categorical_logits(x)
        if self.training:
            z = reparameterize(mu, logvar)
            c = F.gumbel_softmax(logits, tau=temperature, hard=hard)
        else:
            z = mu
            c = torch.softmax(logits, dim=1)
            if hard:
                c = F.one_hot(c.argmax(dim=1), self.n_clusters).to(c.dtype)
        output = self.decode(z)
        return DMVAEOutput(mean_from_output(output, self.likelihood), mu, logvar, z, logits, c,
                           output)

    def elbo_loss(self, x, out):
        """Mean negative ELBO over the rows and its terms ``nll``, ``kl_z``, ``kl_c``."""
        nll = negative_log_likelihood(x, out.decoder_output, self.likelihood).mean()
        kl_each = kl_to_components(out.mu, out.logvar, self.prior_means, self.prior_logvars)
        kl_z = torch.sum(out.c * kl_each, dim=1).mean()
        log_q = torch.log_softmax(out.logits, dim=1)
        kl_c = torch.sum(log_q.exp() * (log_q + math.log(self.n_clusters)), dim=1).mean()
        loss = nll + kl_z + kl_c
        return loss, {"nll": nll.detach(), "kl_z": kl_z.detach(), "kl_c": kl_c.detach()}

    @torch.no_grad()
    def sample(self, n_samples, cluster=None, generator=None):
        """Draw ``(x_mean, z, c)`` from the generative model; ``cluster`` fixes c."""
        device = self.prior_means.device
        if cluster is None:
            c = torch.randint(self.n_clusters, (n_samples,), generator=generator).to(device)
        else:
            c = torch.full((n_samples,), int(cluster), dtype=torch.long, device=device)
        eps = torch.randn(n_samples, self.latent_dim, generator=generator).to(device)
        z = self.prior_means[c] + eps * torch.exp(0.5 * self.prior_logvars[c])
        return mean_from_output(self.decode(z), self.likelihood), z, c

    def __repr__(self):
        return (f"{self.__class__.__name__}(in_features={self.in_features}, "
                f"n_clusters={self.n_clusters}, latent_dim={self.latent_dim}, "
                f"hidden_dims={self.hidden_dims}, likelihood={self.likelihood!r})")
