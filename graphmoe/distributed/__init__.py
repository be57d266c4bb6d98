"""Past one process: data-parallel training (torch.distributed) and partitioned assignment (Dask).

- Training: run a script that fits an embedder or a GraphMoE estimator under
  ``torchrun --nproc_per_node N``; the fit joins the process group from the
  environment (gloo on CPU, nccl on CUDA) and trains with
  DistributedDataParallel, see :mod:`graphmoe.distributed.data_parallel`.
- Assignment: :func:`predict_blocks` and friends map a fitted estimator over
  the partitions of a ``dask.array`` (:mod:`graphmoe.distributed.partitioned`).
  Dask is an optional extra (``pip install graphmoe[dask]``); nothing here
  imports it before one of those functions is used.
"""
from __future__ import annotations

import importlib

from ._world import World, broadcast_object, current_world, fit_on_rank0, init_from_env

_LAZY = {name: "graphmoe.distributed.partitioned"
         for name in ("predict_blocks", "predict_proba_blocks", "transform_blocks",
                      "route_blocks", "sample_rows")}
_LAZY.update({name: "graphmoe.distributed.data_parallel"
              for name in ("DataParallel", "LossModule", "moe_global_losses")})

__all__ = ["World", "broadcast_object", "current_world", "fit_on_rank0", "init_from_env",
           *sorted(_LAZY)]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphmoe.distributed' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
