"""``ClusterHierarchy``: the tree of clusters both segmenters produce.

Nodes are integers ``0 .. n_nodes - 1`` with the root ``0`` and every parent
numbered before its children. Each sample sits in exactly one node (the
deepest cluster that holds it); the members of a node are the samples in its
subtree, so a child's members are a subset of its parent's. A "halo" widens a
node by the kNN-graph neighbours of its members, the overlap that experts
train on.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._tree import children_lists

__all__ = ["ClusterHierarchy"]


class ClusterHierarchy:
    """A tree of nested clusters over ``n_samples`` points.

    Parameters
    ----------
    parent : array-like of shape (n_nodes,)
        Parent of each node, ``-1`` for the root (node 0); ``parent[i] < i``.
    lambda_birth : array-like of shape (n_nodes,)
        Density level λ = 1 / distance at which the node splits off its parent
        (0 for the root).
    stability : array-like of shape (n_nodes,)
        Excess of mass of each node (HDBSCAN's stability).
    point_node : array-like of shape (n_samples,)
        The deepest node holding each sample.
    cluster_nodes : array-like of shape (n_clusters,)
        Node of cluster label ``i`` (the flat clustering chosen from the tree).
    graph : scipy.sparse matrix of shape (n_samples, n_samples), optional
        The kNN graph, needed for ``members(node, halo=h)`` with ``h > 0``.
    point_lambda : array-like of shape (n_samples,), optional
        λ at which each sample leaves its deepest node.

    Attributes
    ----------
    root : int
    n_nodes : int
    n_samples : int
    levels : list of ndarray
        Level 0 is ``[root]``; level ``l + 1`` replaces every node of level
        ``l`` that has children by its children (leaves carry over), so each
        level refines the one before, coarse to fine.
    """

    def __init__(self, parent, lambda_birth, stability, point_node, cluster_nodes,
                 graph=None, point_lambda=None):
        self.parent_ = np.asarray(parent, dtype=np.int64)
        self.lambda_birth_ = np.asarray(lambda_birth, dtype=np.float64)
        self.stability_ = np.asarray(stability, dtype=np.float64)
        self.point_node_ = np.asarray(point_node, dtype=np.int64)
        self.cluster_nodes = np.asarray(cluster_nodes, dtype=np.int64)
        self.graph = None if graph is None else sp.csr_matrix(graph)
        self.point_lambda_ = None if point_lambda is None else np.asarray(point_lambda, float)
        m = self.parent_.shape[0]
        if m == 0 or self.parent_[0] != -1 or np.any(self.parent_[1:] >= np.arange(1, m)):
            raise ValueError("parent must list the root first and number parents before children.")
        self._children = children_lists(self.parent_)
        self._index_subtrees()

    # -- structure ---------------------------------------------------------------------------
    def _index_subtrees(self):
        """Pre-order numbering: a subtree is the interval [tin, tout) of that order."""
        m = self.n_nodes
        tin = np.zeros(m, dtype=np.int64)
        tout = np.zeros(m, dtype=np.int64)
        stack, clock = [(0, False)], 0
        while stack:
            node, done = stack.pop()
            if done:
                tout[node] = clock
                continue
            tin[node] = clock
            clock += 1
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(self._children[node]))
        self._tin, self._tout = tin, tout
        point_tin = tin[self.point_node_]
        self._point_order = np.argsort(point_tin, kind="stable")
        self._point_tin_sorted = point_tin[self._point_order]
        counts = np.bincount(self.point_node_, minlength=m)
        sizes = counts.copy()
        for node in range(m - 1, 0, -1):  # children are numbered after parents
            sizes[self.parent_[node]] += sizes[node]
        self.size_ = sizes

    @property
    def root(self):
        return 0

    @property
    def n_nodes(self):
        return self.parent_.shape[0]

    @property
    def n_samples(self):
        return self.point_node_.shape[0]

    @property
    def birth_distance_(self):
        """Distance 1/λ at which each node splits off its parent (inf for the root)."""
        with np.errstate(divide="ignore"):
            return np.where(self.lambda_birth_ > 0, 1.0 / self.lambda_birth_, np.inf)

    def parent(self, node):
        """Parent of ``node`` (-1 for the root)."""
        return int(self.parent_[self._check_node(node)])

    def children(self, node):
        """Children of ``node`` as a list of ints."""
        return list(self._children[self._check_node(node)])

    def size(self, node):
        """Number of samples in the subtree of ``node``."""
        return int(self.size_[self._check_node(node)])

    def birth_distance(self, node):
        return float(self.birth_distance_[self._check_node(node)])

    def lambda_birth(self, node):
        return float(self.lambda_birth_[self._check_node(node)])

    def stability(self, node):
        return float(self.stability_[self._check_node(node)])

    def depth(self, node):
        node, d = self._check_node(node), 0
        while self.parent_[node] >= 0:
            node, d = self.parent_[node], d + 1
        return d

    def is_ancestor(self, a, b):
        """Whether node ``a`` is ``b`` or an ancestor of ``b`` (element-wise for arrays)."""
        a, b = np.asarray(a), np.asarray(b)
        result = (self._tin[a] <= self._tin[b]) & (self._tin[b] < self._tout[a])
        return bool(result) if result.ndim == 0 else result

    def _check_node(self, node):
        if not (0 <= int(node) < self.n_nodes):
            raise ValueError(f"node {node} does not exist; nodes are 0..{self.n_nodes - 1}.")
        return int(node)

    # -- members -----------------------------------------------------------------------------
    def members(self, node, halo=0):
        """Sorted sample indices of ``node``'s subtree, widened by ``halo`` graph hops.

        ``halo=h`` adds every sample within ``h`` hops of a member in the kNN
        graph, so neighbouring clusters overlap at their borders.
        """
        node = self._check_node(node)
        lo = np.searchsorted(self._point_tin_sorted, self._tin[node], side="left")
        hi = np.searchsorted(self._point_tin_sorted, self._tout[node], side="left")
        inside = np.sort(self._point_order[lo:hi])
        if halo == 0:
            return inside
        if halo < 0 or int(halo) != halo:
            raise ValueError(f"halo must be a non-negative integer, got {halo!r}.")
        if self.graph is None:
            raise ValueError("members(..., halo>0) needs the kNN graph; build the hierarchy "
                             "with graph=...")
        mask = np.zeros(self.n_samples, dtype=bool)
        mask[inside] = True
        frontier = inside
        for _ in range(int(halo)):
            reached = np.unique(self.graph[frontier].indices)
            frontier = reached[~mask[reached]]
            if frontier.size == 0:
                break
            mask[frontier] = True
        return np.flatnonzero(mask)

    # -- levels ------------------------------------------------------------------------------
    @property
    def levels(self):
        levels = [np.array([0], dtype=np.int64)]
        while True:
            nxt = []
            for node in levels[-1]:
                nxt.extend(self._children[node] or [node])
            nxt = np.asarray(nxt, dtype=np.int64)
            if np.array_equal(nxt, levels[-1]):
                return levels
            levels.append(nxt)

    def labels_at(self, level):
        """Flat labels (n_samples,) of the nodes of ``levels[level]``; -1 where none holds a sample.

        ``level`` may also be an array of node ids forming an antichain.
        """
        nodes = self.levels[level] if np.isscalar(level) else np.asarray(level, dtype=np.int64)
        labels = np.full(self.n_samples, -1, dtype=np.int64)
        for i, node in enumerate(nodes):
            labels[self.members(node)] = i
        return labels

    def cluster_labels(self):
        """Flat labels of ``cluster_nodes`` (the clustering chosen from the tree)."""
        return self.labels_at(self.cluster_nodes)

    # -- export ------------------------------------------------------------------------------
    def to_pandas(self):
        """One row per node: parent, size, depth, birth distance/λ, stability, cluster label."""
        import pandas as pd

        label = np.full(self.n_nodes, -1, dtype=np.int64)
        label[self.cluster_nodes] = np.arange(self.cluster_nodes.size)
        return pd.DataFrame({
            "node": np.arange(self.n_nodes),
            "parent": self.parent_,
            "n_children": [len(c) for c in self._children],
            "size": self.size_,
            "depth": [self.depth(i) for i in range(self.n_nodes)],
            "birth_distance": self.birth_distance_,
            "lambda_birth": self.lambda_birth_,
            "stability": self.stability_,
            "cluster_label": label,
        })

    def to_networkx(self):
        """A ``networkx.DiGraph`` parent -> child with the node table as attributes."""
        import networkx as nx

        tree = nx.DiGraph()
        for row in self.to_pandas().to_dict("records"):
            node = int(row.pop("node"))
            tree.add_node(node, **row)
        tree.add_edges_from((int(p), c) for c, p in enumerate(self.parent_) if p >= 0)
        return tree

    def plot(self, ax=None, log_size=False):
        """Draw the tree: x spreads the leaves, y is the birth distance (root on top).

        Node markers grow with cluster size; selected clusters are coloured.
        Returns the matplotlib Axes.
        """
        from .hierarchy_plot import plot_hierarchy

        return plot_hierarchy(self, ax=ax, log_size=log_size)

    def __repr__(self):
        return (f"ClusterHierarchy(n_nodes={self.n_nodes}, n_samples={self.n_samples}, "
                f"n_clusters={self.cluster_nodes.size}, depth={len(self.levels) - 1})")
