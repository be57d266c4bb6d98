"""Choosing the flat clustering from a cluster tree.

A flat clustering is an antichain of tree nodes (no node an ancestor of
another). ``select_eom`` is HDBSCAN's excess-of-mass choice (the antichain of
largest total stability); ``select_n_clusters`` is the same objective with
exactly ``n_clusters`` nodes, solved by a small dynamic programme over the
tree (max-plus convolution of the children's tables).
"""
from __future__ import annotations

import warnings

import numpy as np

from ._tree import children_lists as _children

__all__ = ["select_eom", "select_n_clusters", "select_top_splits", "select_best_splits",
           "labels_from_selection"]


def select_eom(parent, stability, allow_single_cluster=False):
    """Excess-of-mass selection, as ``hdbscan``'s ``get_clusters(..., "eom")``.

    Returns the selected node ids, sorted. The root is a candidate only with
    ``allow_single_cluster``; a tree that never splits then gives no cluster.
    """
    m = parent.size
    best = np.asarray(stability, dtype=np.float64).copy()
    chosen = np.zeros(m, dtype=bool)
    subtree = np.zeros(m)
    kids = _children(parent)
    for node in range(m - 1, -1, -1):  # children are numbered after their parents
        if node == 0 and not allow_single_cluster:
            break
        if kids[node] and subtree[node] > stability[node]:
            best[node] = subtree[node]
        else:
            chosen[node] = True
        if node > 0:
            subtree[parent[node]] += best[node]
    return _top_most(parent, chosen)


def _top_most(parent, chosen):
    covered = np.zeros(parent.size, dtype=bool)
    keep = np.zeros(parent.size, dtype=bool)
    for node in range(parent.size):
        above = covered[parent[node]] if node > 0 else False
        keep[node] = chosen[node] and not above
        covered[node] = above or keep[node]
    return np.flatnonzero(keep)


def select_n_clusters(parent, stability, n_clusters):
    """The antichain of exactly ``n_clusters`` nodes with the largest total stability.

    The root can only be chosen alone (``n_clusters=1``). When the tree has
    fewer than ``n_clusters`` leaves, the largest possible number is returned
    with a warning.
    """
    m, k = parent.size, int(n_clusters)
    kids = _children(parent)
    table = np.full((m, k + 1), -np.inf)
    table[:, 0] = 0.0
    take_self = np.zeros(m, dtype=bool)
    split = {}
    for node in range(m - 1, -1, -1):
        combined = np.full(k + 1, -np.inf)
        combined[0] = 0.0
        for child in kids[node]:
            combined, arg = _max_plus(combined, table[child])
            split[(node, child)] = arg
        table[node] = combined
        if k >= 1 and stability[node] >= combined[1] or not kids[node]:
            table[node, 1] = stability[node]
            take_self[node] = True
    reachable = np.flatnonzero(np.isfinite(table[0]))
    if k not in reachable:
        best_k = int(reachable.max())
        warnings.warn(f"the cluster tree allows at most {best_k} clusters with this "
                      f"min_cluster_size; n_clusters={k} reduced to {best_k}.", UserWarning)
        k = best_k
    if k == 1:
        return np.array([0], dtype=np.int64)
    selected = []
    _backtrack(0, k, kids, take_self, split, selected, top=True)
    return np.sort(np.asarray(selected, dtype=np.int64))


def _max_plus(a, b):
    """c[j] = max_i a[i] + b[j - i] and the maximising i (truncated to len(a))."""
    k = a.size - 1
    c = np.full(k + 1, -np.inf)
    arg = np.zeros(k + 1, dtype=np.int64)
    for j in range(k + 1):
        vals = a[:j + 1] + b[j::-1][:j + 1]
        i = int(np.argmax(vals))
        c[j], arg[j] = vals[i], i
    return c, arg


def _backtrack(node, j, kids, take_self, split, out, top=False):
    if j == 0:
        return
    if j == 1 and take_self[node] and not top:
        out.append(node)
        return
    # Undo the convolution child by child, last child first.
    remaining = j
    for child in reversed(kids[node]):
        i = int(split[(node, child)][remaining])  # mass left for the earlier children
        _backtrack(child, remaining - i, kids, take_self, split, out)
        remaining = i


def _descend(parent, n_clusters, pick):
    """Split the root, then ``pick(selected, splittable, kids)``'s node, to ``n_clusters``.

    Fewer clusters, with a warning, when the tree runs out of splits.
    """
    kids = _children(parent)
    selected = [0]
    while len(selected) < n_clusters:
        splittable = [node for node in selected if kids[node]]
        if not splittable:
            warnings.warn(f"the cluster tree allows at most {len(selected)} clusters with this "
                          f"min_cluster_size; n_clusters={n_clusters} reduced to "
                          f"{len(selected)}.", UserWarning)
            break
        node = pick(selected, splittable, kids)
        selected.remove(node)
        selected.extend(kids[node])
    return np.sort(np.asarray(selected, dtype=np.int64))


def select_top_splits(parent, lambda_birth, n_clusters):
    """Undo the last merges: split the root, then always the node that splits earliest.

    This is the classic dendrogram cut into ``n_clusters`` parts, restricted to
    the splits that survived condensing (both sides at least min_cluster_size).
    Fewer clusters, with a warning, when the tree runs out of splits.
    """
    # The split at the largest distance is the one with the smallest child λ.
    return _descend(parent, n_clusters, lambda selected, splittable, kids: min(
        splittable, key=lambda a: lambda_birth[kids[a][0]]))


def select_best_splits(parent, n_clusters, score):
    """Split the root, then always the selected node whose split ``score`` rates highest.

    A greedy, best-first descent of the tree: ``score(selected)`` rates a
    candidate antichain (an int64 array of node ids, sorted), and among the
    current nodes that have children the one whose replacement by its children
    scores best is split. ``select_top_splits`` follows the merge order
    instead; this lets an internal criterion (``method="auto"`` uses
    modularity) decide which group is worth another cluster. Fewer clusters,
    with a warning, when the tree runs out of splits.
    """
    def best(selected, splittable, kids):
        top, top_node = -np.inf, splittable[0]
        for node in sorted(splittable):  # ties keep the earliest-numbered node
            trial = [a for a in selected if a != node] + kids[node]
            value = score(np.sort(np.asarray(trial, dtype=np.int64)))
            if value > top:
                top, top_node = value, node
        return top_node

    return _descend(parent, n_clusters, best)


def labels_from_selection(parent, selected, point_node):
    """Label samples by the selected node above them (-1 where there is none)."""
    node_label = np.full(parent.size, -1, dtype=np.int64)
    rank = {int(node): i for i, node in enumerate(selected)}
    for node in range(parent.size):
        if node in rank:
            node_label[node] = rank[node]
        elif node > 0:
            node_label[node] = node_label[parent[node]]
    return node_label[point_node]
