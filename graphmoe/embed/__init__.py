"""Learned embeddings made for connectivity clustering.

sklearn-style estimators: :class:`AutoEncoder`, :class:`VAE`, :class:`VaDE`
(Gaussian-mixture prior) and :class:`DMVAE` (amortised categorical posterior,
Gumbel-softmax). All take ``graph_weight`` for a loss that keeps the input's
kNN neighbours close in the code (:mod:`graphmoe.embed.graph_loss`).
:class:`GraphLayout` lays a kNN graph out in a few dimensions before segmentation.
:class:`DMVAEModule` (from :mod:`graphmoe.nn.dmvae`) is also the DMVAE gate of
:mod:`graphmoe.moe`.

Names load on first use: ``GraphLayout`` (numpy/numba only) must not pay for
importing torch, which the four learned embedders need (seconds in a fresh
process).
"""
from __future__ import annotations

import importlib

_LAZY = {
    "AutoEncoder": "autoencoder", "AutoEncoderModule": "autoencoder",
    "DMVAE": "dmvae", "temperature_schedule": "dmvae",
    "DMVAEModule": "dmvae", "DMVAEOutput": "dmvae",
    "GraphLayout": "layout",
    "VaDE": "vade", "VaDEModule": "vade",
    "VAE": "vae", "VAEModule": "vae",
}

__all__ = ["AutoEncoder", "VAE", "VaDE", "DMVAE", "GraphLayout", "AutoEncoderModule", "VAEModule",
           "VaDEModule", "DMVAEModule", "DMVAEOutput", "temperature_schedule"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
