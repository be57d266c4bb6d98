"""Roster entries EVoC and UMAP + HDBSCAN: wiring (fast, faked) and real runs (optional)."""
import sys
import types

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from graphmoe.bench.methods import get_methods


def _blobs(n=400, d=12, k=3):
    return make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=0.6, random_state=0)


def test_evoc_is_given_the_true_k_only_in_true_k_mode(monkeypatch):
    seen = []

    class FakeEVoC:
        def __init__(self, **params):
            seen.append(params)

        def fit_predict(self, X):
            assert X.dtype == np.float32 and X.flags.c_contiguous
            return np.zeros(len(X), dtype=int)

    monkeypatch.setitem(sys.modules, "evoc", types.SimpleNamespace(EVoC=FakeEVoC))
    (evoc,) = get_methods(["evoc"])
    X, _ = _blobs()
    evoc(X, 3, random_state=7)
    evoc(X, None, random_state=7)
    evoc(X[:, :2], 3, random_state=7)
    assert [p["approx_n_clusters"] for p in seen] == [3, None, 3]
    assert seen[0]["random_state"] == 7 and seen[0]["node_embedding_dim"] is None
    assert seen[2]["node_embedding_dim"] == 2  # 2-D data: lay out in 2 dimensions


def test_umap_hdbscan_lays_out_in_at_most_10_dimensions(monkeypatch):
    seen = {}

    class FakeUMAP:
        def __init__(self, **params):
            seen["umap"] = params

        def fit_transform(self, X):
            return X[:, :seen["umap"]["n_components"]]

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    (method,) = get_methods(["umap-hdbscan"])
    X, y = _blobs(d=12)
    labels, _ = method(X, 3, random_state=0)  # "ignores" k: HDBSCAN chooses
    assert seen["umap"]["n_components"] == 10 and seen["umap"]["min_dist"] == 0.0
    assert adjusted_rand_score(y, labels) > 0.9
    method(X[:, :2], None, random_state=0)
    assert seen["umap"]["n_components"] == 2


# UMAP's first call compiles for minutes on 2 cores (not cached), so only EVoC runs for real
@pytest.mark.slow
def test_evoc_finds_separated_blobs():
    pytest.importorskip("evoc")
    X, y = _blobs()
    (method,) = get_methods(["evoc"])
    labels, _ = method(X, 3, random_state=0)
    assert labels.shape == y.shape
    assert adjusted_rand_score(y, labels) > 0.9


def test_quick_roster_leaves_out_the_slow_competitors_unless_named():
    quick = {m.name for m in get_methods(include_unavailable=True, quick=True)}
    full = {m.name for m in get_methods(include_unavailable=True)}
    assert {"evoc", "umap-hdbscan"} <= full - quick
    assert {"graphmoe-hdbscan", "kmeans"} <= quick
    assert [m.name for m in get_methods(["evoc"], quick=True)] == ["evoc"]
    with pytest.raises(ValueError, match="unknown method"):
        get_methods(["evoc-typo"])
