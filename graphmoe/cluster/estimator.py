"""``ConnectivityClustering``: kNN graph -> HDBSCAN or MST cuts -> cluster hierarchy."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._progress import progress
from .._validation import check_data, check_feature_names, check_n_neighbors, check_query_data
from ..graph import KNNGraph
from ..graph.knn import FIT_DTYPES
from ..graph._index import BACKENDS
from ._lookup import RowLookup, row_projection
from .consensus import consensus_labels, member_seeds
from .membership import route_membership, training_membership
from .method_choice import candidate_methods, default_min_samples, segment_graph, union_adjacency
from .modularity import refine_modularity
from .segmentation import labelled_hierarchy

__all__ = ["ConnectivityClustering", "LAYOUT_THRESHOLD", "LAYOUT_COMPONENTS"]

#: ``layout="auto"`` lays out data with more features than this (see the class docstring).
LAYOUT_THRESHOLD = 16
#: Dimensions of the default layout.
LAYOUT_COMPONENTS = 8


class ConnectivityClustering(ClusterMixin, BaseEstimator):
    """Clustering by graph connectivity: HDBSCAN or size-constrained MST cuts on a kNN graph.

    The kNN graph is reweighted by mutual reachability (core distance = the
    distance to the ``min_samples``-th nearest other point, as in the hdbscan
    library) and its minimum spanning tree is computed on the sparse graph.
    ``"hdbscan"`` condenses the single-linkage tree with ``min_cluster_size``
    and selects clusters by excess of mass; ``"mst"`` merges the same MST edges
    in Genie's order (a Gini-index constraint keeps outlier branches from
    surviving as clusters), condenses that tree and cuts it; ``"auto"`` runs
    both (with ``n_clusters``, MST cuts at three Gini thresholds) and keeps the partition of
    largest modularity on the kNN graph. No
    dense distance matrix is formed: time and memory grow with n * n_neighbors.

    High-dimensional data (more than ``layout_threshold`` features) are first
    laid out: the kNN graph of ``X`` goes through
    :class:`graphmoe.embed.GraphLayout` (fuzzy graph, spectral start,
    negative-sampling SGD) into ``LAYOUT_COMPONENTS`` dimensions, and the
    segmenters work on a kNN graph of that layout, where density and MST gaps
    show the groups that 784 raw dimensions hide. ``graph_`` and ``knn_``
    stay the kNN graph of ``X`` itself (the connectivity users and halos
    expect); ``core_distances_``, ``mst_``, the tree's distances and
    ``membership_`` belong to the segmented space (``layout_knn_``).

    Parameters
    ----------
    method : {"auto", "hdbscan", "mst"}, default="auto"
        ``"hdbscan"``: excess-of-mass clusters, sparse points are noise (-1).
        ``"mst"``: the same tree cut into clusters that cover every sample
        (each non-core sample joins the cluster it reaches first along the MST).
        ``"auto"``: HDBSCAN and MST cuts (with ``n_clusters``: at the Gini
        thresholds 0.1, ``gini_threshold`` and 0.5, each tree cut both by
        undoing its last merges and best-first by modularity), all from one
        MST when their ``min_samples`` agree, and the partition of
        largest modularity (unweighted kNN graph of the segmented space, noise
        samples as singletons) is kept, ties going to ``"mst"``; ``method_``,
        ``gini_threshold_`` and ``split_order_`` tell which (modularity follows
        the ARI of the MST cuts closely; see ``method_choice.py``). With
        ``n_clusters`` and a layout, each tree is also cut into 5 * ``n_clusters``
        parts merged back by modularity on the union of the kNN graphs of ``X``
        and of the layout; such a cut replaces the kept one when it scores
        higher there and agrees with it on at least 95 % of the samples (it
        reattaches small groups a weak bridge of the layout had misplaced;
        ``method_choice._remerged``). With ``refine=True`` the kept MST cut's
        boundary is then mended by local modularity moves (see ``refine``). Modularity rather
        than a density index (DBCV): on Fashion-MNIST the garment classes are
        not density-separated and a DBCV-style index prefers HDBSCAN's one
        cluster of 51 % of the points (ARI 0.28) to the balanced MST cut
        (ARI 0.47); modularity penalises the giant cluster. See
        ``benchmarks/cluster_real.py`` for the measured choice per data set.
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
        distances). None means ``min_cluster_size`` for ``"hdbscan"`` choosing
        its own number (as in the hdbscan library) and 3 otherwise: MST cuts,
        and HDBSCAN with ``n_clusters``, follow thin curved groups, which a
        large core neighbourhood smears into each other (interleaved spirals,
        10 seeds: 7/10 perfect MST cuts with 0-3, fewer with 7; HDBSCAN with
        ``n_clusters=5``, 3 seeds: ARI 0.70-0.93 with 3, 0.02-0.04 with 15).
    n_neighbors : int, default=15
        Neighbours per point in the graph (raised to ``min_samples`` if smaller,
        lowered to ``n_samples - 1`` with a warning on smaller data).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Metric of ``X`` (a layout is always Euclidean).
    backend : {"auto", "exact", "faiss", "pynndescent"}, default="auto"
        kNN search of ``X``, see ``KNNGraph``.
    layout : "auto", "off", None or a transformer, default="auto"
        ``"auto"``: lay out data with more than ``layout_threshold`` features
        (and more than ``4 * n_neighbors`` samples) with ``GraphLayout``;
        ``"off"``/None: segment ``X`` itself; a transformer with
        ``fit_transform``/``transform`` (e.g. a configured ``GraphLayout``,
        which then reuses the kNN graph via ``fit_from_knn``): always used, a
        clone is fitted.
    layout_threshold : int, default=16
        ``layout="auto"`` lays out data with more features than this. The 2-D
        shapes (moons, pinwheel, interleaved spirals) are segmented as they
        are, where they score ARI 1.0 / 1.0 / 0.8-1.0; laid out, sklearn
        digits (64 features, ``n_clusters=10``) go from ARI 0.83 (MST cut of
        the pixels) to 0.90, and Fashion-MNIST 70k (784) from 0.06 to 0.49-0.51
        with no cluster above 20 % of the points (``benchmarks/cluster_real.py``).
    allow_single_cluster : bool, default=False
        Let HDBSCAN return a single cluster when the data do not split.
    gini_threshold : float in [0, 1], default=0.2
        ``"mst"`` only: Genie's size-inequality constraint on merges (1 = plain
        single linkage). Interleaved spirals with 5 clusters, 20 held-out
        seeds, mean ARI 0.95 / 0.93 / 0.81 at 0.1 / 0.2 / 0.3; choosing the
        number itself works better with larger values (digits 0.47 / 0.55 /
        0.68), hence 0.2.
    refine : bool, default=True
        ``method="auto"`` with ``n_clusters`` on laid-out data, when an MST cut
        is kept: move single samples between the clusters while that raises
        the modularity on the union of the kNN graph of ``X`` and the
        layout's kNN graph (Louvain's local moves, the clusters and their
        number kept; ``modularity.refine_modularity``). The cut follows the
        layout only; the union lets the original neighbourhoods settle
        boundary samples the layout placed on the wrong side. Fashion-MNIST
        10k, seeds 0-2: ARI 0.470 / 0.508 / 0.473 -> 0.473 / 0.513 / 0.482;
        digits unchanged (within 0.001). The moves sweep the samples in row
        order, so (like the layout's SGD) refined labels may change when the
        rows are permuted.
    n_layouts : int, default=1
        Laid out, ``method="auto"`` with ``n_clusters``: lay the graph out this
        many times (seeds from ``random_state``), cut each layout, and merge the
        fragments that all cuts agree on back by modularity (``consensus.py``).
        A layout and a segmentation per extra layout; 2: Fashion-MNIST 10k (12 seeds)
        mean ARI 0.475 -> 0.488, 70k (6 seeds) 0.516 either way (``docs/real_data.md``).
        Other attributes than ``labels_``, ``membership_``, ``hierarchy_`` are the first's.
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
        The kNN distance graph of ``X`` (bridged); ``hierarchy_`` halos use it.
    knn_ : KNNGraph
        The kNN graph of ``X``.
    method_ : {"hdbscan", "mst"}
        The segmenter that produced ``labels_``.
    method_scores_ : dict
        ``method="auto"`` only: best modularity of each method (else empty).
    gini_threshold_ : float or None
        Gini threshold of the kept MST cut (None when HDBSCAN was kept).
    split_order_ : {"merge", "modularity", "overcut"} or None
        How the kept MST cut chose its clusters: by undoing the tree's last
        merges, best-first by modularity, or by cutting finer and merging the
        parts back by modularity (the last two: ``"auto"`` with ``n_clusters``
        only); None when HDBSCAN was kept.
    layout_ : fitted layout or None
        The transformer that laid ``X`` out (None: segmented as it is).
    embedding_ : ndarray of shape (n_samples, n_components) or None
        The laid-out training samples.
    layout_knn_ : KNNGraph or None
        kNN graph of ``embedding_``: the graph that was segmented.
    core_distances_ : ndarray of shape (n_samples,)
        In the segmented space.
    mst_ : ndarray of shape (n_samples - 1, 3)
        Mutual-reachability MST edges ``(i, j, weight)`` of the segmented
        space, lightest first.
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
        "method": [StrOptions({"auto", "hdbscan", "mst"})],
        "n_clusters": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "min_cluster_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "min_samples": [None, Interval(numbers.Integral, 0, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "backend": [StrOptions(set(BACKENDS))],
        "layout": [StrOptions({"auto", "off"}), None, HasMethods(["fit_transform", "transform"])],
        "layout_threshold": [Interval(numbers.Integral, 0, None, closed="left")],
        "allow_single_cluster": ["boolean"],
        "gini_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "refine": ["boolean"],
        "n_layouts": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
    }

    #: models restored from files written before ``refine`` existed were not refined
    refine = False
    n_layouts = 1

    def __init__(self, method="auto", n_clusters=None, min_cluster_size=15, min_samples=None,
                 n_neighbors=15, metric="euclidean", backend="auto", layout="auto",
                 layout_threshold=LAYOUT_THRESHOLD, allow_single_cluster=False,
                 gini_threshold=0.2, refine=True, n_layouts=1, random_state=None,
                 n_jobs=None, verbose=False):
        self.method = method
        self.n_clusters = n_clusters
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.backend = backend
        self.layout = layout
        self.layout_threshold = layout_threshold
        self.allow_single_cluster = allow_single_cluster
        self.refine = refine
        self.n_layouts = n_layouts
        self.gini_threshold = gini_threshold
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_sizes(self, n):
        """Validate the sizes against ``n`` and return the neighbours the graph needs.

        ``n_neighbors`` and ``min_cluster_size`` above the data's size are lowered
        with a warning (``_min_cluster_size`` keeps the value used).
        """
        n_neighbors = check_n_neighbors(self.n_neighbors, n, clip=True)
        self._min_cluster_size = self.min_cluster_size
        if self.min_cluster_size > n:
            warnings.warn(f"min_cluster_size={self.min_cluster_size} is larger than the number "
                          f"of samples ({n}); using {n}.", UserWarning, stacklevel=3)
            self._min_cluster_size = n
        if self.min_samples is not None and self.min_samples >= n:
            raise ValueError(f"min_samples={self.min_samples} must be smaller than the number "
                             f"of samples ({n}): it counts neighbours other than the point.")
        needed = [self.min_samples] if self.min_samples is not None else [
            min(default_min_samples(m, self._min_cluster_size, self.n_clusters), n - 1)
            for m in candidate_methods(self.method)]
        return max(n_neighbors, *needed)

    def _make_layout(self, n, d, seed):
        """The unfitted layout to use, or None (no layout); ``seed`` replaces ``random_state``."""
        if self.layout is None or self.layout == "off":
            return None
        if not isinstance(self.layout, str):
            layout = clone(self.layout)
            if seed is not self.random_state and "random_state" in layout.get_params():
                layout.set_params(random_state=seed)
            return layout
        # Tiny inputs (the sklearn checks) are never laid out: a spectral start needs a graph.
        if d <= self.layout_threshold or n <= 4 * self.n_neighbors:
            return None
        from ..embed.layout import GraphLayout  # lazy: graphmoe.embed imports torch

        return GraphLayout(n_components=LAYOUT_COMPONENTS, n_neighbors=self.n_neighbors,
                           metric=self.metric, random_state=seed,
                           n_jobs=self.n_jobs, verbose=self.verbose)

    def _fit_layout(self, X, k, seed=None):
        """(layout, embedding, kNN graph of the embedding), or Nones when not laid out."""
        seed = self.random_state if seed is None else seed
        layout = self._make_layout(*X.shape, seed)
        if layout is None:
            return None, None, None
        if hasattr(layout, "fit_from_knn"):  # GraphLayout reuses the graph built already
            Z = layout.fit_from_knn(X, self.knn_).embedding_
        else:
            Z = layout.fit_transform(X)
        Z = np.asarray(Z, dtype=np.float64)
        return layout, Z, KNNGraph(n_neighbors=k, random_state=seed, n_jobs=self.n_jobs).fit(Z)

    def _segment(self, space, keys):
        """Segment the KNNGraph ``space``: (SegmentChoice, labels before the row lookup)."""
        # laid out, with n_clusters: the kNN graphs of X and of the layout together judge
        # the over-cut merges and the local moves of ``refine``
        union = (union_adjacency(self.graph_, space.graph_)
                 if self.method == "auto" and self.n_clusters is not None
                 and space is not self.knn_ else None)
        # MST ties broken by raw distance, then by the rows' contents: row-order free
        choice = segment_graph(space, self.method, self._min_cluster_size, self.min_samples,
                               self.n_clusters, self.allow_single_cluster, self.gini_threshold,
                               node_keys=keys, union=union)
        labels = choice.segmentation.labels
        if self.refine and union is not None and choice.method == "mst":
            labels = refine_modularity(union, labels)
        return choice, labels

    def _consensus(self, X, k, keys, labels):
        """``n_layouts`` > 1: the first layout's cut voted with more layouts' cuts."""
        graphs, labelings = [self.graph_, self.layout_knn_.graph_], [labels]
        for seed in member_seeds(self.random_state, self.n_layouts - 1):
            space = self._fit_layout(X, k, seed)[2]
            choice, more = self._segment(space, keys)
            if choice.method == "mst":  # HDBSCAN's noise has no place in the meet
                graphs.append(space.graph_)
                labelings.append(more)
        return consensus_labels(labelings, union_adjacency(*graphs))

    def fit(self, X, y=None):
        """Cluster ``X`` of shape (n_samples, n_features); returns self."""
        self._validate_params()
        check_feature_names(self, X, reset=True)
        X = check_data(X, min_samples=2, dtype=FIT_DTYPES)  # float32 is not copied
        k = self._check_sizes(X.shape[0])
        self.n_features_in_ = X.shape[1]
        bar = progress(total=4, verbose=self.verbose, desc="ConnectivityClustering")
        self.knn_ = KNNGraph(n_neighbors=k, metric=self.metric, backend=self.backend,
                             random_state=self.random_state, n_jobs=self.n_jobs).fit(X)
        self.graph_ = self.knn_.graph_
        bar.update()
        self.layout_, self.embedding_, self.layout_knn_ = self._fit_layout(X, k)
        space = self.knn_ if self.layout_ is None else self.layout_knn_
        bar.update()
        keys = row_projection(X)
        choice, labels = self._segment(space, keys)
        self.method_, self.method_scores_ = choice.method, choice.scores
        self.gini_threshold_, self.split_order_ = choice.gini_threshold, choice.splits
        self.core_distances_, self.mst_ = choice.core_distances, choice.mst
        bar.update()
        self._lookup = RowLookup(X)
        rep = self._lookup.representative
        seg = choice.segmentation
        if (self.n_layouts > 1 and choice.method == "mst" and self.method == "auto"
                and self.n_clusters is not None and self.layout_ is not None):
            labels = self._consensus(X, k, keys, labels)
        labels = labels[rep]  # identical rows share the first one's label
        self.labels_, self.hierarchy_ = labelled_hierarchy(seg, labels, rep, self.graph_)
        self.n_clusters_ = int(self.hierarchy_.cluster_nodes.size)
        self.membership_ = training_membership(space.indices_, space.distances_,
                                               self.core_distances_, self.labels_,
                                               self.n_clusters_, space.floor_)[rep]
        bar.update()
        bar.close()
        return self

    def _route(self, X):
        X = check_query_data(X, self.n_features_in_, type(self).__name__)
        space, Q = self.knn_, X
        if self.layout_ is not None:  # new points are placed in the layout, then routed there
            space, Q = self.layout_knn_, np.asarray(self.layout_.transform(X), dtype=np.float64)
        k = min(space.indices_.shape[1], self.labels_.shape[0])
        dist, ind = space.kneighbors(Q, n_neighbors=k)
        birth = self.hierarchy_.birth_distance_[self.hierarchy_.cluster_nodes]
        proba = route_membership(ind, dist, self.core_distances_, self.membership_,
                                 self.labels_, birth, space.floor_,
                                 noise=self.method_ == "hdbscan")
        same = self._lookup.find(X)
        hit = same >= 0
        if hit.any():  # a copy of a training sample gets exactly its membership
            proba[hit] = self.membership_[same[hit]].toarray()
        return proba

    def predict_proba(self, X):
        """Soft membership of new points, (m, n_clusters_ + 1); last column = noise.

        New points are routed through their nearest training samples (in the
        layout, after ``layout_.transform``, when ``X`` was laid out); rows of
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
