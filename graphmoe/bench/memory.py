"""Memory probes of the benchmarks: this process's resident memory (RSS).

``peak_memory`` samples the RSS in a thread while a block runs, and can add
tracemalloc's exact peak (the peak of one run inside a longer process);
``max_rss_mb`` reads the kernel's
high-water mark of the whole process (exact, but never goes down: use it in a
fresh process per measurement, as ``graphmoe bench scale`` does).
"""
from __future__ import annotations

import resource
import sys
import threading
import tracemalloc

__all__ = ["peak_memory", "max_rss_mb", "rss_mb"]


def max_rss_mb():
    """The high-water mark of this process's RSS since it started, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def rss_mb():
    """This process's RSS now, in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class peak_memory:
    """Context manager measuring the most memory a block of code needed, in MiB.

    Two views, both optional: the process's RSS sampled every ``interval``
    seconds in a thread (everything, native buffers of torch, numba and faiss
    included, but an allocation shorter than ``interval`` may slip between two
    samples) and, with ``trace=True``, :mod:`tracemalloc`'s exact peak of the
    memory allocated through Python's allocators (NumPy arrays included, native
    libraries' private buffers not; tracing slows allocation-heavy Python code).

    Attributes
    ----------
    peak_mb : float
        Peak RSS of the whole process during the block (data, models and whatever
        earlier code left allocated).
    added_mb : float
        What the block itself needed at most: the larger of the RSS peak minus the
        RSS at entry and the traced peak.

    Examples
    --------
    >>> import numpy as np
    >>> with peak_memory(trace=True) as mem:
    ...     a = np.ones(2**24)  # 128 MiB
    >>> mem.added_mb > 100
    True
    """

    def __init__(self, interval=0.02, trace=False):
        import psutil

        self._proc, self._interval, self._trace = psutil.Process(), interval, trace
        self.peak_mb = self.added_mb = 0.0

    def _watch(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self._proc.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self):
        if self._trace:
            self._was_tracing = tracemalloc.is_tracing()
            if not self._was_tracing:
                tracemalloc.start()
            tracemalloc.reset_peak()
            self._traced_base = tracemalloc.get_traced_memory()[0]
        self._start = self._peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._proc.memory_info().rss)
        self.peak_mb = self._peak / 2**20
        added = self._peak - self._start
        if self._trace:
            added = max(added, tracemalloc.get_traced_memory()[1] - self._traced_base)
            if not self._was_tracing:
                tracemalloc.stop()
        self.added_mb = max(added, 0) / 2**20
