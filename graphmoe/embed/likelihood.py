"""Moved to :mod:`graphmoe.nn.likelihood` (a building block); re-exported for the embedders."""
from ..nn.likelihood import (LIKELIHOODS, choose_likelihood,  # noqa: F401
                             mean_from_output, negative_log_likelihood)

__all__ = ["LIKELIHOODS", "choose_likelihood", "negative_log_likelihood", "mean_from_output"]
