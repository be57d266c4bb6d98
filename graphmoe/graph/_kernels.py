"""Compiled (numba, cached) kernels of the kNN search: bounded heaps and row sorting."""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["push_block", "sort_rows_by_insertion"]


@njit(cache=True)
def push_block(heap_d, heap_i, rows, dist, ids):
    """Offer ``dist[a, b]`` (point ``ids[b]``) to the bounded max-heap of row ``rows[a]``.

    ``heap_d[r]`` / ``heap_i[r]`` hold the k smallest distances seen so far as
    a max-heap (largest at 0), started as ``inf`` / ``-1``; an offer replaces
    the top when strictly smaller.
    """
    k = heap_d.shape[1]
    for a in range(rows.shape[0]):
        r = rows[a]
        for b in range(ids.shape[0]):
            d = dist[a, b]
            if not d < heap_d[r, 0]:
                continue
            pos = 0  # sift the new entry down from the top
            while True:
                child = 2 * pos + 1
                if child >= k:
                    break
                if child + 1 < k and heap_d[r, child + 1] > heap_d[r, child]:
                    child += 1
                if heap_d[r, child] <= d:
                    break
                heap_d[r, pos] = heap_d[r, child]
                heap_i[r, pos] = heap_i[r, child]
                pos = child
            heap_d[r, pos] = d
            heap_i[r, pos] = ids[b]


@njit(cache=True)
def sort_rows_by_insertion(ind, dist):
    """Copies of ``ind`` / ``dist`` with each row ordered by (distance, index), stably.

    Insertion sort: on short rows (k up to ~128, mostly in order already after
    a search) several times faster than two numpy argsorts. NaN-free input.
    """
    ind, dist = ind.copy(), dist.copy()
    m, k = ind.shape
    for r in range(m):
        for a in range(1, k):
            d, i = dist[r, a], ind[r, a]
            b = a - 1
            while b >= 0 and (dist[r, b] > d or (dist[r, b] == d and ind[r, b] > i)):
                dist[r, b + 1], ind[r, b + 1] = dist[r, b], ind[r, b]
                b -= 1
            dist[r, b + 1], ind[r, b + 1] = d, i
    return ind, dist
