"""The reconstruction benchmark (SMoE-VAE question) on a small Fashion-MNIST subset."""
import numpy as np
import pandas as pd
import pytest

from graphmoe.bench.moe_recon import COLUMNS, LabelGroups, run_recon_benchmark


def _fashion_or_skip():
    from graphmoe import datasets

    try:
        datasets.load_fashion_mnist("test", n_samples=10, random_state=0)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST files are not installed")


def test_quick_recon_benchmark_beats_the_mean_image_and_chance(tmp_path):
    _fashion_or_skip()
    results = run_recon_benchmark(tmp_path, quick=True, n_train=400, n_test=150,
                                  verbose=False)
    assert list(results.columns) == COLUMNS
    assert sorted(results["gate"]) == ["graph", "labels"]
    assert (results["n_experts"] == 5).all()
    assert np.isfinite(results["mse"]).all()
    # a bottleneck expert without skip path must still beat the constant mean image
    assert (results["mse"] < results["mse_mean_image"]).all()
    sep = results["separability"]
    assert ((sep >= 0) & (sep <= 1)).all() and (sep > 1 / results["n_experts"]).all()
    # per-expert recall too: a giant expert cannot carry it
    assert (results["separability_balanced"] > 1 / results["n_experts"]).all()
    # label routing with 5 groups of 2 merged classes: at least half the points agree
    assert results.set_index("gate").loc["labels", "purity"] >= 0.5 - 1e-9
    saved = pd.read_csv(tmp_path / "results.csv")
    assert len(saved) == 2 and "| labels | 5 |" in (tmp_path / "results.md").read_text()


@pytest.mark.parametrize("n_groups", [3, 4, 7])
def test_label_groups_merge_or_split_classes(n_groups):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    X = rng.normal(size=(120, 5)) + 5 * y[:, None]
    groups = LabelGroups(n_groups, random_state=0).fit(X, y).transform(X, y)
    assert len(np.unique(groups)) == n_groups
    # every group holds one class only when splitting, whole classes when merging
    for g in np.unique(groups):
        classes = np.unique(y[groups == g])
        if n_groups >= 4:
            assert len(classes) == 1
        else:
            assert np.isin(y, classes).sum() == (groups == g).sum()
