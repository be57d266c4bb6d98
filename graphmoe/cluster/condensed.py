"""From a minimum spanning tree to a condensed cluster tree, with hdbscan's routines.

The single-linkage tree, the condensed tree (runt pruning by
``min_cluster_size``, the size constraint that keeps tiny outlier branches
from becoming clusters) and the stabilities come from the hdbscan library;
this module only converts its record array into plain per-node arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hdbscan._hdbscan_linkage import label as _single_linkage_label
from hdbscan._hdbscan_tree import compute_stability, condense_tree

from ._tree import children_lists

__all__ = ["CondensedTree", "single_linkage_tree", "condensed_tree"]


def single_linkage_tree(mst_edges):
    """scipy-style linkage matrix (n-1, 4) from weight-sorted MST edges (n-1, 3)."""
    return _single_linkage_label(np.ascontiguousarray(mst_edges, dtype=np.float64))


@dataclass
class CondensedTree:
    """Per-node arrays of hdbscan's condensed tree (node 0 is the root).

    Attributes
    ----------
    parent : ndarray (n_nodes,)  parent node, -1 for the root
    lambda_birth : ndarray (n_nodes,)  λ where the node splits off (0 for the root)
    size : ndarray (n_nodes,)  samples at birth
    stability : ndarray (n_nodes,)  excess of mass
    point_node : ndarray (n_samples,)  node each sample falls out of
    point_lambda : ndarray (n_samples,)  λ at which it falls out
    raw : numpy record array  hdbscan's condensed tree (parent, child, lambda_val, child_size)
    """

    parent: np.ndarray
    lambda_birth: np.ndarray
    size: np.ndarray
    stability: np.ndarray
    point_node: np.ndarray
    point_lambda: np.ndarray
    raw: np.ndarray

    @property
    def children(self):
        return children_lists(self.parent)


def condensed_tree(linkage, min_cluster_size):
    """Condense a single-linkage tree; see ``CondensedTree``.

    Parameters
    ----------
    linkage : ndarray of shape (n_samples - 1, 4)
    min_cluster_size : int
        A split counts only when both sides have at least this many samples.
    """
    n = linkage.shape[0] + 1
    raw = condense_tree(np.ascontiguousarray(linkage), int(min_cluster_size))
    is_point = raw["child_size"] == 1
    # hdbscan numbers cluster nodes n, n+1, ... in breadth-first order.
    n_nodes = int(max(raw["parent"].max(), raw["child"][~is_point].max(initial=n))) - n + 1
    parent = np.full(n_nodes, -1, dtype=np.int64)
    lambda_birth = np.zeros(n_nodes)
    size = np.full(n_nodes, n, dtype=np.int64)
    clusters = raw[~is_point]
    parent[clusters["child"] - n] = clusters["parent"] - n
    lambda_birth[clusters["child"] - n] = clusters["lambda_val"]
    size[clusters["child"] - n] = clusters["child_size"]
    points = raw[is_point]
    point_node = np.empty(n, dtype=np.int64)
    point_lambda = np.empty(n)
    point_node[points["child"]] = points["parent"] - n
    point_lambda[points["child"]] = points["lambda_val"]
    stab = compute_stability(raw)
    stability = np.array([stab.get(node + n, 0.0) for node in range(n_nodes)])
    return CondensedTree(parent, lambda_birth, size, stability, point_node, point_lambda, raw)
