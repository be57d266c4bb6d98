"""Moved to :mod:`graphmoe.nn.networks` (a building block); re-exported for the embedders."""
from ..nn.networks import MLP, default_hidden_dims  # noqa: F401

__all__ = ["MLP", "default_hidden_dims"]
