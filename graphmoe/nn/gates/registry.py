"""The gate registry: the one place that maps a ``gate=`` name to how its gate is built.

Every builder takes the same keywords (``in_features``, ``n_experts``,
``clustering`` and the gate's own parameters) and returns an unfitted gate.
The estimators validate ``gate=`` against :func:`gate_names` and build with
:func:`make_gate`; a new gate is one :func:`register_gate` call away.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .dfcp import DFCPGate
from .dmvae import DMVAEGate
from .gmm import GMMGate
from .graph import GraphGate
from .hierarchical import HierarchicalGate
from .kmeans import KMeansGate
from .labels import LabelsGate
from .oracle import OracleGate
from .softmax import SoftmaxGate

__all__ = ["GateEntry", "register_gate", "make_gate", "gate_names", "gate_entry"]


class GateEntry(NamedTuple):
    """How to build a gate: ``build(in_features=, n_experts=, clustering=, **params)``.

    ``cls`` is the gate's class (its ``needs_groups`` and ``trainable`` flags);
    ``needs_n_experts``: the builder needs ``n_experts`` (no clustering gives it).
    """

    cls: type
    build: Callable
    needs_n_experts: bool


_REGISTRY: dict = {}


def register_gate(name, cls, build=None, *, needs_n_experts=True):
    """Register gate ``name``; ``build`` defaults to ``cls(n_experts, **params)``."""
    if build is None:
        def build(*, in_features, n_experts, clustering, **params):
            return cls(n_experts, **params)
    _REGISTRY[name] = GateEntry(cls, build, needs_n_experts)


def gate_names():
    """Registered names, in registration order."""
    return tuple(_REGISTRY)


def gate_entry(name):
    """The :class:`GateEntry` of ``name``; ``ValueError`` naming the choices otherwise."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown gate {name!r}; choose one of {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def _hierarchical(in_features, clustering, **params):
    hierarchy = clustering.hierarchy_
    leaves = (np.asarray(hierarchy.cluster_nodes) if clustering.n_clusters_ > 0
              else np.array([hierarchy.root]))
    return HierarchicalGate(in_features, hierarchy, leaves, **params)


def make_gate(name, *, in_features, n_experts=None, clustering=None, hierarchical=False,
              **params):
    """An unfitted gate of the registered kind ``name``.

    Parameters
    ----------
    name : str
        One of :func:`gate_names`.
    in_features : int
        Width of the gate input.
    n_experts : int, optional
        Needed by every gate that takes no clustering or groups.
    clustering : fitted ConnectivityClustering, optional
        For the graph gate and ``hierarchical=True``.
    hierarchical : bool, default=False
        With ``name="graph"``: a softmax per internal node of the cluster tree.
    **params
        The gate class's own parameters.
    """
    entry = gate_entry(name)
    if hierarchical:
        if name != "graph":
            raise ValueError(f"hierarchical=True needs gate='graph', got gate={name!r}.")
        return _hierarchical(in_features, clustering, **params)
    if entry.needs_n_experts and n_experts is None:
        raise ValueError(f"gate={name!r} needs n_experts (or a clustering to take it from).")
    return entry.build(in_features=in_features, n_experts=n_experts, clustering=clustering,
                       **params)


def _wide(cls):
    """Builder of gates that take the input width and the number of experts."""
    def build(*, in_features, n_experts, clustering, **params):
        return cls(in_features, n_experts, **params)
    return build


def _unsized(cls):
    """Builder of gates that take their experts from the groups (labels, oracle)."""
    def build(*, in_features, n_experts, clustering, **params):
        return cls(**params)
    return build


def _graph(*, in_features, n_experts, clustering, **params):
    return GraphGate(clustering, **params)


register_gate("graph", GraphGate, _graph, needs_n_experts=False)
register_gate("dmvae", DMVAEGate, _wide(DMVAEGate))
register_gate("softmax", SoftmaxGate, _wide(SoftmaxGate))
register_gate("kmeans", KMeansGate)
register_gate("gmm", GMMGate)
register_gate("labels", LabelsGate, _unsized(LabelsGate), needs_n_experts=False)
register_gate("oracle", OracleGate, _unsized(OracleGate), needs_n_experts=False)
register_gate("dfcp", DFCPGate)
