"""``KNNGraph``: the k-nearest-neighbour graph every segmentation starts from."""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import check_data, check_feature_names, check_n_neighbors, check_query_data
from ._index import BACKENDS, choose_backend, index_seed, make_index
from .components import bridge_components

__all__ = ["KNNGraph", "knn_to_csr", "distance_floor", "check_query_data", "FIT_DTYPES"]

#: dtypes fitted as they are: float32 data are not copied to float64 (Fashion-MNIST
#: 70k: 440 MB saved); other input is converted to float64. Distances are float64.
FIT_DTYPES = (np.float64, np.float32)


def distance_floor(distances):
    """A tiny positive weight that stands in for a zero distance.

    Sparse graphs read a stored 0 as "no edge", so duplicate points would fall
    out of the graph; their edges get this weight instead (1e-9 of the typical
    neighbour distance, so it never reorders real distances).
    """
    positive = distances[distances > 0]
    scale = float(np.median(positive)) if positive.size else 1.0
    return 1e-9 * scale


def knn_to_csr(indices, distances, floor):
    """Symmetric CSR (n, n) of the kNN edges, weights ``max(distance, floor)``."""
    n, k = indices.shape
    rows = np.repeat(np.arange(n), k)
    weights = np.maximum(distances.ravel(), floor)
    directed = sp.csr_matrix((weights, (rows, indices.ravel())), shape=(n, n))
    # Both directions carry the same distance, so the union keeps it unchanged.
    return directed.maximum(directed.T).tocsr()


def _check_cosine_rows(X):
    zero = np.flatnonzero(~np.any(X != 0, axis=1))
    if zero.size:
        raise ValueError(
            f"metric='cosine' is undefined for all-zero rows; X has {zero.size} such row(s) "
            f"(first: {zero[:5].tolist()}). Drop them or use metric='euclidean'."
        )


class KNNGraph(BaseEstimator):
    """Symmetric k-nearest-neighbour distance graph, bridged to one component.

    Parameters
    ----------
    n_neighbors : int, default=15
        Neighbours per point, the point itself excluded. Lowered to
        ``n_samples - 1`` with a warning on smaller data.
    metric : {"euclidean", "cosine"}, default="euclidean"
    backend : {"auto", "faiss", "pca", "pynndescent", "exact"}, default="auto"
        ``"exact"`` uses scikit-learn's NearestNeighbors; ``"faiss"`` faiss'
        IVF index with float16 rows, candidates re-measured exactly
        (compiled, no JIT; probes as many lists as a sample
        needs to reach recall 0.97; reproducible across thread counts);
        ``"pca"`` searches a 128-D PCA projection for twice the neighbours
        wanted and keeps the nearest by their true distances (recall ~0.9 on
        images at a fraction of the cost; no float32 copy of the data);
        ``"pynndescent"`` NN-descent (its numba kernels compile in every new
        process, ~1 min on 784-D data). ``"auto"`` picks exact search for up to
        10 features or while ``n_samples**2 * n_features <= 5e10`` (8,000 x
        784, 30,000 x 50; timings in ``graphmoe.graph._index``), and beyond it
        ``"pca"`` above 100 features, faiss otherwise.
    random_state : int, RandomState or None, default=None
        Seed of faiss' coarse k-means (and of the sample that tunes its
        probes), of the PCA sample, or of pynndescent's random projection
        trees. A RandomState is drawn from once per fit; the int drawn is kept
        so that ``graphmoe.load`` rebuilds the same index.
    n_jobs : int or None, default=None
        Threads for the neighbour search.
    verbose : bool, default=False

    Attributes
    ----------
    indices_ : ndarray of shape (n_samples, n_neighbors), int64
        Neighbours of each point (itself excluded), nearest first.
    distances_ : ndarray of shape (n_samples, n_neighbors), float64
        Their distances (exact zeros for duplicate points).
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Symmetric distance graph of the kNN edges plus bridging edges; zero
        distances are stored as a tiny positive ``floor_`` so that duplicates
        stay connected.
    n_components_ : int
        Connected components of the kNN graph before bridging (1: no bridge).
    floor_ : float
        The weight used for zero distances.
    backend_ : str
        The backend used ("exact", "faiss", "pca" or "pynndescent").
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from graphmoe import KNNGraph
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> g = KNNGraph(n_neighbors=5, backend="exact").fit(X)
    >>> g.indices_.shape, g.graph_.shape
    ((100, 5), (100, 100))
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "backend": [StrOptions(set(BACKENDS))],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
    }

    def __init__(self, n_neighbors=15, metric="euclidean", backend="auto", random_state=None,
                 n_jobs=None, verbose=False):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.backend = backend
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y=None):
        """Build the graph on ``X`` of shape (n_samples, n_features); returns self."""
        self._validate_params()
        check_feature_names(self, X, reset=True)
        X = check_data(X, min_samples=2, dtype=FIT_DTYPES)  # float32 stays float32: no copy
        n = X.shape[0]
        k = check_n_neighbors(self.n_neighbors, n, clip=True)
        if self.metric == "cosine":
            _check_cosine_rows(X)
        self.n_features_in_ = X.shape[1]
        self.backend_ = choose_backend(self.backend, n, X.shape[1])
        self._X = X
        self._seed = index_seed(self.random_state)
        self._index = self._make_index(X, k)
        self.indices_, self.distances_ = self._index.neighbors(k)
        self.floor_ = distance_floor(self.distances_)
        graph = knn_to_csr(self.indices_, self.distances_, self.floor_)
        self.graph_, self.n_components_ = bridge_components(
            graph, X, self._query_training, metric=self.metric, floor=self.floor_)
        return self

    def _make_index(self, X, k):
        """The search index over ``X`` (also rebuilt by ``graphmoe.load``, which never stores it)."""
        seed = getattr(self, "_seed", self.random_state)  # saves from before _seed: the parameter
        return make_index(self.backend_, X, k, metric=self.metric, random_state=seed,
                          n_jobs=self.n_jobs, verbose=self.verbose)

    def _query_training(self, point_ids, k):
        return self._index.query(self._X[point_ids], k)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Nearest training points of ``X`` (``None``: of the training points, self excluded).

        Parameters
        ----------
        X : array-like of shape (m, n_features) or None
        n_neighbors : int or None
            Defaults to ``n_neighbors``; must be smaller than n_samples when
            ``X`` is None and at most n_samples otherwise.
        return_distance : bool, default=True

        Returns
        -------
        distances : ndarray of shape (m, n_neighbors), float64
            Only when ``return_distance``.
        indices : ndarray of shape (m, n_neighbors), int64
            Indices into the training set, nearest first.
        """
        check_is_fitted(self, "graph_")
        n = self._X.shape[0]
        k = self.indices_.shape[1] if n_neighbors is None else n_neighbors
        if X is None:
            k = check_n_neighbors(k, n)
            if k == self.indices_.shape[1]:
                ind, dist = self.indices_, self.distances_
            else:
                ind, dist = self._index.neighbors(k)
        else:
            check_feature_names(self, X, reset=False)
            X = check_query_data(X, self.n_features_in_, type(self).__name__)
            if self.metric == "cosine":
                _check_cosine_rows(X)
            k = check_n_neighbors(k, n + 1)  # new points may use all n training points
            ind, dist = self._index.query(X, k)
        return (dist, ind) if return_distance else ind
