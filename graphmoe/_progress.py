"""Progress bars and thread settings shared across graphmoe."""
from __future__ import annotations

import os

from tqdm.auto import tqdm

__all__ = ["progress", "default_num_threads", "set_torch_threads"]


def progress(iterable=None, *, verbose=False, **kwargs):
    """A tqdm bar when ``verbose`` is truthy, otherwise a silent pass-through."""
    return tqdm(iterable, disable=not verbose, leave=False, **kwargs)


def default_num_threads():
    """Threads for torch: the cores this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def set_torch_threads(num_threads=None):
    """Set torch's intra-op threads (``None``: all available cores); returns the previous value."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(num_threads) if num_threads else default_num_threads())
    return previous
