"""Moved to :mod:`graphmoe.nn.gaussian` (a building block); re-exported for the embedders."""
from ..nn.gaussian import reparameterize, kl_to_standard, kl_to_components, log_density_components  # noqa: F401

__all__ = ["reparameterize", "kl_to_standard", "kl_to_components", "log_density_components"]
