"""Tree helpers shared by the condensed tree, the selections and the hierarchy."""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["children_lists", "find_root"]


@njit(cache=True)
def find_root(parent, a):
    """Root of ``a`` in the union-find forest ``parent``, compressing the path."""
    root = a
    while parent[root] != root:
        root = parent[root]
    while parent[a] != root:
        nxt = parent[a]
        parent[a] = root
        a = nxt
    return root


def children_lists(parent):
    """Children of every node, ``kids[p]`` in increasing node order.

    ``parent`` has shape (n_nodes,) with ``parent[0] == -1`` (the root) and every
    other node's parent numbered before it.
    """
    kids = [[] for _ in range(len(parent))]
    for node, up in enumerate(np.asarray(parent)[1:].tolist(), start=1):
        kids[up].append(node)
    return kids
