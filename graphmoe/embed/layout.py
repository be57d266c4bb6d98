"""``GraphLayout``: a kNN graph laid out in a few dimensions that keep its connectivity.

High-dimensional data are laid out before they are segmented (DESIGN.md):
density and MST cuts work in a few dimensions and see noise in hundreds. The
steps follow McInnes et al. 2018 (UMAP): kNN graph -> fuzzy membership
weights (:mod:`._layout_fuzzy`) -> spectral start (:mod:`._layout_init`) ->
negative-sampling SGD on the graph's edges (:mod:`._layout_sgd`).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._progress import progress
from .._validation import check_data, check_random_state
from ..graph.knn import FIT_DTYPES
from ._layout_fuzzy import fuzzy_union_graph, membership_strengths, smooth_knn_scales
from ._layout_init import given_layout, initial_layout, scale_layout
from ._layout_sgd import attraction_curve, edge_schedule, run_epoch

__all__ = ["GraphLayout", "layout_fuzzy_graph", "default_n_epochs"]

#: SGD epochs of each coarse graph of the label-propagation start (a few hundred nodes).
_COARSE_EPOCHS = 100


def default_n_epochs(n_samples):
    """Epochs used when ``n_epochs=None``: more for small graphs, whose epochs are cheap.

    Clustering needs fewer than a plot (UMAP uses 500 / 200): MST cuts of
    Fashion-MNIST 10k scored ARI 0.469 after 100 epochs and 0.466 after 200
    (mean of two seeds), 70k 0.476 after 50 and 0.472 after 100. The default
    ``ConnectivityClustering`` (``n_clusters=10``, seeds 0 / 1) on Fashion 30k:
    0.494 / 0.513 after 50 epochs, 0.450 / 0.465 after 100 (and 20 % less CPU);
    on 10k 50 epochs is too few: 0.393 / 0.409 against 0.419 / 0.508 after 100.
    """
    if n_samples < 5_000:
        return 200
    return 100 if n_samples < 20_000 else 50


def _seed_of(rng):
    """A non-zero 64-bit seed for the kernel's xorshift generator."""
    return np.uint64(int(rng.integers(1, 2**63 - 1)))


def optimize_layout(embedding, reference, graph_edges, n_epochs, *, a, b, learning_rate,
                    repulsion_strength, negative_sample_rate, seed, n_fixed=0, verbose=False):
    """Run ``n_epochs`` of SGD on ``embedding`` in place (see :func:`_layout_sgd.run_epoch`)."""
    head, tail, eps = graph_edges
    next_sample = eps.copy()
    next_negative = eps / negative_sample_rate
    state = seed
    for epoch in progress(range(n_epochs), verbose=verbose, desc="graph layout"):
        alpha = learning_rate * (1.0 - epoch / n_epochs)
        state = run_epoch(embedding, reference, head, tail, eps, next_sample, next_negative,
                          float(epoch), a, b, repulsion_strength, alpha,
                          float(negative_sample_rate), n_fixed, state)
    return embedding


