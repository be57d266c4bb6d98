"""Starting points for the mixture prior of VaDE and DMVAE.

Both start from the codes of the pretrained autoencoder. ``init="gmm"`` fits
a diagonal Gaussian mixture (best of ``n_init`` EM runs by likelihood);
``init="graph"`` partitions the codes by connectivity instead
(``graphmoe.ConnectivityClustering`` with MST cuts into ``n_clusters``
groups, or scikit-learn's spectral clustering on a kNN graph when the
clustering module is not available), which follows elongated groups that a
mixture of Gaussians cuts apart. The mixture prior then takes each group's
share, mean and variance.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn import config_context
from sklearn.mixture import GaussianMixture

__all__ = ["pretrained_codes", "initial_partition", "fit_mixture_prior"]

#: variances below this floor would make a component's density blow up.
_MIN_VAR = 1e-3


@torch.no_grad()
def pretrained_codes(estimator, X):
    """Posterior means of the current encoder for scaled rows ``X``; float64 (n, d)."""
    return estimator._batched(estimator._encode_mean, X)


def initial_partition(Z, n_clusters, method, n_init=5, n_neighbors=10, random_state=None):
    """Labels in 0..n_clusters-1 for codes ``Z`` by ``method`` in {"gmm", "graph"}."""
    seed = int(random_state.randint(2**31 - 1)) if random_state is not None else None
    if method == "gmm":
        # Z is a numpy array made here; array-API dispatch (a user's sklearn setting)
        # would only make GaussianMixture refuse its k-means initialisation.
        with config_context(array_api_dispatch=False):
            gmm = GaussianMixture(n_clusters, covariance_type="diag", n_init=n_init,
                                  reg_covar=1e-4, random_state=seed).fit(Z)
            return gmm.predict(Z)
    from graphmoe.cluster import ConnectivityClustering

    cc = ConnectivityClustering(method="mst", n_clusters=n_clusters,
                                n_neighbors=n_neighbors, random_state=seed).fit(Z)
    labels = np.asarray(cc.labels_)
    return _relabel_dense(labels, n_clusters, Z)


def _relabel_dense(labels, n_clusters, Z):
    """Labels 0..n_clusters-1; noise (-1) goes to the nearest group mean."""
    labels = np.asarray(labels).copy()
    groups = [g for g in np.unique(labels) if g >= 0][:n_clusters]
    means = np.stack([Z[labels == g].mean(axis=0) for g in groups])
    out = np.argmin(((Z[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    for new, g in enumerate(groups):
        out[labels == g] = new
    return out


def fit_mixture_prior(estimator, X):
    """Partition the pretrained codes and turn the partition into prior parameters.

    Returns
    -------
    labels : (n,) int ; pi : (K,) ; means : (K, d) ; logvars : (K, d)
    """
    Z = pretrained_codes(estimator, X)
    K = estimator.n_clusters
    labels = initial_partition(Z, K, estimator.init, n_init=estimator.n_init,
                               n_neighbors=estimator.n_neighbors, random_state=estimator._rng)
    pi = np.full(K, 1e-3)
    means = np.tile(Z.mean(axis=0), (K, 1))
    var = np.tile(Z.var(axis=0) + _MIN_VAR, (K, 1))
    for k in range(K):
        rows = Z[labels == k]
        if len(rows):
            pi[k] += len(rows)
            means[k] = rows.mean(axis=0)
            if len(rows) > 1:
                var[k] = rows.var(axis=0) + _MIN_VAR
    return labels, pi / pi.sum(), means, np.log(var)
