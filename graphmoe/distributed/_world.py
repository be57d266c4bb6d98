"""The process group graphmoe trains in: found from torchrun's environment.

``torchrun --nproc_per_node N script.py`` sets ``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK`` and the rendezvous address; graphmoe then joins (or creates)
the default process group, with gloo on the CPU and nccl on CUDA. Outside
torchrun, or with ``GRAPHMOE_DISTRIBUTED=0``, every helper here is a no-op and
training runs in one process exactly as before.
"""
from __future__ import annotations

import atexit
import os
from typing import NamedTuple

import torch

__all__ = ["World", "current_world", "init_from_env", "broadcast_object", "fit_on_rank0"]


class World(NamedTuple):
    """``rank`` of this process among ``size``; ``size == 1`` means not distributed."""

    rank: int = 0
    size: int = 1

    @property
    def active(self):
        return self.size > 1

    @property
    def is_main(self):
        """Rank 0: the one process that shows progress bars and writes checkpoints."""
        return self.rank == 0


def _env_world_size():
    if os.environ.get("GRAPHMOE_DISTRIBUTED", "1") == "0":
        return 1
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ValueError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer.") from None


def current_world():
    """The :class:`World` of this process, without creating a process group."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and _env_world_size() > 1:
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def init_from_env(device="cpu"):
    """Join the process group torchrun describes; returns the :class:`World`.

    Creates the default group (gloo for a CPU ``device``, nccl for CUDA) when
    ``WORLD_SIZE > 1`` and none exists yet; a group the caller made is used
    as it is. Raises ``RuntimeError`` when torchrun asks for several processes
    but this torch build has no ``torch.distributed``.
    """
    size = _env_world_size()
    if size <= 1:
        return World()
    dist = torch.distributed
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={size} but this torch build has no torch.distributed.")
    if not dist.is_initialized():
        cuda = torch.device(device).type == "cuda"
        if cuda:  # one GPU per process, as torchrun numbers them
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        atexit.register(_destroy)
    return World(dist.get_rank(), dist.get_world_size())


def _destroy():
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def broadcast_object(obj, world=None, src=0):
    """``obj`` of rank ``src`` on every rank (pickled; for small fitted objects)."""
    world = current_world() if world is None else world
    if not world.active:
        return obj
    box = [obj if world.rank == src else None]
    torch.distributed.broadcast_object_list(box, src=src)
    return box[0]


def fit_on_rank0(estimator, X, device="cpu"):
    """``estimator.fit(X)`` once, on rank 0, and the fitted copy on every rank.

    The clustering of a distributed GraphMoE fit runs this way: one process
    builds the kNN graph and the hierarchy, the others receive the result, so
    every replica starts from the same experts whatever the numerical noise
    of a parallel kNN search. When the fit raises on rank 0, every rank raises
    (rank 0 the original error, the others a ``RuntimeError`` naming it)
    instead of waiting for a broadcast that never comes.
    """
    world = init_from_env(device)
    if not world.active:
        return estimator.fit(X)
    fitted = error = failure = None
    if world.is_main:
        try:
            fitted = estimator.fit(X)
        except Exception as err:  # noqa: BLE001 - every rank must hear of it, then re-raise
            # only its text travels: an exception object may not pickle (or unpickle)
            error, failure = err, f"{type(err).__name__}: {err}"
    fitted, failure = broadcast_object((fitted, failure), world)
    if failure is not None:
        if error is not None:
            raise error
        raise RuntimeError(f"the clustering fit on rank 0 failed: {failure}")
    return fitted
