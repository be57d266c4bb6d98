"""graphmoe: mixture-of-experts structure discovered by graph connectivity.

X -> embed -> kNN graph -> connectivity clustering (hierarchy of overlapping
clusters) -> experts -> jointly retrained gate and experts.

Heavy submodules (torch) load on first use, so ``import graphmoe`` stays fast.
"""
from __future__ import annotations

import importlib

__version__ = "0.2.0"

_LAZY = {
    "KNNGraph": "graphmoe.graph",
    "ConnectivityClustering": "graphmoe.cluster",
    "ClusterHierarchy": "graphmoe.cluster",
    "GraphMoERegressor": "graphmoe.moe",
    "GraphMoEClassifier": "graphmoe.moe",
    "datasets": "graphmoe.datasets",
    "embed": "graphmoe.embed",
    "save": "graphmoe.persistence",
    "load": "graphmoe.persistence",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if module.__name__.endswith("." + name) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphmoe' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
