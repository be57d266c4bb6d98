"""Benchmarks: clustering roster × datasets, embedders, mixture-of-experts.

``run_cluster_benchmark`` (this package), ``run_embed_benchmark``
(:mod:`graphmoe.bench.embed`), ``run_moe_benchmark`` (:mod:`graphmoe.bench.moe`) and
``run_scale_benchmark`` (:mod:`graphmoe.bench.scale`) each write a table (and plots)
into a folder and return a pandas DataFrame.
Submodules load on first use, so importing the package stays cheap.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "run_cluster_benchmark": "graphmoe.bench.cluster",
    "run_embed_benchmark": "graphmoe.bench.embed",
    "run_moe_benchmark": "graphmoe.bench.moe",
    "run_scale_benchmark": "graphmoe.bench.scale",
    "run_benchmark": "graphmoe.bench.runner",
    "get_methods": "graphmoe.bench.methods",
    "write_report": "graphmoe.bench.report",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphmoe.bench' has no attribute {name!r}")
