"""Minimum spanning tree of a sparse graph, as a weight-sorted edge list."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

__all__ = ["minimum_spanning_edges"]


def minimum_spanning_edges(graph):
    """Edges of the minimum spanning tree of a connected graph, lightest first.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
        Symmetric, positive weights on the stored entries, connected.

    Returns
    -------
    edges : ndarray of shape (n - 1, 3), float64
        Rows ``(i, j, weight)`` sorted by weight (stable), the input format of
        ``hdbscan._hdbscan_linkage.label``.
    """
    n = graph.shape[0]
    n_comp = connected_components(graph, directed=False, return_labels=False)
    if n_comp != 1:
        raise ValueError(f"the graph has {n_comp} components; bridge them first "
                         "(graphmoe.graph.bridge_components).")
    tree = sp.coo_matrix(minimum_spanning_tree(graph))
    edges = np.column_stack([tree.row, tree.col, tree.data]).astype(np.float64)
    if edges.shape[0] != n - 1:  # defensive: explicit zeros would drop edges
        raise ValueError("the spanning tree lost edges; graph weights must be positive.")
    return edges[np.argsort(edges[:, 2], kind="stable")]
