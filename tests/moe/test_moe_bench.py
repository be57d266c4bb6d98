"""The MoE benchmark's bookkeeping: equal parameter budgets and the target checks."""
import numpy as np
import pandas as pd
import pytest

from graphmoe.bench.moe import check_targets, dense_hidden_width, summarize
from graphmoe.nn.experts import MLPExpert


def _n(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("n_experts, d_in, d_out", [(5, 2, 1), (10, 64, 10), (10, 784, 10)])
def test_dense_baseline_matches_the_mixture_parameter_count(n_experts, d_in, d_out):
    budget = n_experts * _n(MLPExpert(d_in, d_out, (32, 32)))
    h = dense_hidden_width(n_experts, d_in, d_out)
    dense = _n(MLPExpert(d_in, d_out, (h, h)))
    assert abs(dense - budget) / budget < 0.05


def test_summary_and_targets_from_results():
    rows = []
    for seed, scale in enumerate([1.0, 1.2, 0.8]):
        for method, mse in [("graphmoe", 0.01), ("softmax", 1.0), ("kmeans", 0.5),
                            ("oracle", 0.005)]:
            rows.append({"task": "interleaved", "method": method, "seed": seed, "status": "ok",
                         "metric": "mse", "score": mse * scale, "n_experts": 5,
                         "n_params": 100, "fit_s": 1.0, "cpu_s": 0.9})
    rows.append({"task": "interleaved", "method": "gmm", "seed": 0, "status": "failed"})
    summary = summarize(pd.DataFrame(rows))
    assert set(summary["method"]) == {"graphmoe", "softmax", "kmeans", "oracle"}
    g = summary.set_index("method").loc["graphmoe"]
    assert np.isclose(g["mean"], 0.01) and g["runs"] == 3 and g["sd"] > 0
    targets = check_targets(summary).set_index("claim")
    assert targets.loc["graphmoe MSE / softmax MSE", "met"]          # 0.01 <= 1/20
    assert not targets.loc["graphmoe MSE / kmeans MSE", "met"]       # 0.02 > 1/100
    assert targets.loc["graphmoe MSE / oracle MSE", "met"]           # 2 <= 10


def test_mixture_parameters_count_the_default_classifiers_experts():
    from graphmoe import GraphMoEClassifier, datasets
    from graphmoe.bench.moe import mixture_parameters

    X, arm = datasets.make_pinwheel_spirals(40, n_arms=3, random_state=0)
    m = GraphMoEClassifier(n_experts=3, epochs=1, random_state=0, num_threads=1).fit(X, arm)
    assert m.n_experts_ == 3
    assert mixture_parameters("classification", 3, 2, 3) == _n(m.experts_)
