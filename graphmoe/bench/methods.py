"""The roster of clustering methods that ``graphmoe bench cluster`` compares.

Every method is a :class:`Method`: a name, a function
``fit_predict(X, n_clusters, random_state) -> labels`` and a note of how it
treats the number of clusters. In *true-k* mode a method receives the
reference number of clusters; in *no-true-k* mode it gets ``None`` and either
selects k itself (graphmoe, the HDBSCANs, Leiden, k-means by silhouette, GMM
by BIC) or is skipped with a row saying why.

Optional competitors (genieclust, fast_hdbscan, Leiden on the kNN graph,
EVōC, UMAP + HDBSCAN) join the roster only when their packages are importable
(``pip install graphmoe[bench]``).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Method", "SkipRun", "default_roster", "get_methods", "embed_stand_in"]

#: k-means and GMM search k in 2..MAX_SELECT_K when the true k is not given.
MAX_SELECT_K = 15
#: O(n^2)-memory methods (agglomerative, spectral) are skipped above this many points.
MAX_QUADRATIC_SAMPLES = 12_000


_WARM = set()


class SkipRun(Exception):
    """Raised by a method that does not apply to a run; recorded as a 'skipped' row."""


@dataclass(frozen=True)
class Method:
    """A roster entry.

    Parameters
    ----------
    name : str
        Column name in the results table.
    fit_predict : callable
        ``fit_predict(X, n_clusters, random_state) -> labels`` of shape (n,), ``-1`` = noise,
        or ``(labels, info)`` where ``info["charged_s"]`` is time spent outside this call
        that the run must be charged (a cached embedding).
    k_mode : {"needs", "selects", "ignores"}
        ``"needs"``: must be given k (skipped without it); ``"selects"``: uses k when
        given, otherwise chooses it; ``"ignores"``: never uses k.
    requires : tuple of str
        Importable modules the method needs (the method is left out otherwise).
    in_quick : bool
        Part of the default roster of a ``--quick`` run. Methods whose first call
        compiles for minutes (UMAP) or that need no smoke test run only when named.
    """

    name: str
    fit_predict: object = field(repr=False)
    k_mode: str = "selects"
    requires: tuple = ()
    in_quick: bool = True

    def available(self):
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def warm_up(self):
        """Import the method's modules and run it once on tiny data, so that import and
        JIT-compilation time (numba) stay out of the first timed run. Once per process."""
        if self.name in _WARM:
            return
        _WARM.add(self.name)
        blobs = np.random.RandomState(0).normal(size=(60, 2)) + np.repeat([[0, 0], [8, 8]],
                                                                         30, axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self(blobs, 2, 0)
            except Exception:  # noqa: BLE001 - a real run reports the error properly
                pass

    def __call__(self, X, n_clusters=None, random_state=0):
        if n_clusters is None and self.k_mode == "needs":
            raise SkipRun(f"{self.name} needs the number of clusters (true-k mode only)")
        k = None if self.k_mode == "ignores" else n_clusters
        out = self.fit_predict(X, k, random_state)
        # a method may return (labels, info); info["charged_s"] adds to its time
        labels, info = out if isinstance(out, tuple) else (out, {})
        return np.asarray(labels).astype(np.int64), info


# ---------------------------------------------------------------- graphmoe

def _graphmoe(method, embed=None):
    def fit_predict(X, n_clusters, random_state):
        from graphmoe.cluster import ConnectivityClustering

        charged = 0.0
        if embed is not None:
            X, charged = _cached_embedding(embed, X, random_state)
        cc = ConnectivityClustering(method=method, n_clusters=n_clusters,
                                    random_state=random_state)
        return cc.fit(X).labels_, {"charged_s": charged}
    return fit_predict


#: (embedder, data digest, seed) -> (embedding, seconds it took); one process's runs share it
_EMBEDDINGS = {}


def _cached_embedding(embed, X, random_state):
    """``(Z, seconds)``: the embedding of ``X``, trained once per process and seed.

    The ``+ae`` entries of both segmenters and both modes share one embedding; a run
    that reuses it is charged the seconds its training took, so that every run's time
    includes the embedding, as if it had trained its own.
    """
    key = (embed.__name__, X.shape, hashlib.blake2b(X.tobytes(), digest_size=16).hexdigest(),
           random_state)
    if key in _EMBEDDINGS:
        Z, seconds = _EMBEDDINGS[key]
        return Z, seconds
    start = time.perf_counter()
    Z = embed(X, random_state)
    _EMBEDDINGS[key] = (Z, time.perf_counter() - start)
    return Z, 0.0


@functools.lru_cache(maxsize=None)
def _embedding_backend():
    """The embedder of the ``+ae`` roster entries: graphmoe's AutoEncoder, else a PCA
    stand-in (named ``+pca``). Looked up without importing torch."""
    try:
        found = importlib.util.find_spec("graphmoe.embed.autoencoder") is not None
    except ImportError:
        found = False
    return "ae" if found else "pca"


def embed_stand_in(X, random_state=0, n_components=10):
    """Learned embedding for the ``+embed`` entries (10-D; AutoEncoder or PCA stand-in).

    Low-dimensional data (at most ``n_components`` features) are not embedded:
    a 2-D spiral gains nothing from a 10-D code, so those runs are skipped.
    """
    if X.shape[1] <= n_components:
        raise SkipRun(f"data have {X.shape[1]} features: no embedding needed")
    if _embedding_backend() == "ae":
        from graphmoe.embed import AutoEncoder

        ae = AutoEncoder(n_components=n_components, epochs=30, random_state=random_state)
        return ae.fit_transform(X)
    from sklearn.decomposition import PCA

    return PCA(n_components=n_components, random_state=random_state).fit_transform(X)


# ---------------------------------------------------------------- centroid / linkage baselines

def _kmeans(X, n_clusters, random_state):
    from sklearn.cluster import KMeans

    if n_clusters is None:
        return _select_by_silhouette(X, random_state)
    return KMeans(n_clusters, n_init=10, random_state=random_state).fit_predict(X)


def _select_by_silhouette(X, random_state):
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best, best_labels = -np.inf, None
    # silhouette is O(n^2): score on a fixed subsample
    sample = min(len(X), 2000)
    for k in range(2, min(MAX_SELECT_K, len(X) - 1) + 1):
        labels = KMeans(k, n_init=4, random_state=random_state).fit_predict(X)
        s = silhouette_score(X, labels, sample_size=sample, random_state=random_state)
        if s > best:
            best, best_labels = s, labels
    return best_labels


def _gmm(X, n_clusters, random_state):
    from sklearn.mixture import GaussianMixture

    # full covariances cost O(k d^2) per point and step: diagonal ones in high dimension
    cov = "full" if X.shape[1] <= 16 else "diag"

    def fit(k, n_init=2):
        return GaussianMixture(k, covariance_type=cov, n_init=n_init, reg_covar=1e-4,
                               random_state=random_state).fit(X)

    if n_clusters is not None:
        return fit(n_clusters).predict(X)
    models = [fit(k, n_init=1) for k in range(2, min(MAX_SELECT_K, len(X) - 1) + 1)]
    return min(models, key=lambda m: m.bic(X)).predict(X)


def _check_quadratic(X, name):
    if len(X) > MAX_QUADRATIC_SAMPLES:
        raise SkipRun(f"{name} is O(n^2) in memory; n={len(X)} > {MAX_QUADRATIC_SAMPLES}")


def _spectral(X, n_clusters, random_state):
    from sklearn.cluster import SpectralClustering

    _check_quadratic(X, "spectral")
    model = SpectralClustering(n_clusters, affinity="nearest_neighbors", n_neighbors=15,
                               assign_labels="cluster_qr", random_state=random_state)
    return model.fit_predict(X)


def _agglomerative(linkage):
    def fit_predict(X, n_clusters, random_state):
        from sklearn.cluster import AgglomerativeClustering

        _check_quadratic(X, f"agglomerative-{linkage}")
        return AgglomerativeClustering(n_clusters, linkage=linkage).fit_predict(X)
    return fit_predict


def _hdbscan_library(X, n_clusters, random_state):
    import hdbscan

    return hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(X)


# ---------------------------------------------------------------- optional competitors

def _genie(X, n_clusters, random_state):
    import genieclust

    return genieclust.Genie(n_clusters=n_clusters).fit_predict(X)


#: fast_hdbscan's kd-tree Boruvka degrades to minutes above this many features.
MAX_KDTREE_FEATURES = 16


def _fast_hdbscan(X, n_clusters, random_state):
    import fast_hdbscan

    if X.shape[1] > MAX_KDTREE_FEATURES:
        # measured: 3.5 min on 1,797 x 64 digits (2 cores) against 0.1 s on 2-D data
        raise SkipRun(f"fast_hdbscan is built for low-dimensional data; d={X.shape[1]} > "
                      f"{MAX_KDTREE_FEATURES}")

    return fast_hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(X)


#: EVoC lays the graph out in this many dimensions at least (its PCA step needs as many features).
EVOC_MIN_EMBEDDING_DIM = 4


def _evoc(X, n_clusters, random_state):
    import evoc

    # EVoC works on float32 embedding vectors; on 2-D data its default layout dimension
    # exceeds the features, so the layout keeps the input dimension there
    dim = X.shape[1] if X.shape[1] < EVOC_MIN_EMBEDDING_DIM else None
    model = evoc.EVoC(approx_n_clusters=n_clusters, node_embedding_dim=dim,
                      random_state=random_state)
    return model.fit_predict(np.ascontiguousarray(X, dtype=np.float32))


#: UMAP + HDBSCAN, the recipe of UMAP's "using UMAP for clustering" guide: a 30-neighbour
#: layout with min_dist=0 into (at most) 10 dimensions, then HDBSCAN with min_samples=10.
UMAP_COMPONENTS = 10


def _umap_hdbscan(X, n_clusters, random_state):
    import hdbscan
    import umap

    dim = min(UMAP_COMPONENTS, X.shape[1])
    layout = umap.UMAP(n_neighbors=30, min_dist=0.0, n_components=dim, random_state=random_state)
    Z = layout.fit_transform(X)
    # the guide scales min_cluster_size with the data (500 on 70k MNIST): 0.5 % of n here
    return hdbscan.HDBSCAN(min_samples=10, min_cluster_size=max(15, len(X) // 200)).fit_predict(Z)


def _leiden_knn(X, n_clusters, random_state, n_neighbors=15):
    import igraph
    import leidenalg
    from sklearn.neighbors import kneighbors_graph

    A = kneighbors_graph(X, n_neighbors=min(n_neighbors, len(X) - 1), mode="connectivity")
    A = A.maximum(A.T).tocoo()
    upper = A.row < A.col
    graph = igraph.Graph(n=len(X), edges=list(zip(A.row[upper], A.col[upper])))
    part = leidenalg.find_partition(graph, leidenalg.ModularityVertexPartition,
                                    seed=int(random_state or 0))
    return np.asarray(part.membership)


def default_roster():
    """Every roster entry, the optional ones included (see :func:`get_methods`)."""
    embed_tag = "+ae" if _embedding_backend() == "ae" else "+pca"
    return [
        # the default estimator (method="auto", layout above 16 features): what users get
        Method("graphmoe", _graphmoe("auto"), "selects", ("graphmoe.cluster",)),
        Method("graphmoe-hdbscan", _graphmoe("hdbscan"), "selects", ("graphmoe.cluster",)),
        Method("graphmoe-mst", _graphmoe("mst"), "selects", ("graphmoe.cluster",)),
        Method(f"graphmoe-hdbscan{embed_tag}", _graphmoe("hdbscan", embed_stand_in),
               "selects", ("graphmoe.cluster",)),
        Method(f"graphmoe-mst{embed_tag}", _graphmoe("mst", embed_stand_in),
               "selects", ("graphmoe.cluster",)),
        Method("kmeans", _kmeans, "selects"),
        Method("gmm", _gmm, "selects"),
        Method("spectral", _spectral, "needs"),
        Method("ward", _agglomerative("ward"), "needs"),
        Method("single-linkage", _agglomerative("single"), "needs"),
        Method("hdbscan-lib", _hdbscan_library, "ignores", ("hdbscan",)),
        Method("genie", _genie, "needs", ("genieclust",)),
        Method("fast-hdbscan", _fast_hdbscan, "ignores", ("fast_hdbscan",)),
        Method("leiden-knn", _leiden_knn, "ignores", ("leidenalg", "igraph")),
        Method("evoc", _evoc, "selects", ("evoc",), in_quick=False),
        Method("umap-hdbscan", _umap_hdbscan, "ignores", ("umap", "hdbscan"), in_quick=False),
    ]


def get_methods(names=None, include_unavailable=False, quick=False):
    """Roster entries by name (default: all whose packages are importable; with
    ``quick``, only those marked ``in_quick``).

    Raises ``ValueError`` naming any unknown method.
    """
    roster = default_roster()
    by_name = {m.name: m for m in roster}
    if names is None:
        return [m for m in roster if (include_unavailable or m.available())
                and (m.in_quick or not quick)]
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(by_name)}.")
    return [by_name[n] for n in names]
