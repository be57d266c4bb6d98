"""The scaling benchmark: slopes, the size plan, per-stage timing, the fresh-process runner."""
import math

import numpy as np
import pandas as pd
import pytest

import graphmoe.cluster.estimator as estimator
import graphmoe.cluster.method_choice as method_choice
from graphmoe.bench import scale
from graphmoe.bench.memory import max_rss_mb, peak_memory
from graphmoe.cli import main


def test_loglog_slope_recovers_the_exponent():
    n = np.array([1e4, 3e4, 1e5, 3e5])
    assert scale.loglog_slope(n, 2e-5 * n ** 1.3) == pytest.approx(1.3)
    assert scale.loglog_slope(n, [1.0, np.nan, 10.0, np.nan]) == pytest.approx(1.0)
    assert math.isnan(scale.loglog_slope([1e4], [3.0]))


def test_plan_filters_sizes_and_rejects_unknown_data(tmp_path):
    plan = scale._plan(None, quick=False, max_n=100_000)
    assert ("fashion-mnist", 70_000) in plan and ("blobs50", 100_000) in plan
    assert all(n <= 100_000 for _, n in plan)
    assert scale._plan(["blobs50"], False, None, sizes=[7, 9]) == [("blobs50", 7), ("blobs50", 9)]
    with pytest.raises(ValueError, match="unknown scaling dataset"):
        scale._plan(["mnist"], False, None)
    with pytest.raises(ValueError, match="no size is at most"):
        scale.run_scale_benchmark(tmp_path, datasets=["blobs50"], max_n=10, verbose=False)


def test_fit_timed_splits_the_fit_into_stages_and_restores_the_estimator():
    before = (estimator.KNNGraph.fit, method_choice.minimum_spanning_edges)
    X, y = scale.load_scale_data("blobs50", 600)
    assert X.shape == (600, 50) and np.unique(y).size == 20
    out = scale.fit_timed(X, y, {"random_state": 0, "n_clusters": 20})
    assert out["ari"] > 0.95 and out["n_clusters"] == 20
    stages = [out[f"{s}_s"] for s in scale.STAGES]
    assert all(t >= 0 for t in stages) and out["knn_s"] > 0 and out["mst_s"] > 0
    assert out["layout_s"] > 0  # 50 features: the default lays the graph out
    assert sum(stages) <= out["time_s"] + 1e-6 and out["other_s"] >= -1e-6
    assert (estimator.KNNGraph.fit, method_choice.minimum_spanning_edges) == before


@pytest.mark.slow
def test_scale_command_runs_each_size_in_a_fresh_process(tmp_path, capsys):
    out = tmp_path / "scale"
    code = main(["bench", "scale", "--datasets", "blobs50", "--sizes", "400",
                 "--no-second-fit", "-q", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "results.csv")
    assert list(table["n"]) == [400] and (table["first_ari"] > 0.95).all()
    # each row's RSS high-water mark is its own process's, not this one's
    assert (table["peak_rss_mb"] >= table["rss_after_load_mb"]).all()
    assert "Log-log slope" in (out / "results.md").read_text()


def test_a_run_over_its_memory_budget_is_killed_and_reported(tmp_path):
    row = scale._run_fresh("blobs50", 400, True, 0, timeout=600, max_rss_gb=0.01)
    assert row["error"].startswith("killed: RSS above")


def test_peak_memory_sees_native_and_short_lived_allocations():
    with peak_memory(trace=True) as mem:
        block = np.ones(2**23)  # 64 MiB, freed at once
        del block
    assert mem.added_mb > 60
    assert max_rss_mb() >= mem.peak_mb - 1  # the kernel's high-water mark bounds the samples
