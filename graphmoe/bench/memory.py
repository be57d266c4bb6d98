"""Memory probes of the benchmarks: this process's resident memory (RSS).

``peak_memory`` samples the RSS in a thread while a block runs (the peak of
one run inside a longer process); ``max_rss_mb`` reads the kernel's
high-water mark of the whole process (exact, but never goes down: use it in a
fresh process per measurement, as ``graphmoe bench scale`` does).
"""
from __future__ import annotations

import resource
import sys
import threading

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
    """Context manager sampling this process's RSS; ``.peak_mb`` is its peak.

    The peak is the whole process's RSS (data, model and whatever earlier runs
    left allocated), sampled every ``interval`` seconds; ``.added_mb`` is the
    peak minus the RSS at entry, the memory the block itself needed at most.

    Examples
    --------
    >>> import numpy as np
    >>> with peak_memory() as mem:
    ...     a = np.ones(2**24)  # 128 MiB
    >>> mem.added_mb > 100
    True
    """

    def __init__(self, interval=0.02):
        import psutil

        self._proc, self._interval = psutil.Process(), interval
        self.peak_mb = self.added_mb = 0.0

    def _watch(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self._proc.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self):
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
        self.added_mb = (self._peak - self._start) / 2**20