def layout_fuzzy_graph(graph, n_components=8, *, n_epochs=None, init="spectral", min_dist=None,
                       spread=1.0, learning_rate=1.0, repulsion_strength=1.0,
                       negative_sample_rate=5, random_state=None, verbose=False):
    """Lay out a symmetric fuzzy graph (functional core of :class:`GraphLayout`).

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
        Symmetric weights in (0, 1], e.g. from :func:`fuzzy_union_graph`.
    n_components, n_epochs, init, min_dist, spread, learning_rate, repulsion_strength,
    negative_sample_rate, random_state, verbose
        As in :class:`GraphLayout`, except that an ``init`` array is used as it is
        (``GraphLayout`` scales it first; the label-propagation start passes its
        coarse layouts here unscaled).

    Returns
    -------
    embedding : ndarray of shape (n, n_components), float32
    """
    rng = np.random.default_rng(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    n = graph.shape[0]
    n_epochs = default_n_epochs(n) if n_epochs is None else int(n_epochs)
    sgd = dict(min_dist=min_dist, spread=spread, learning_rate=learning_rate,
               repulsion_strength=repulsion_strength, negative_sample_rate=negative_sample_rate)

    def refine(coarse, start, coarse_rng):
        # the coarse graphs of the label-propagation start, laid out with the same curve
        return layout_fuzzy_graph(coarse, n_components, n_epochs=_COARSE_EPOCHS, init=start,
                                  random_state=int(coarse_rng.integers(2**31 - 1)), **sgd)

    embedding = np.ascontiguousarray(initial_layout(init, graph, n_components, rng, refine))
    if n_epochs == 0 or graph.nnz == 0:
        return embedding
    a, b = attraction_curve(min_dist, spread)
    edges = edge_schedule(graph, n_epochs)
    return optimize_layout(embedding, embedding, edges, n_epochs, a=a, b=b,
                           learning_rate=learning_rate, repulsion_strength=repulsion_strength,
                           negative_sample_rate=negative_sample_rate, seed=_seed_of(rng),
                           verbose=verbose)


class GraphLayout(TransformerMixin, BaseEstimator):
    """Lay out the kNN graph of high-dimensional data in a few dimensions.

    kNN graph (:class:`graphmoe.KNNGraph`) -> fuzzy membership weights
    (smooth-kNN scale per point, fuzzy union) -> spectral (or random, or
    given) start -> negative-sampling SGD on the graph's edges (McInnes et al.
    2018). Points joined by many strong edges end up close, points with no path
    between them far apart: density and MST segmenters can then work on the
    layout instead of the raw features.

    The SGD is single-threaded and draws its negative samples from a seeded
    generator, so a fixed ``random_state`` gives the same layout every time.
    Its numba kernels are cached on disk: only the first process ever compiles.

    Parameters
    ----------
    n_components : int, default=8
        Dimensions of the layout. A handful (4-16) keeps more structure for
        clustering than the 2 of a plot.
    n_neighbors : int, default=15
        Neighbours per point in the kNN graph. Clipped, with a warning, to
        ``n_samples - 1`` for tiny inputs.
    metric : {"euclidean", "cosine"}, default="euclidean"
    n_epochs : int or None, default=None
        SGD epochs; ``None``: 200 below 5,000 points, 100 below 20,000, 50 beyond.
    init : {"spectral", "label_propagation", "random"} or ndarray of shape \
(n_samples, n_components), default="spectral"
        ``"spectral"``: leading eigenvectors of the normalised fuzzy graph.
        ``"label_propagation"``: EVōC's start -- label propagation grows
        regions, the graph of regions is laid out (recursively coarsened,
        spectral at the bottom, short SGD per level) and each point starts
        between its region and its neighbours' regions; no eigenproblem over
        all points. ``"random"``: uniform in a box. An array: these
        positions, centred and scaled to ``[-10, 10]`` in the widest coordinate like
        the other starts (with noise of 1e-3 to break ties), so codes of any scale
        (an autoencoder's, a PCA) start the SGD where its steps fit.
    min_dist : float or None, default=None
        Distance below which laid-out points count as fully similar; the
        similarity curve ``q(d) = 1 / (1 + a d^(2b))`` is fitted to it and to
        ``spread`` as in UMAP. ``None`` uses the Student-t curve
        ``1 / (1 + (d / spread)^2)`` (t-SNE's): it packs clusters as tightly
        as ``min_dist=0`` and, with no fractional powers, runs twice as fast.
    spread : float, default=1.0
        Scale of the laid-out clusters.
    learning_rate : float, default=1.0
        Initial SGD step, decayed linearly to 0.
    repulsion_strength : float, default=1.0
        Weight of the negative samples.
    negative_sample_rate : int, default=5
        Negative samples per edge visit.
    transform_epochs : int, default=0
        SGD epochs that refine new points in :meth:`transform` against the
        fixed training layout (0: the weighted average of their neighbours).
    random_state : int, RandomState or None, default=None
    n_jobs : int or None, default=None
        Threads of the neighbour search (the SGD runs on one).
    verbose : bool, default=False
        Show a progress bar over the epochs.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components), float32
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples), float32
        The fuzzy membership graph that was laid out.
    knn_ : KNNGraph
        The fitted neighbour graph (used by :meth:`transform`).
    n_neighbors_ : int
        Neighbours actually used (after clipping).
    n_epochs_ : int
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from graphmoe.embed import GraphLayout
    >>> X = load_digits().data[:500]
    >>> Z = GraphLayout(n_components=4, random_state=0).fit_transform(X)
    >>> Z.shape, Z.dtype
    ((500, 4), dtype('float32'))
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "n_epochs": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "init": [StrOptions({"spectral", "label_propagation", "random"}), "array-like"],
        "min_dist": [Interval(numbers.Real, 0, None, closed="left"), None],
        "spread": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "repulsion_strength": [Interval(numbers.Real, 0, None, closed="left")],
        "negative_sample_rate": [Interval(numbers.Integral, 1, None, closed="left")],
        "transform_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
    }

    def __init__(self, n_components=8, n_neighbors=15, metric="euclidean", n_epochs=None,
                 init="spectral", min_dist=None, spread=1.0, learning_rate=1.0,
                 repulsion_strength=1.0, negative_sample_rate=5, transform_epochs=0,
                 random_state=None, n_jobs=None, verbose=False):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.n_epochs = n_epochs
        self.init = init
        self.min_dist = min_dist
        self.spread = spread
        self.learning_rate = learning_rate
        self.repulsion_strength = repulsion_strength
        self.negative_sample_rate = negative_sample_rate
        self.transform_epochs = transform_epochs
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The layout is float32 whatever the input: it is compact and precise enough.
        tags.transformer_tags.preserves_dtype = []
        return tags

    def fit(self, X, y=None):
        """Lay out ``X`` of shape (n_samples, n_features); ``y`` is ignored. Returns self."""
        from ..graph import KNNGraph

        self._validate_params()
        X = check_data(X, min_samples=2, estimator=self, dtype=FIT_DTYPES)
        n = X.shape[0]
        self._check_n_components(n)
        k = self.n_neighbors
        if k >= n:
            warnings.warn(f"n_neighbors={k} is not smaller than the number of samples ({n}); "
                          f"using {n - 1}.", UserWarning, stacklevel=2)
            k = n - 1
        rng = check_random_state(self.random_state)
        knn = KNNGraph(n_neighbors=k, metric=self.metric, random_state=rng.randint(2**31 - 1),
                       n_jobs=self.n_jobs, verbose=self.verbose).fit(X)
        return self._fit_knn(X, knn, rng)

    def fit_from_knn(self, X, knn):
        """Lay out ``X`` with the graph of an already fitted :class:`graphmoe.KNNGraph`.

        Saves a second neighbour search when the caller has the graph anyway
        (``n_neighbors`` and ``metric`` are then the graph's). ``knn`` must have
        been fitted on ``X``. Returns self.
        """
        check_is_fitted(knn, "indices_")
        self._validate_params()
        X = check_data(X, min_samples=2, estimator=self, dtype=FIT_DTYPES)
        if X.shape[0] != knn.indices_.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but the kNN graph has "
                             f"{knn.indices_.shape[0]}; fit the graph on X.")
        self._check_n_components(X.shape[0])
        return self._fit_knn(X, knn, check_random_state(self.random_state))

    def _check_n_components(self, n):
        if self.n_components >= n:
            raise ValueError(f"n_components={self.n_components} must be smaller than the "
                             f"number of samples ({n}).")

    def _fit_knn(self, X, knn, rng):
        self.knn_ = knn
        self._fit_X = X  # the array the kNN graph holds already: no copy
        self.n_features_in_ = knn.n_features_in_
        self.n_neighbors_ = knn.indices_.shape[1]
        n = knn.indices_.shape[0]
        self.n_epochs_ = default_n_epochs(n) if self.n_epochs is None else self.n_epochs
        self.graph_ = fuzzy_union_graph(knn.indices_, knn.distances_)
        init = self.init
        if not isinstance(init, str):  # centred and scaled like the built-in starts
            init = scale_layout(given_layout(init, n, self.n_components), rng)
        self.embedding_ = layout_fuzzy_graph(
            self.graph_, self.n_components, n_epochs=self.n_epochs_, init=init,
            min_dist=self.min_dist, spread=self.spread, learning_rate=self.learning_rate,
            repulsion_strength=self.repulsion_strength,
            negative_sample_rate=self.negative_sample_rate, random_state=rng,
            verbose=self.verbose)
        self._transform_seed = int(rng.randint(1, 2**31 - 1))
        return self

    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return ``embedding_`` (n_samples, n_components), float32."""
        return self.fit(X).embedding_.copy()

    def transform(self, X):
        """Place new points among the laid-out training points.

        Each new point goes to the membership-weighted average of its
        ``n_neighbors_`` nearest training points' positions (the same
        smooth-kNN weights as in fitting), then ``transform_epochs`` SGD epochs
        refine it against the fixed training layout. A point identical to a
        training point gets that point's position, so ``transform(X_train)``
        returns ``embedding_`` (a duplicated training point maps to one of its
        copies). Deterministic: the same input gives the same output.

        Parameters
        ----------
        X : array-like of shape (m, n_features)

        Returns
        -------
        ndarray of shape (m, n_components), float32
        """
        check_is_fitted(self, "embedding_")
        distances, indices = self.knn_.kneighbors(X, n_neighbors=self.n_neighbors_)
        rho, sigma = smooth_knn_scales(distances)
        weights = membership_strengths(distances, rho, sigma)
        weights /= weights.sum(axis=1, keepdims=True)
        placed = np.einsum("mk,mkc->mc", weights, self.embedding_[indices]).astype(np.float32)
        if self.transform_epochs > 0:
            placed = self._refine(placed, indices, weights)
        # Search distances computed as |x|^2 + |y|^2 - 2xy are not exactly 0 for a
        # point and itself, so training points are recognised by their values.
        exact = np.all(check_data(X, min_samples=1) == self._fit_X[indices[:, 0]], axis=1)
        placed[exact] = self.embedding_[indices[exact, 0]]
        return placed

    def _refine(self, placed, indices, weights):
        """SGD on the new points only, their edges into the fixed training layout."""
        m, k = indices.shape
        w = weights / weights.max(axis=1, keepdims=True)
        head = np.repeat(np.arange(m, dtype=np.int32), k)
        edges = (head, indices.ravel().astype(np.int32), 1.0 / w.ravel())
        a, b = attraction_curve(self.min_dist, self.spread)
        rng = np.random.default_rng(self._transform_seed)
        # The layout's step decays to zero by the last epoch; new points start
        # at a quarter of the fitting rate so they settle, not wander.
        return optimize_layout(np.ascontiguousarray(placed), self.embedding_, edges,
                               self.transform_epochs, a=a, b=b,
                               learning_rate=0.25 * self.learning_rate,
                               repulsion_strength=self.repulsion_strength,
                               negative_sample_rate=self.negative_sample_rate,
                               seed=_seed_of(rng), n_fixed=self.embedding_.shape[0])
