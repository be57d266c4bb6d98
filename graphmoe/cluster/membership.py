"""Soft membership on the kNN graph, and routing of new points by connectivity.

A sample's membership is a vote of itself and its kNN neighbours, each
weighted by how reachable it is: ``w = r_self / r`` with ``r`` the mutual
reachability distance, so neighbours inside the sample's core ball count
fully and farther ones less. The last column holds the noise mass. New points
are routed the same way from their neighbours in the training set; with
HDBSCAN a point that is farther (in mutual reachability) from its nearest
cluster than the distance at which that cluster was born becomes noise.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["training_membership", "route_membership", "enforce_argmax"]


def _label_columns(labels, n_clusters):
    return np.where(labels >= 0, labels, n_clusters)


def enforce_argmax(membership, target):
    """Make column ``target[i]`` the strict maximum of row ``i``, rows summing to 1.

    Parameters
    ----------
    membership : scipy.sparse matrix (n, c), non-negative
    target : ndarray (n,) column index per row

    Returns
    -------
    scipy.sparse.csr_matrix (n, c)
    """
    M = sp.csr_matrix(membership, dtype=np.float64)
    n = M.shape[0]
    own = np.asarray(M[np.arange(n), target]).ravel()
    onehot = sp.csr_matrix((np.ones(n), (np.arange(n), target)), shape=M.shape)
    others = (M - M.multiply(onehot)).tocsr()
    top_other = others.max(axis=1).toarray().ravel() if M.shape[1] > 1 else np.zeros(n)
    # A relative margin keeps argmax unambiguous after renormalisation.
    raised = np.maximum(own, top_other * (1.0 + 1e-6) + 1e-12)
    M = (others + sp.csr_matrix((raised, (np.arange(n), target)), shape=M.shape)).tocsr()
    M.eliminate_zeros()
    return sp.csr_matrix(sp.diags(1.0 / np.asarray(M.sum(axis=1)).ravel()) @ M)


def training_membership(indices, distances, core, labels, n_clusters, floor):
    """Soft membership (n, n_clusters + 1) of the training samples, CSR.

    Parameters
    ----------
    indices, distances : ndarray (n, k)
        kNN lists without the sample itself.
    core : ndarray (n,)
        Core distances.
    labels : ndarray (n,)
        Flat labels, -1 = noise (last column).
    n_clusters : int
    floor : float
        Smallest distance (stands in for zero).

    Returns
    -------
    scipy.sparse.csr_matrix
        Rows sum to 1; the column of each sample's own label (noise included)
        is the row's strict maximum.
    """
    n, k = indices.shape
    r_self = np.maximum(core, floor)
    reach = np.maximum(np.maximum(distances, core[:, None]), core[indices])
    weights = r_self[:, None] / np.maximum(reach, floor)
    cols = _label_columns(labels, n_clusters)
    rows = np.concatenate([np.arange(n), np.repeat(np.arange(n), k)])
    data = np.concatenate([np.ones(n), weights.ravel()])
    col = np.concatenate([cols, cols[indices].ravel()])
    M = sp.csr_matrix((data, (rows, col)), shape=(n, n_clusters + 1))
    return enforce_argmax(M, cols)


def route_membership(indices, distances, core, membership, labels, birth_distance, floor,
                     noise=True):
    """Membership (m, n_clusters + 1) of new points from their training neighbours.

    Parameters
    ----------
    indices, distances : ndarray (m, k)
        Each new point's nearest training samples.
    core : ndarray (n,)
        Core distances of the training samples.
    membership : scipy.sparse matrix (n, n_clusters + 1)
        Training membership.
    labels : ndarray (n,)
        Training labels.
    birth_distance : ndarray (n_clusters,)
        Mutual-reachability distance at which each cluster splits off (inf: never).
    floor : float
    noise : bool
        Whether points far from every cluster become noise (HDBSCAN) or not (MST).

    Returns
    -------
    ndarray (m, n_clusters + 1), rows summing to 1
    """
    m, k = indices.shape
    reach = np.maximum(np.maximum(distances, core[indices]), floor)
    nearest = np.argmin(reach, axis=1)
    r_min = reach[np.arange(m), nearest]
    weights = r_min[:, None] / reach
    W = sp.csr_matrix((weights.ravel(), (np.repeat(np.arange(m), k), indices.ravel())),
                      shape=(m, membership.shape[0]))
    vote = np.asarray((W @ membership).todense())
    vote /= vote.sum(axis=1, keepdims=True)
    if noise and birth_distance.size:
        label = labels[indices[np.arange(m), nearest]]
        born = np.where(label >= 0, birth_distance[np.maximum(label, 0)], np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            outlier = np.where(r_min > born, 1.0 - born / r_min, 0.0)
        vote *= (1.0 - outlier)[:, None]
        vote[:, -1] += outlier
    return vote
