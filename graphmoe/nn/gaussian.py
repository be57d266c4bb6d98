"""Diagonal-Gaussian helpers: reparameterised draws and KL divergences.

Shapes: ``mu``/``logvar`` of a posterior are (n, d); mixture-component
parameters are (K, d); every KL is summed over the latent axis d.
"""
from __future__ import annotations

import math

import torch

__all__ = ["reparameterize", "kl_to_standard", "kl_to_components", "log_density_components"]

_LOG_2PI = math.log(2.0 * math.pi)


def reparameterize(mu, logvar):
    """A draw z = mu + sigma * eps that gradients pass through."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def kl_to_standard(mu, logvar):
    """KL(N(mu, e^logvar) || N(0, I)); shape (n,)."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=1)


def kl_to_components(mu, logvar, comp_mu, comp_logvar):
    """KL(N(mu_i, e^logvar_i) || N(m_k, e^s_k)) for every sample i and component k; (n, K)."""
    mu, logvar = mu.unsqueeze(1), logvar.unsqueeze(1)                 # n 1 d
    comp_mu, comp_logvar = comp_mu.unsqueeze(0), comp_logvar.unsqueeze(0)  # 1 K d
    ratio = torch.exp(logvar - comp_logvar)
    sq = (mu - comp_mu).pow(2) * torch.exp(-comp_logvar)
    return 0.5 * torch.sum(comp_logvar - logvar + ratio + sq - 1.0, dim=2)


def log_density_components(z, comp_mu, comp_logvar):
    """log N(z_i | m_k, e^s_k) for every sample i and component k; (n, K)."""
    diff = z.unsqueeze(1) - comp_mu.unsqueeze(0)
    return -0.5 * torch.sum(_LOG_2PI + comp_logvar.unsqueeze(0)
                            + diff.pow(2) * torch.exp(-comp_logvar.unsqueeze(0)), dim=2)
