"""Connect a disconnected kNN graph by its shortest inter-component edges.

A kNN graph falls apart when groups of points lie farther from each other than
any point's k-th neighbour. Single linkage (and so HDBSCAN and MST cuts) needs
one spanning tree, so the pieces are joined Boruvka-style: every component
except the largest gets the shortest edge leaving it, the components are
recomputed, and this repeats (each round at least halves their number).

The exhaustive scan of a large component against every outside point costs
``|C| (n - |C|) d``: summed over well-separated groups that is ``n^2 d``
(1M x 50 blobs: ~5e13 flops, the whole budget of the run; at 100k it already
took 153 of the fit's 191 CPU-s). Above ``EXACT_BRIDGE_PAIRS`` member-outside
pairs the edge is found instead from an evenly spaced sample of the
component's members (exhaustive scan of the outside points against it),
refined by alternating exact nearest-point steps (the member nearest to the
outside point found, the outside point nearest to that member, ...), each of
which can only shorten the edge. The result is a short bridge, the shortest
in most cases (exact where the closest pair is a mutual nearest pair reached
from the sample), found in ``O(n d)`` per component.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["bridge_components", "SMALL_COMPONENT", "EXACT_BRIDGE_PAIRS"]

#: Components up to this size find their shortest outgoing edge by querying the
#: shared index with k = size + 1 (every point then sees an outside point, so
#: the edge is exact); larger ones scan all other points exhaustively.
SMALL_COMPONENT = 256
#: Members of a large component whose float32 nearest outside point is
#: re-measured in float64 before the shortest edge is picked (rounding guard).
_RECHECK = 8
#: Largest ``members x outside points`` scanned exhaustively; beyond, a sample + refinement.
EXACT_BRIDGE_PAIRS = 1 << 22
#: Members of a large component scanned against all outside points (blobs 20k x 200,
#: 9 bridges: 256 -> 64 cut the kNN fit from 5.6 to 5.0 CPU-s; the bridges' total
#: length rose by 0.07 %: the refinement below does the rest).
_BRIDGE_SAMPLE = 64
#: Most alternating nearest-point refinements of the sampled edge.
_REFINE_ROUNDS = 8
#: Rows per block of the chunked scans (bounded temporaries).
_SCAN_ROWS = 1 << 16


def _nearest_of(Xf, x, rows):
    """The row of ``rows`` nearest to ``x`` (float32 squared distances, in blocks)."""
    best, best_sq = -1, np.inf
    for start in range(0, rows.size, _SCAN_ROWS):
        block = rows[start:start + _SCAN_ROWS]
        diff = Xf[block] - x
        sq = np.einsum("ij,ij->i", diff, diff)
        at = int(np.argmin(sq))
        if sq[at] < best_sq:
            best, best_sq = int(block[at]), float(sq[at])
    return best


def _shortest_edge_sampled(X, Xf, members, comp_id, labels, metric):
    """A short edge out of a large component: sampled scan, then nearest-point refinement."""
    import faiss

    from ._index import pair_distances

    from ._faiss import _faiss_threads

    others = np.flatnonzero(labels != comp_id)
    step = -(-members.size // _BRIDGE_SAMPLE)
    sample = members[::step]
    index = faiss.IndexFlatL2(Xf.shape[1])
    index.add(np.ascontiguousarray(Xf[sample]))
    best_sq, i, j = np.inf, -1, -1
    for start in range(0, others.size, _SCAN_ROWS):
        block = others[start:start + _SCAN_ROWS]
        with _faiss_threads(faiss, None, 0):  # short scans: one thread
            sq, nearest = index.search(np.ascontiguousarray(Xf[block]), 1)
        at = int(np.argmin(sq[:, 0]))
        if sq[at, 0] < best_sq:
            best_sq, i, j = float(sq[at, 0]), int(sample[nearest[at, 0]]), int(block[at])
    for _ in range(_REFINE_ROUNDS):
        i_new = _nearest_of(Xf, Xf[j], members)
        j_new = _nearest_of(Xf, Xf[i_new], others)
        if (i_new, j_new) == (i, j):
            break
        i, j = i_new, j_new
    dist = pair_distances(X[[i]], X, np.array([[j]]), metric)[0, 0]
    return i, j, dist


def _shortest_edge_small(members, comp_id, labels, query):
    ind, dist = query(members, len(members) + 1)
    outside = labels[ind] != comp_id
    dist = np.where(outside, dist, np.inf)
    row, col = np.unravel_index(np.argmin(dist), dist.shape)
    return members[row], ind[row, col], dist[row, col]


def _float32_rows(X, metric):
    """float32 rows for a BLAS scan (unit rows for cosine; scaled into float32's range)."""
    from ._index import float32_scale

    scale = float32_scale(X)
    Y = np.asarray(np.asarray(X, dtype=np.float64) * scale if scale != 1.0 else X,
                   dtype=np.float32)
    if metric == "cosine":
        Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    return np.ascontiguousarray(Y)


def _shortest_edge_large(X, Xf, members, comp_id, labels, metric):
    """Exhaustive float32 scan (faiss BLAS) of members against all outside points.

    The few members closest to the outside are re-measured in float64, so the
    edge is the shortest up to float32 rounding among near-ties.
    """
    import faiss

    from ._index import pair_distances

    from ._faiss import _faiss_threads

    others = np.flatnonzero(labels != comp_id)
    index = faiss.IndexFlatL2(Xf.shape[1])
    index.add(Xf[others])
    with _faiss_threads(faiss, None, 0):  # at most EXACT_BRIDGE_PAIRS pairs: one thread
        sq, nearest = index.search(Xf[members], 1)
    best = np.argsort(sq[:, 0], kind="stable")[:_RECHECK]
    cand = others[nearest[best, 0]]
    dist = pair_distances(X[members[best]], X, cand[:, None], metric)[:, 0]
    row = int(np.argmin(dist))
    return members[best[row]], cand[row], dist[row]


def bridge_components(graph, X, query, metric="euclidean", floor=0.0):
    """Add the shortest edges that join the components of ``graph``.

    Parameters
    ----------
    graph : scipy.sparse matrix of shape (n, n)
        Symmetric distance graph; stored entries are edges.
    X : ndarray of shape (n, n_features)
        The points, used for the exact search of large components.
    query : callable
        ``query(point_ids, k) -> (indices, distances)``, each (len(point_ids), k):
        the k nearest training points (the point itself may be among them).
    metric : str
        Metric of the distances.
    floor : float
        Lower bound for added edge weights (zero would read as "no edge").

    Returns
    -------
    bridged : scipy.sparse.csr_matrix of shape (n, n)
        ``graph`` plus the bridging edges (symmetric, connected).
    n_components : int
        Number of connected components before bridging.
    """
    graph = sp.csr_matrix(graph)
    n_components, labels = connected_components(graph, directed=False)
    n_before = n_components
    Xf = None  # float32 copy, made once, only when a large component needs a scan
    while n_components > 1:
        sizes = np.bincount(labels, minlength=n_components)
        order = np.argsort(labels, kind="stable")
        starts = np.concatenate(([0], np.cumsum(sizes)))
        largest = int(np.argmax(sizes))
        edges = {}  # two components may pick the same edge: keep it once
        for c in range(n_components):
            if c == largest:
                continue
            members = order[starts[c]:starts[c + 1]]
            if sizes[c] <= SMALL_COMPONENT:
                i, j, d = _shortest_edge_small(members, c, labels, query)
            else:
                Xf = _float32_rows(X, metric) if Xf is None else Xf
                exact = float(sizes[c]) * (labels.size - sizes[c]) <= EXACT_BRIDGE_PAIRS
                bridge = _shortest_edge_large if exact else _shortest_edge_sampled
                i, j, d = bridge(X, Xf, members, c, labels, metric)
            edges[(min(i, j), max(i, j))] = max(d, floor)
        (rows, cols), vals = zip(*edges.keys()), list(edges.values())
        extra = sp.csr_matrix((vals * 2, (rows + cols, cols + rows)), shape=graph.shape)
        graph = graph.maximum(extra).tocsr()
        n_components, labels = connected_components(graph, directed=False)
    return graph, n_before
