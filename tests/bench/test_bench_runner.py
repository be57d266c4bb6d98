import numpy as np
import pytest
from sklearn.datasets import make_blobs

from graphmoe.bench.methods import Method, SkipRun, get_methods
from graphmoe.bench.runner import COLUMNS, MODES, run_benchmark, run_one
from graphmoe.bench.suites import BenchDataset


def _blobs(n=300, k=3, seed=0, name="blobs"):
    X, y = make_blobs(n_samples=n, centers=k, cluster_std=0.5, random_state=seed)
    return BenchDataset(name, X, [y], k, None, "")


def _broken(X, k, rs):
    raise RuntimeError("exploded on purpose\nsecond line of detail")


def _wrong_shape(X, k, rs):
    return np.zeros(len(X) - 1, dtype=int)


def _kmeans_only():
    return get_methods(["kmeans"])


def test_failures_and_skips_are_rows_and_do_not_stop_the_run(monkeypatch):
    from graphmoe.bench import methods as roster

    monkeypatch.setattr(roster, "MAX_SELECT_K", 5)
    methods = [Method("broken", _broken), Method("short", _wrong_shape),
               Method("needs-k", lambda X, k, rs: np.zeros(len(X)), k_mode="needs")]
    methods += _kmeans_only()
    res = run_benchmark([_blobs()], methods, verbose=False)
    t = res.table.set_index(["method", "mode"])
    assert len(res.table) == len(methods) * len(MODES)
    assert (t.loc["broken", "status"] == "failed").all()
    assert t.loc[("broken", "true-k"), "error"] == "RuntimeError: exploded on purpose"
    assert t.loc[("short", "true-k"), "error"].startswith("ValueError: returned labels of shape")
    assert t.loc[("needs-k", "true-k"), "status"] == "ok"
    assert t.loc[("needs-k", "no-true-k"), "status"] == "skipped"
    assert "needs the number of clusters" in t.loc[("needs-k", "no-true-k"), "error"]
    assert np.isnan(t.loc[("broken", "true-k"), "ari"])
    # the healthy method still ran in both modes and scored well
    assert (t.loc["kmeans", "status"] == "ok").all() and (t.loc["kmeans", "ari"] > 0.95).all()
    assert set(res.labels) == {("blobs", m, md) for m in ("kmeans", "needs-k") for md in MODES
                               if (m, md) != ("needs-k", "no-true-k")}


def test_table_shape_columns_and_score_ranges():
    suite = [_blobs(seed=0, name="a"), _blobs(n=200, k=4, seed=1, name="b")]
    res = run_benchmark(suite, get_methods(["kmeans", "ward"]), modes=("true-k",),
                        verbose=False)
    t = res.table
    assert list(t.columns) == COLUMNS and len(t) == 4
    assert list(t["dataset"]) == ["a", "a", "b", "b"]
    for col in ("ari", "ami", "nmi", "acc"):
        assert t[col].between(-1, 1).all()
    assert (t["acc"] > 0.95).all() and (t["n_clusters"] == t["true_k"]).all()
    assert (t["time_s"] >= 0).all() and (t["noise_frac"] == 0).all()
    assert list(t["n_samples"]) == [300, 300, 200, 200]


def test_no_true_k_selects_k_for_kmeans_and_gmm(monkeypatch):
    from graphmoe.bench import methods as roster

    monkeypatch.setattr(roster, "MAX_SELECT_K", 6)  # search k in 2..6: enough, and fast
    res = run_benchmark([_blobs(n=150, k=3, seed=2)], get_methods(["kmeans", "gmm"]),
                        modes=("no-true-k",), verbose=False)
    assert (res.table["n_clusters"] == 3).all()
    assert (res.table["ari"] > 0.95).all()


def test_peak_memory_sees_a_large_allocation():
    def hungry(X, k, rs):
        block = np.ones((8_000_000,))  # 61 MiB, freed before returning
        return np.zeros(len(X), dtype=int) + int(block[0]) - 1

    row, labels = run_one(_blobs(), Method("hungry", hungry), "true-k")
    assert row["status"] == "ok" and row["peak_mem_mb"] > 55
    assert labels.shape == (300,)


