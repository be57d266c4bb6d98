"""Learned embeddings made for connectivity clustering.

sklearn-style estimators: :class:`AutoEncoder`, :class:`VAE`, :class:`VaDE`
(Gaussian-mixture prior) and :class:`DMVAE` (amortised categorical posterior,
Gumbel-softmax). All take ``graph_weight`` for a loss that keeps the input's
kNN neighbours close in the code (:mod:`graphmoe.embed.graph_loss`).
:class:`GraphLayout` lays a kNN graph out in a few dimensions before segmentation.
:class:`DMVAEModule` is the torch module used as the DMVAE gate in
:mod:`graphmoe.moe`.
"""
from __future__ import annotations

from .autoencoder import AutoEncoder, AutoEncoderModule
from .dmvae import DMVAE, temperature_schedule
from .dmvae_module import DMVAEModule, DMVAEOutput
from .layout import GraphLayout
from .vade import VaDE, VaDEModule
from .vae import VAE, VAEModule

__all__ = ["AutoEncoder", "VAE", "VaDE", "DMVAE", "GraphLayout", "AutoEncoderModule", "VAEModule",
           "VaDEModule", "DMVAEModule", "DMVAEOutput", "temperature_schedule"]
