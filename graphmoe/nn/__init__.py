"""Torch building blocks of graphmoe's mixtures of experts.

``graphmoe.nn.experts`` holds the expert networks (one type per file) and
``graphmoe.nn.gates`` the routers (one per file); ``graphmoe.moe`` assembles
them into the GraphMoE module and the scikit-learn estimators.
"""
from . import experts, gates

__all__ = ["experts", "gates"]
