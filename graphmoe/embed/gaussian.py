"""Moved to :mod:`graphmoe.nn.gaussian` (a building block); re-exported for the embedders."""
from ..nn.gaussian import (kl_to_components, kl_to_standard,  # noqa: F401
                           log_density_components, reparameterize)

__all__ = ["reparameterize", "kl_to_standard", "kl_to_components", "log_density_components"]
