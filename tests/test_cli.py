import subprocess
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphmoe.cli import main


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("graphmoe: error: ") and "Traceback" not in err[0]
    return err[0]


def test_missing_input_file_exits_2_naming_the_file(capsys, tmp_path):
    missing = tmp_path / "missing.csv"
    assert main(["cluster", str(missing)]) == 2
    assert f"'{missing}' does not exist" in _one_line_error(capsys)


def test_bad_arguments_exit_2_with_one_line(capsys):
    assert main(["cluster"]) == 2
    assert "FILE" in _one_line_error(capsys)
    assert main(["bench", "cluster", "--jobs", "0"]) == 2
    assert "--jobs: expected a positive integer" in _one_line_error(capsys)
    assert main(["bench", "cluster", "--datasets", "mnist-ish"]) == 2
    assert "invalid choice: 'mnist-ish'" in _one_line_error(capsys)
    assert main([]) == 2
    _one_line_error(capsys)


def test_unreadable_and_non_numeric_files_exit_2(capsys, tmp_path):
    words = tmp_path / "words.csv"
    words.write_text("a,b\n1,x\n2,y\n")
    assert main(["cluster", str(words)]) == 2
    assert "words.csv" in _one_line_error(capsys)
    one_row = tmp_path / "one.npy"
    np.save(one_row, np.ones((1, 3)))
    assert main(["cluster", str(one_row)]) == 2
    assert "at least 2 are required" in _one_line_error(capsys)


def test_failure_while_running_exits_1_with_one_line(capsys, tmp_path):
    folder = tmp_path / "battery"
    folder.mkdir()
    np.savetxt(folder / "x.data", np.ones((5, 2)))
    np.savetxt(folder / "x.labels0", np.ones(4), fmt="%d")
    code = main(["bench", "cluster", "--battery", str(folder), "--methods", "kmeans", "-q",
                 "--out", str(tmp_path / "o")])
    assert code == 1
    assert "ValueError" in _one_line_error(capsys)


def test_help_reads_well(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("demo", "cluster", "bench", "examples:"):
        assert word in out
    assert main(["bench", "cluster", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--no-true-k" in out and "--battery" in out and "--jobs" in out


def test_cluster_round_trip_on_a_small_csv(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(c, 0.3, (40, 2)) for c in ((0, 0), (5, 0), (0, 5))])
    path = tmp_path / "points.csv"
    pd.DataFrame(X, columns=["x", "y"]).to_csv(path, index=False)  # with a header line
    out = tmp_path / "out"
    assert main(["cluster", str(path), "--method", "mst", "--n-clusters", "3",
                 "--out", str(out)]) == 0
    assert "3 clusters" in capsys.readouterr().out
    labels = pd.read_csv(out / "labels.csv")["label"].to_numpy()
    assert labels.shape == (120,)
    assert [len(set(labels[i:i + 40])) for i in (0, 40, 80)] == [1, 1, 1]
    assert len(set(labels)) == 3
    M = sp.load_npz(out / "membership.npz")
    assert M.shape == (120, 4)
    np.testing.assert_allclose(np.asarray(M.sum(axis=1)).ravel(), 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(M[:, :3].argmax(axis=1)).ravel(), labels)
    tree = pd.read_csv(out / "hierarchy.csv")
    assert len(tree) >= 4  # root and at least the three clusters


def test_bench_cluster_writes_table_and_plots(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["bench", "cluster", "--quick", "--datasets", "moons", "--methods", "kmeans",
                 "graphmoe-hdbscan", "--true-k", "-q", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "results.csv")
    assert set(table["mode"]) == {"true-k"} and len(table) == 2
    ari = table.set_index("method")["ari"]
    assert ari["graphmoe-hdbscan"] > 0.95 > ari["kmeans"]
    assert (out / "partitions_moons_true-k.png").is_file()
    assert "graphmoe-hdbscan" in capsys.readouterr().out


def test_python_dash_m_entry_point_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "graphmoe", "cluster",
                           str(tmp_path / "nope.npy")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "nope.npy" in proc.stderr


def test_bench_moe_and_embed_call_their_entry_points(monkeypatch, tmp_path, capsys):
    import graphmoe.bench.embed as embed_bench
    import graphmoe.bench.moe as moe_bench

    calls = {}

    def fake(name):
        def run(out_dir, quick=False, verbose=True, **kwargs):
            calls[name] = dict(out_dir=str(out_dir), quick=quick, verbose=verbose, **kwargs)
            return pd.DataFrame({"method": [f"{name}-a"], "score": [0.5]})
        return run

    monkeypatch.setattr(moe_bench, "run_moe_benchmark", fake("moe"))
    monkeypatch.setattr(embed_bench, "run_embed_benchmark", fake("embed"))
    assert main(["bench", "moe", "--quick", "--seeds", "3", "4", "-q",
                 "--out", str(tmp_path / "m")]) == 0
    assert calls["moe"] == {"out_dir": str(tmp_path / "m"), "quick": True, "verbose": False,
                            "seeds": (3, 4), "tasks": None, "methods": None}
    assert main(["bench", "embed", "--out", str(tmp_path / "e")]) == 0
    assert calls["embed"]["quick"] is False and calls["embed"]["verbose"] is True
    out = capsys.readouterr().out
    assert "moe-a" in out and "embed-a" in out


def test_typo_in_the_first_row_is_an_error_not_a_header(capsys, tmp_path):
    typo = tmp_path / "typo.csv"
    typo.write_text("0.5,0.2x\n1.0,2.0\n3.0,4.0\n")
    assert main(["cluster", str(typo), "--out", str(tmp_path / "o")]) == 2
    assert "mixes numbers and text ('0.2x' (column 2))" in _one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_header_of_names_is_still_read_as_a_header(tmp_path):
    from graphmoe.cli import read_matrix

    rng = np.random.default_rng(0)
    data = rng.normal(size=(12, 2))
    named = tmp_path / "named.csv"
    pd.DataFrame(data, columns=["x", "y"]).to_csv(named, index=False)
    np.testing.assert_allclose(read_matrix(named), data)
    headless = tmp_path / "headless.csv"
    np.savetxt(headless, data, delimiter=",")
    assert read_matrix(headless).shape == (12, 2)  # no row lost to a header


def test_directory_as_input_says_so(capsys, tmp_path):
    assert main(["cluster", str(tmp_path)]) == 2
    assert f"'{tmp_path}' is a directory" in _one_line_error(capsys)


def test_cluster_arguments_out_of_range_exit_2(capsys, tmp_path):
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).normal(size=(20, 2)))
    assert main(["cluster", str(data), "--min-cluster-size", "1"]) == 2
    assert "--min-cluster-size: expected an integer >= 2, got 1" in _one_line_error(capsys)
    assert main(["cluster", str(data), "--min-cluster-size", "21"]) == 2
    assert "exceeds the number of rows" in _one_line_error(capsys)
    assert main(["cluster", str(data), "--n-neighbors", "20"]) == 2
    assert "must be below the number of rows" in _one_line_error(capsys)
    huge = tmp_path / "huge.npy"
    np.save(huge, np.random.default_rng(0).normal(size=(20, 2)) * 1e200)
    assert main(["cluster", str(huge)]) == 2
    assert "Rescale" in _one_line_error(capsys)


def test_interrupt_exits_130(capsys, tmp_path, monkeypatch):
    import graphmoe.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._COMMANDS, "demo", interrupted)
    assert main(["demo", "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err
