"""Genie merge order on a minimum spanning tree (the size-inequality constraint).

Plain single linkage merges the lightest MST edge first and so lets one big
cluster swallow everything while outliers stay alone until the very end;
cutting such a tree yields one giant cluster and a few singletons. Genie
(Gagolewski, Bartoszuk & Cena, 2016) keeps the cluster sizes from growing too
unequal: whenever the Gini index of the current sizes exceeds a threshold, the
next merge must involve a cluster of the smallest size (along its lightest
MST edge). This module computes that merge order; the caller turns it into a
linkage matrix and condensed tree like any other.

The Gini index ``sum_{i<j} |s_i - s_j| / ((k - 1) n)`` is updated in
O(distinct sizes) per merge (at most ``sqrt(2 n)`` of them), and the edges
touching a smallest cluster are re-listed only when the smallest size grows,
so the whole order costs O(n sqrt n) at worst.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._tree import find_root as _find

__all__ = ["genie_merge_order", "monotone_heights"]


@njit(cache=True)
def _abs_dev(x, distinct, n_distinct, count):
    """sum over clusters of |x - size|, from the size histogram."""
    total = 0.0
    for t in range(n_distinct):
        v = distinct[t]
        total += count[v] * abs(x - v)
    return total


@njit(cache=True)
def _change_count(v, delta, distinct, position, n_distinct, count):
    """Add ``delta`` clusters of size ``v``; keep the list of present sizes; return its length."""
    count[v] += delta
    if count[v] == 0:
        t = position[v]
        last = distinct[n_distinct - 1]
        distinct[t] = last
        position[last] = t
        position[v] = -1
        return n_distinct - 1
    if position[v] < 0:
        distinct[n_distinct] = v
        position[v] = n_distinct
        return n_distinct + 1
    return n_distinct


@njit(cache=True)
def _touches_size(parent, size, u, v, e, target):
    return size[_find(parent, u[e])] == target or size[_find(parent, v[e])] == target


@njit(cache=True)
def _genie_order(u, v, n, gini_threshold):
    m = u.shape[0]
    parent = np.arange(n)
    size = np.ones(n, dtype=np.int64)
    count = np.zeros(n + 1, dtype=np.int64)
    distinct = np.zeros(n + 1, dtype=np.int64)
    position = np.full(n + 1, -1, dtype=np.int64)
    count[1] = n
    distinct[0] = 1
    position[1] = 0
    n_distinct = 1
    numer = 0.0
    smallest = 1
    used = np.zeros(m, dtype=np.bool_)
    order = np.empty(m, dtype=np.int64)
    first = 0
    gini = 0.0
    # Candidates for the constrained merge: unused edges touching a cluster of the
    # smallest size, by weight. Clusters of that size only disappear until the
    # smallest size grows, so the list is rebuilt only then (O(n) per distinct size).
    cand = np.empty(m, dtype=np.int64)
    n_cand, p, cand_size = 0, 0, -1
    for step in range(m):
        e = first
        if gini > gini_threshold:
            if cand_size != smallest:
                n_cand, p, cand_size = 0, 0, smallest
                for f in range(first, m):
                    if not used[f] and _touches_size(parent, size, u, v, f, smallest):
                        cand[n_cand] = f
                        n_cand += 1
            while used[cand[p]] or not _touches_size(parent, size, u, v, cand[p], smallest):
                p += 1
            e = cand[p]
        used[e] = True
        order[step] = e
        while first < m and used[first]:
            first += 1
        ra, rb = _find(parent, u[e]), _find(parent, v[e])
        a, b = size[ra], size[rb]
        numer -= _abs_dev(a, distinct, n_distinct, count)
        n_distinct = _change_count(a, -1, distinct, position, n_distinct, count)
        numer -= _abs_dev(b, distinct, n_distinct, count)
        n_distinct = _change_count(b, -1, distinct, position, n_distinct, count)
        numer += _abs_dev(a + b, distinct, n_distinct, count)
        n_distinct = _change_count(a + b, 1, distinct, position, n_distinct, count)
        parent[ra] = rb
        size[rb] = a + b
        k = n - 1 - step
        gini = numer / ((k - 1) * n) if k > 1 else 0.0
        while smallest <= n and count[smallest] == 0:
            smallest += 1
    return order


def genie_merge_order(mst_edges, gini_threshold=0.2):
    """Order in which Genie merges along the MST edges.

    Parameters
    ----------
    mst_edges : ndarray of shape (n - 1, 3)
        MST edges ``(i, j, weight)`` sorted by weight.
    gini_threshold : float in [0, 1]
        1 gives single linkage; smaller values force more even cluster sizes.

    Returns
    -------
    order : ndarray of shape (n - 1,)
        Row indices of ``mst_edges`` in merge order.
    """
    n = mst_edges.shape[0] + 1
    u = mst_edges[:, 0].astype(np.int64)
    v = mst_edges[:, 1].astype(np.int64)
    return _genie_order(u, v, n, float(gini_threshold))


@njit(cache=True)
def _monotone(linkage, n):
    out = linkage.copy()
    for r in range(out.shape[0]):
        h = out[r, 2]
        for c in (int(out[r, 0]), int(out[r, 1])):
            if c >= n and out[c - n, 2] > h:
                h = out[c - n, 2]
        out[r, 2] = h
    return out


def monotone_heights(linkage):
    """Raise each merge height to at least its children's, so the tree is a valid dendrogram.

    Genie may merge a small cluster along a heavier edge before a lighter one
    elsewhere; the hierarchy needs heights that grow towards the root.
    """
    return _monotone(np.ascontiguousarray(linkage, dtype=np.float64), linkage.shape[0] + 1)