def test_noise_points_of_the_reference_are_not_scored():
    X, y = make_blobs(n_samples=200, centers=2, cluster_std=0.3, random_state=0)
    ref = y + 1
    ref[:20] = 0  # battery convention: label 0 = noise
    ds = BenchDataset("noisy", X, [ref], 2, 0, "")

    def perfect_except_noise(X_, k, rs):
        pred = y.copy()
        pred[:20] = np.arange(20) % 2  # arbitrary on noise points
        return pred

    row, _ = run_one(ds, Method("m", perfect_except_noise), "true-k")
    assert row["ari"] == pytest.approx(1.0)


def test_best_of_alternative_references_counts():
    ds = _blobs()
    other = np.zeros_like(ds.labels[0])
    ds = BenchDataset("alt", ds.X, [other, ds.labels[0]], 3, None, "")
    row, _ = run_one(ds, _kmeans_only()[0], "true-k", random_state=0)
    assert row["ari"] > 0.95


def test_parallel_jobs_match_serial_results():
    suite = [_blobs(n=150, seed=3)]
    methods = get_methods(["ward", "single-linkage"]) + [Method("broken", _broken)]
    serial = run_benchmark(suite, methods, n_jobs=1, verbose=False).table
    parallel = run_benchmark(suite, methods, n_jobs=2, verbose=False).table
    cols = ["dataset", "method", "mode", "status", "ari", "n_clusters", "error"]
    assert serial[cols].fillna(-9).equals(parallel[cols].fillna(-9))


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="modes must be"):
        run_benchmark([_blobs()], _kmeans_only(), modes=("sometimes",))
    with pytest.raises(ValueError, match="at least one dataset"):
        run_benchmark([], _kmeans_only())
    with pytest.raises(ValueError, match="unknown method"):
        get_methods(["kmeans", "no-such-method"])


def test_skip_run_for_quadratic_methods_on_large_data(monkeypatch):
    from graphmoe.bench import methods as roster

    monkeypatch.setattr(roster, "MAX_QUADRATIC_SAMPLES", 100)
    row, _ = run_one(_blobs(), get_methods(["ward"])[0], "true-k")
    assert row["status"] == "skipped" and "O(n^2)" in row["error"]
    assert np.isnan(row["ari"])  # a skipped run has no score, not a zero score

    def declines(X, k, rs):
        raise SkipRun("does not apply here")

    row, labels = run_one(_blobs(), Method("declines", declines), "true-k")
    # SkipRun is a skip, any other exception a failure: the two must not be confused
    assert (row["status"], row["error"]) == ("skipped", "does not apply here")
    assert labels is None


def test_connectivity_beats_centroids_on_pinwheel_spirals():
    from graphmoe import datasets

    X, y = datasets.make_pinwheel_spirals(100, random_state=0)
    ds = BenchDataset("pinwheel", X, [y], 5, None, "")
    res = run_benchmark([ds], get_methods(["graphmoe-mst", "graphmoe-hdbscan", "kmeans"]),
                        modes=("true-k",), verbose=False)
    ari = res.table.set_index("method")["ari"]
    assert ari["kmeans"] < 0.8
    assert ari["graphmoe-mst"] > 0.95 and ari["graphmoe-hdbscan"] > 0.95


def test_warnings_are_recorded_in_the_row_not_printed(recwarn):
    import warnings

    def noisy(X, k, rs):
        warnings.warn("old API", DeprecationWarning)
        warnings.warn("graph is not fully connected", UserWarning)
        return np.zeros(len(X), dtype=int)

    row, _ = run_one(_blobs(), Method("noisy", noisy), "true-k")
    assert row["status"] == "ok" and row["warning"] == "graph is not fully connected"
    assert len(recwarn) == 0


def test_cached_embedding_is_shared_and_its_time_charged_to_every_run():
    from graphmoe.bench.methods import _cached_embedding

    calls = []

    def slow_embed(X, random_state):
        calls.append(random_state)
        return X[:, :2] * 2

    X = np.random.RandomState(5).normal(size=(50, 4))
    Z1, charged1 = _cached_embedding(slow_embed, X, 0)
    Z2, charged2 = _cached_embedding(slow_embed, X, 0)
    _cached_embedding(slow_embed, X, 1)
    assert calls == [0, 1] and Z1 is Z2
    assert charged1 == 0.0 and charged2 > 0.0  # the first run timed the training itself

    row, _ = run_one(_blobs(), Method("m", lambda X, k, rs: (np.zeros(len(X)),
                                                             {"charged_s": 100.0})), "true-k")
    assert row["status"] == "ok" and row["time_s"] >= 100.0
