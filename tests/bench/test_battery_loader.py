import gzip

import numpy as np
import pytest

from graphmoe.bench.cluster import run_cluster_benchmark
from graphmoe.bench.suites import battery_suite
from graphmoe.datasets.battery import list_battery, load_battery


def _write(path, rows, fmt):
    with gzip.open(path, "wt") as fh:
        np.savetxt(fh, rows, fmt=fmt)


@pytest.fixture
def battery(tmp_path):
    rng = np.random.RandomState(0)
    folder = tmp_path / "tiny"
    folder.mkdir()
    # "blobs": 3 clusters + 6 noise points; labels1 an alternative (coarser) reference
    X = np.vstack([rng.normal(c, 0.2, (30, 2)) for c in (0, 3, 6)] + [rng.uniform(-1, 7, (6, 2))])
    y0 = np.r_[np.repeat([1, 2, 3], 30), np.zeros(6, int)]
    y1 = np.r_[np.repeat([1, 1, 2], 30), np.zeros(6, int)]
    _write(folder / "blobs.data.gz", X, "%.6f")
    _write(folder / "blobs.labels0.gz", y0, "%d")
    _write(folder / "blobs.labels1.gz", y1, "%d")
    # "line": plain (uncompressed) files are accepted as well
    np.savetxt(folder / "line.data", np.c_[np.arange(20.0), np.zeros(20)], fmt="%.1f")
    np.savetxt(folder / "line.labels0", np.repeat([1, 2], 10), fmt="%d")
    (folder / "README.txt").write_text("not a dataset")
    return folder, X, y0, y1


def test_load_battery_reads_data_and_all_reference_partitions(battery):
    folder, X, y0, y1 = battery
    assert list_battery(folder) == ["blobs", "line"]
    data = load_battery(folder)
    assert list(data) == ["blobs", "line"]
    blobs = data["blobs"]
    np.testing.assert_allclose(blobs.X, X, atol=1e-6)
    assert len(blobs.labels) == 2
    np.testing.assert_array_equal(blobs.labels[0], y0)
    np.testing.assert_array_equal(blobs.labels[1], y1)
    assert blobs.n_clusters == 3  # label 0 (noise) is not a cluster
    assert data["line"].X.shape == (20, 2) and data["line"].n_clusters == 2
    assert list(load_battery(folder, names=["line"])) == ["line"]


def test_battery_errors_name_the_problem(battery, tmp_path):
    folder = battery[0]
    with pytest.raises(ValueError, match=r"\['nope'\] not found in battery"):
        load_battery(folder, names=["blobs", "nope"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_battery(tmp_path / "missing")
    np.savetxt(folder / "line.labels1", np.ones(7), fmt="%d")
    with pytest.raises(ValueError, match="holds 7 labels but the data file has 20 rows"):
        load_battery(folder, names="line")
    (folder / "bad.data").write_text("1 2\n3 x\n")
    np.savetxt(folder / "bad.labels0", [1, 1], fmt="%d")
    with pytest.raises(ValueError, match="cannot parse"):
        load_battery(folder, names="bad")
    (folder / "nolabels.data").write_text("1 2\n3 4\n")
    with pytest.raises(FileNotFoundError, match="no nolabels.labels0.gz"):
        load_battery(folder, names="nolabels")


def test_battery_suite_subsamples_and_marks_noise(battery):
    folder = battery[0]
    suite = battery_suite(folder, names=["blobs"], max_samples=48, random_state=0)
    (ds,) = suite
    assert ds.name == "tiny/blobs" and ds.noise_label == 0 and ds.n_clusters == 3
    assert ds.X.shape == (48, 2) and "subsampled 48 of 96" in ds.note
    again = battery_suite(folder, names=["blobs"], max_samples=48, random_state=0)[0]
    np.testing.assert_array_equal(ds.X, again.X)


def test_benchmark_on_a_battery_scores_against_the_best_reference(battery, tmp_path):
    folder = battery[0]
    table = run_cluster_benchmark(tmp_path / "out", battery=folder, methods=["ward"],
                                  modes=("true-k",), plots=False, verbose=False)
    t = table.set_index("dataset")
    assert list(t.index) == ["tiny/blobs", "tiny/line"]
    assert t.loc["tiny/blobs", "ari"] > 0.95  # noise points of the reference not scored
    assert (tmp_path / "out" / "results.md").is_file()
