"""``ConnectivityClustering``: kNN graph -> HDBSCAN or MST cuts -> cluster hierarchy."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._progress import progress
from .._validation import check_data, check_feature_names, check_n_neighbors
from ..graph import (KNNGraph, core_distances, minimum_spanning_edges,
                     mutual_reachability_graph)
from ..graph.knn import check_query_data
from ._lookup import RowLookup, row_projection
from .hdbscan_segment import hdbscan_segment
from .hierarchy import ClusterHierarchy
from .membership import route_membership, training_membership
from .mst_segment import mst_segment

__all__ = ["ConnectivityClustering"]


class ConnectivityClustering(ClusterMixin, BaseEstimator):
    """Clustering by graph connectivity: HDBSCAN or size-constrained MST cuts on a kNN graph.

    The kNN graph is reweighted by mutual reachability (core distance = the
    distance to the ``min_samples``-th nearest other point, as in the hdbscan
    library) and
    its minimum spanning tree is computed on the sparse graph. ``"hdbscan"``
    condenses the single-linkage tree with ``min_cluster_size`` and selects
    clusters by excess of mass; ``"mst"`` merges the same MST edges in Genie's
    order (a Gini-index constraint keeps outlier branches from surviving as
    clusters), condenses that tree and cuts it. No dense distance matrix is
    formed: time and memory grow with n * n_neighbors.

    Parameters
    ----------
    method : {"hdbscan", "mst"}, default="hdbscan"
        ``"hdbscan"``: excess-of-mass clusters, sparse points are noise (-1).
        ``"mst"``: the same tree cut into clusters that cover every sample
        (each non-core sample joins the cluster it reaches first along the MST).
    n_clusters : int or None, default=None
        None: the number comes from the tree; ``"hdbscan"`` by excess of mass
        (HDBSCAN's stability), ``"mst"`` at the largest relative drop of the
        split distances among the first 10 splits (so at most 10 clusters; see
        ``mst_segment.largest_gap_n_clusters``). An int: ``"hdbscan"`` takes
        the antichain of that many clusters with the largest total stability,
        ``"mst"`` undoes the last ``n_clusters - 1`` merges; fewer clusters,
        with a warning, if the tree cannot split that far.
    min_cluster_size : int, default=15
        A split counts only if both sides hold at least this many samples
        (lowered to ``n_samples`` with a warning on smaller data).
    min_samples : int or None, default=None
        Neighbourhood of the core distance (mutual reachability; 0 = plain
        distances). None means
        ``min_cluster_size`` for ``"hdbscan"`` (as in the hdbscan library) and
        3 for ``"mst"``: MST cuts follow thin curved groups, which a large core
        neighbourhood smears into each other (interleaved spirals, 10 seeds:
        7/10 perfect with 0-3, fewer with 7; digits ARI 0.83 at 3, 0.79 at 0).
    n_neighbors : int, default=15
        Neighbours per point in the graph (raised to ``min_samples`` if smaller,
        lowered to ``n_samples - 1`` with a warning on smaller data).
    metric : {"euclidean", "cosine"}, default="euclidean"
    backend : {"auto", "pynndescent", "exact"}, default="auto"
        kNN search, see ``KNNGraph``.
    allow_single_cluster : bool, default=False
        Let HDBSCAN return a single cluster when the data do not split.
    gini_threshold : float in [0, 1], default=0.2
        ``"mst"`` only: Genie's size-inequality constraint on merges (1 = plain
        single linkage). Interleaved spirals with 5 clusters, 20 held-out
        seeds, mean ARI 0.95 / 0.93 / 0.81 at 0.1 / 0.2 / 0.3; choosing the
        number itself works better with larger values (digits 0.47 / 0.55 /
        0.68), hence 0.2.
    random_state : int, RandomState or None, default=None
    n_jobs : int or None, default=None
    verbose : bool, default=False
        Show a progress bar over the stages.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each sample, 0..n_clusters_-1; -1 = noise (hdbscan only).
        Identical rows always share a label.
    n_clusters_ : int
    membership_ : scipy.sparse.csr_matrix of shape (n_samples, n_clusters_ + 1)
        Soft membership; the last column is the noise mass; rows sum to 1 and
        each row's largest entry is its own label's column (noise included).
    hierarchy_ : ClusterHierarchy
        ``hierarchy_.cluster_nodes[i]`` is the node of cluster ``i``.
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The kNN distance graph (bridged).
    knn_ : KNNGraph
    core_distances_ : ndarray of shape (n_samples,)
    mst_ : ndarray of shape (n_samples - 1, 3)
        Mutual-reachability MST edges ``(i, j, weight)``, lightest first.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> from graphmoe import ConnectivityClustering, datasets
    >>> X, y = datasets.make_moons(600, noise=0.06, random_state=0)
    >>> cc = ConnectivityClustering(method="mst", n_clusters=2, random_state=0).fit(X)
    >>> cc.n_clusters_
    2
    >>> bool((cc.predict(X) == cc.labels_).all())
    True
    """

    _parameter_constraints = {
        "method": [StrOptions({"hdbscan", "mst"})],
        "n_clusters": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "min_cluster_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "min_samples": [None, Interval(numbers.Integral, 0, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "backend": [StrOptions({"auto", "pynndescent", "exact"})],
        "allow_single_cluster": ["boolean"],
        "gini_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
    }

    def __init__(self, method="hdbscan", n_clusters=None, min_cluster_size=15, min_samples=None,
                 n_neighbors=15, metric="euclidean", backend="auto", allow_single_cluster=False,
                 gini_threshold=0.2, random_state=None, n_jobs=None, verbose=False):
        self.method = method
        self.n_clusters = n_clusters
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.backend = backend
        self.allow_single_cluster = allow_single_cluster
        self.gini_threshold = gini_threshold
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_sizes(self, n):
        n_neighbors = check_n_neighbors(self.n_neighbors, n, clip=True)
        self._min_cluster_size = self.min_cluster_size
        if self.min_cluster_size > n:
            warnings.warn(f"min_cluster_size={self.min_cluster_size} is larger than the number "
                          f"of samples ({n}); using {n}.", UserWarning, stacklevel=3)
            self._min_cluster_size = n
        min_samples = self.min_samples
        if min_samples is None:
            default = self._min_cluster_size if self.method == "hdbscan" else 3
            min_samples = min(default, n - 1)
        elif min_samples >= n:
            raise ValueError(f"min_samples={min_samples} must be smaller than the number of "
                             f"samples ({n}): it counts neighbours other than the point.")
        return min_samples, max(n_neighbors, min_samples)

    def fit(self, X, y=None):
        """Cluster ``X`` of shape (n_samples, n_features); returns self."""
        self._validate_params()
        check_feature_names(self, X, reset=True)
        X = check_data(X, min_samples=2)
        n = X.shape[0]
        min_samples, k = self._check_sizes(n)
        self.n_features_in_ = X.shape[1]
        bar = progress(total=4, verbose=self.verbose, desc="ConnectivityClustering")
        self.knn_ = KNNGraph(n_neighbors=k, metric=self.metric, backend=self.backend,
                             random_state=self.random_state, n_jobs=self.n_jobs).fit(X)
        self.graph_ = self.knn_.graph_
        bar.update()
        floor = self.knn_.floor_
        self.core_distances_ = core_distances(self.knn_.distances_, min_samples)
        reach = mutual_reachability_graph(self.graph_, self.core_distances_, floor)
        # ties broken by raw distance, then by the rows' contents: row-order free
        self.mst_ = minimum_spanning_edges(reach, tiebreak=self.graph_,
                                           node_keys=row_projection(X))
        bar.update()
        if self.method == "hdbscan":
            seg = hdbscan_segment(self.mst_, self._min_cluster_size, self.n_clusters,
                                  self.allow_single_cluster)
        else:
            seg = mst_segment(self.mst_, self._min_cluster_size, self.n_clusters,
                              self.gini_threshold)
        bar.update()
        self._lookup = RowLookup(X)
        rep = self._lookup.representative
        labels = seg.labels[rep]  # identical rows share the first one's label
        self.labels_, self.hierarchy_ = self._finish(seg, labels, rep)
        self.n_clusters_ = int(self.hierarchy_.cluster_nodes.size)
        self.membership_ = training_membership(self.knn_.indices_, self.knn_.distances_,
                                               self.core_distances_, self.labels_,
                                               self.n_clusters_, floor)[rep]
        bar.update()
        bar.close()
        return self

    def _finish(self, seg, labels, rep):
        """Relabel 0..K-1 over the clusters that kept samples, and build the hierarchy."""
        used = np.unique(labels[labels >= 0])
        selected = seg.selected[used]
        remap = np.full(max(seg.selected.size, 1), -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
        tree = seg.tree
        point_node = tree.point_node[rep].copy()
        # A sample of cluster i whose deepest node lies outside i's subtree (MST cuts
        # attach non-core samples) is moved into i's node so members() match labels_.
        hierarchy = ClusterHierarchy(tree.parent, tree.lambda_birth, tree.stability, point_node,
                                     selected, graph=self.graph_, point_lambda=tree.point_lambda)
        clustered = np.flatnonzero(labels >= 0)
        inside = hierarchy.is_ancestor(selected[labels[clustered]], point_node[clustered])
        if clustered.size and not inside.all():
            moved = clustered[~inside]
            point_node[moved] = selected[labels[moved]]
            hierarchy = ClusterHierarchy(tree.parent, tree.lambda_birth, tree.stability,
                                         point_node, selected, graph=self.graph_,
                                         point_lambda=tree.point_lambda)
        return labels.astype(np.int64), hierarchy

    def _route(self, X):
        X = check_query_data(X, self.n_features_in_, type(self).__name__)
        k = min(self.knn_.indices_.shape[1], self.labels_.shape[0])
        dist, ind = self.knn_.kneighbors(X, n_neighbors=k)
        birth = self.hierarchy_.birth_distance_[self.hierarchy_.cluster_nodes]
        proba = route_membership(ind, dist, self.core_distances_, self.membership_,
                                 self.labels_, birth, self.knn_.floor_,
                                 noise=self.method == "hdbscan")
        same = self._lookup.find(X)
        hit = same >= 0
        if hit.any():  # a copy of a training sample gets exactly its membership
            proba[hit] = self.membership_[same[hit]].toarray()
        return proba

    def predict_proba(self, X):
        """Soft membership of new points, (m, n_clusters_ + 1); last column = noise.

        New points are routed through their nearest training samples; rows of
        training samples equal ``membership_`` exactly.
        """
        check_is_fitted(self, "membership_")
        check_feature_names(self, X, reset=False)
        return self._route(X)

    def predict(self, X):
        """Cluster of new points (-1 = noise); ``predict(X_train) == labels_``."""
        proba = self.predict_proba(X)
        labels = np.argmax(proba, axis=1)
        return np.where(labels == self.n_clusters_, -1, labels).astype(np.int64)
