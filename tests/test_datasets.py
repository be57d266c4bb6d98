import gzip

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from graphmoe import datasets


def test_pinwheel_recipe_radii_and_reproducible():
    X, labels = datasets.make_pinwheel_spirals(n_per_arm=200, random_state=3)
    assert X.shape == (1000, 2) and np.bincount(labels).tolist() == [200] * 5
    r = np.linalg.norm(X, axis=1)
    assert np.allclose(r.min(), 2.5) and np.allclose(r.max(), 10.0)
    X2, _ = datasets.make_pinwheel_spirals(n_per_arm=200, random_state=3)
    assert np.array_equal(X, X2)


def test_interleaved_spirals_defeat_kmeans():
    X, labels = datasets.make_interleaved_spirals(n_per_arm=400, random_state=0)
    assert X.shape == (2000, 2)
    km = KMeans(5, n_init=10, random_state=0).fit_predict(X)
    assert adjusted_rand_score(labels, km) < 0.1
    # every arm spans all angles: its points are not confined to a sector
    ang = np.arctan2(X[:, 1], X[:, 0])
    for a in range(5):
        assert np.ptp(ang[labels == a]) > 5.0


def test_affine_targets_are_affine_per_group():
    X, g = datasets.make_interleaved_spirals(n_per_arm=50, random_state=1)
    y, (W, b) = datasets.make_affine_targets(X, g, random_state=0, return_params=True)
    assert y.shape == (250,)
    for c in range(5):
        m = g == c
        assert np.allclose(y[m], X[m] @ W[c, :, 0] + b[c, 0])
    with pytest.raises(ValueError, match="groups"):
        datasets.make_affine_targets(X, g[:-1])


def test_digits_scaled_to_unit_interval():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def _write_idx(path, arr, code):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.tobytes())


def test_fashion_mnist_loader_reads_idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    for stem, n in (("train", 30), ("t10k", 20)):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labs = np.arange(n, dtype=np.uint8) % 10
        _write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz", imgs, 0x08)
        _write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz", labs, 0x08)
    X, y = datasets.load_fashion_mnist(data_home=tmp_path)
    assert X.shape == (50, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0 and y.shape == (50,)
    Xs, ys = datasets.load_fashion_mnist(subset="train", n_samples=20, data_home=tmp_path,
                                         random_state=0)
    assert Xs.shape == (20, 784) and np.bincount(ys).tolist() == [2] * 10


def test_fashion_mnist_missing_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_fashion_mnist(data_home=tmp_path)


def test_load_by_name_and_unknown_name():
    X, y = datasets.load("moons", n_samples=100)
    assert X.shape == (100, 2)
    assert {"moons", "pinwheel", "spirals", "digits"} <= set(datasets.available())
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("nope")


def test_one_registry_feeds_load_the_cli_and_the_benchmark():
    from graphmoe.bench.suites import builtin_suite
    from graphmoe.cli import build_parser

    assert set(datasets.BUILTIN) == {"moons", "pinwheel", "spirals", "digits", "fashion-mnist"}
    default = [n for n, e in datasets.BUILTIN.items() if e.bench_default]
    assert default == ["moons", "pinwheel", "spirals", "digits"]
    args = build_parser().parse_args(["bench", "cluster", "--datasets", "digits"])
    assert args.datasets == ["digits"]
    suite = builtin_suite(["moons", "pinwheel"], quick=True)
    assert [len(ds.X) for ds in suite] == [600, 5 * 150]  # sizes from bench_quick
    assert not datasets.BUILTIN["digits"].seeded
