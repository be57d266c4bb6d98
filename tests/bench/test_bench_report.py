import numpy as np
import pandas as pd
import pytest

from graphmoe.bench.methods import Method, get_methods
from graphmoe.bench.plots import save_benchmark_plots, win_loss_matrix
from graphmoe.bench.report import markdown_table, method_summary, pivot_scores, write_report
from graphmoe.bench.runner import COLUMNS, run_benchmark
from graphmoe.bench.suites import BenchDataset


def _table(rows):
    base = dict.fromkeys(COLUMNS, np.nan)
    return pd.DataFrame([{**base, "status": "ok", "error": "", "note": "", **r} for r in rows],
                        columns=COLUMNS)


@pytest.fixture
def toy_table():
    # three datasets; A beats B twice, ties once; C failed on one dataset
    rows = []
    for ds, a, b, c in (("d1", 0.9, 0.5, 0.1), ("d2", 0.8, 0.3, None), ("d3", 0.7, 0.7, 0.2)):
        rows += [{"dataset": ds, "method": "A", "mode": "true-k", "ari": a, "time_s": 1.0},
                 {"dataset": ds, "method": "B", "mode": "true-k", "ari": b, "time_s": 2.0}]
        rows.append({"dataset": ds, "method": "C", "mode": "true-k", "ari": c, "time_s": 0.5,
                     **({} if c is not None else {"status": "failed", "error": "Boom: x"})})
    return _table(rows)


def test_pivot_has_markers_and_means_over_runs_that_succeeded(toy_table):
    p = pivot_scores(toy_table, "ari", "true-k")
    assert list(p.index) == ["d1", "d2", "d3", "mean", "ran"]
    assert p.at["d2", "C"] == "fail" and p.at["d1", "A"] == "0.900"
    assert p.at["mean", "A"] == "0.800" and p.at["mean", "C"] == "0.150"
    assert p.at["ran", "C"] == "2/3"
    assert pivot_scores(toy_table, "ari", "no-true-k").empty


def test_win_loss_counts_strict_wins_only(toy_table):
    W = win_loss_matrix(toy_table, "ari", "true-k", tol=0.01)
    assert W.at["A", "B"] == 2 and W.at["B", "A"] == 0  # d3 is a tie
    assert W.at["A", "C"] == 2  # only datasets where both ran
    assert (np.diag(W.values) == 0).all()
    assert ((W.values + W.values.T) <= 3).all()


def test_markdown_table_is_well_formed(toy_table):
    md = markdown_table(pivot_scores(toy_table))
    lines = md.splitlines()
    assert len(lines) == 2 + 5
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert lines[0].startswith("| dataset | A | B | C |")


def test_method_summary_ranks_by_mean_ari(toy_table):
    s = method_summary(toy_table)
    assert list(s.index.get_level_values("method")) == ["A", "B", "C"]
    assert s.loc[("true-k", "C"), "runs_ok"] == 2
    assert s.loc[("true-k", "B"), "total_time_s"] == pytest.approx(6.0)


def test_write_report_and_plots_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 0.3, (60, 3)), rng.normal(4, 0.3, (60, 3))])
    y = np.repeat([0, 1], 60)
    suite = [BenchDataset("two", X, [y], 2, None, "")]
    broken = Method("broken", lambda X, k, rs: 1 / 0)
    res = run_benchmark(suite, get_methods(["kmeans", "single-linkage"]) + [broken],
                        modes=("true-k",), verbose=False)
    csv, md = write_report(res.table, tmp_path)
    back = pd.read_csv(csv)
    assert back.shape == res.table.shape and list(back.columns) == COLUMNS
    text = md.read_text()
    assert "## ARI, true-k" in text and "ZeroDivisionError" in text
    written = save_benchmark_plots(res, suite, tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["ari_bars_true-k.png", "ari_winloss_true-k.png",
                     "partitions_two_true-k.png"]
    assert all(p.stat().st_size > 5000 for p in written)
