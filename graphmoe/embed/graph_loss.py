"""The connectivity-preserving loss behind ``graph_weight``.

The embedding is meant to be clustered by *connectivity*, so training should
keep the kNN graph of the input intact in code space. The kNN lists of the
input are computed once (``graphmoe.graph.KNNGraph`` when it is available,
scikit-learn's exact search otherwise). In each minibatch every anchor i gets
one neighbour j drawn from its list and, as negatives, the codes of the other
anchors of the batch (a random permutation). With the UMAP/t-SNE similarity
``q(a, b) = 1 / (1 + |a - b|^2)`` the term is the fuzzy-set cross-entropy of
UMAP under negative sampling::

    L_graph = mean_i [ -log q(z_i, z_j) - sum_negatives log(1 - q(z_i, z_n)) ]

It pulls neighbours together and pushes random pairs apart, so chains of
neighbours (arms, manifolds) stay connected while separate groups separate.
Models with a cluster posterior add :func:`assignment_agreement_loss`, which
asks neighbours to share their cluster (``-log sum_k p_ik p_jk``).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["input_neighbors", "sample_neighbors", "umap_contrastive_loss",
           "assignment_agreement_loss"]

_EPS = 1e-6


def input_neighbors(X, n_neighbors, random_state=None):
    """kNN lists of the input rows, excluding the point itself; (n, k) int64."""
    n_neighbors = int(min(n_neighbors, X.shape[0] - 1))
    try:
        from graphmoe.graph import KNNGraph
    except ImportError:  # the graph module may not be there in a partial checkout
        KNNGraph = None
    if KNNGraph is not None:
        seed = None if random_state is None else int(random_state.randint(2**31 - 1))
        return np.asarray(KNNGraph(n_neighbors=n_neighbors, random_state=seed).fit(X).indices_,
                          dtype=np.int64)
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X)
    ind = nn.kneighbors(X, return_distance=False)
    # Duplicated rows may put another index first; drop the self index wherever it sits.
    out = np.empty((X.shape[0], n_neighbors), dtype=np.int64)
    for i, row in enumerate(ind):
        row = row[row != i]
        out[i] = row[:n_neighbors]
    return out


def sample_neighbors(neighbors, batch, generator):
    """One uniformly drawn kNN neighbour per anchor in ``batch``; (len(batch),) int64."""
    k = neighbors.shape[1]
    col = torch.randint(k, (len(batch),), generator=generator).numpy()
    return neighbors[batch, col]


def _similarity(a, b):
    return 1.0 / (1.0 + torch.sum((a - b).pow(2), dim=1))


def umap_contrastive_loss(z_anchor, z_positive, n_negatives=5):
    """Neighbours close, in-batch random pairs apart; a scalar.

    Parameters
    ----------
    z_anchor, z_positive : tensor (n, d)
        Codes of the anchors and of one kNN neighbour each.
    n_negatives : int
        Negatives per anchor, taken as the anchors' codes under random shifts.
    """
    n = z_anchor.shape[0]
    attract = -torch.log(_similarity(z_anchor, z_positive) + _EPS)
    repel = torch.zeros_like(attract)
    if n > 1:
        for _ in range(n_negatives):
            shift = int(torch.randint(1, n, (1,)))
            z_neg = torch.roll(z_anchor, shifts=shift, dims=0)
            repel = repel - torch.log(1.0 - _similarity(z_anchor, z_neg) + _EPS)
    return torch.mean(attract + repel)


def assignment_agreement_loss(p_anchor, p_positive):
    """-log of the probability that two kNN neighbours fall in the same cluster; a scalar."""
    agree = torch.sum(p_anchor * p_positive, dim=1)
    return -torch.mean(torch.log(agree + _EPS))
