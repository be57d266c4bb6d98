"""The throughput benchmark: its dense anchor, its tables and its CLI entry."""
import numpy as np
import pytest
import torch

from graphmoe.bench.throughput import DenseSoftmaxMoE, load_task, run_latency, run_throughput
from graphmoe.moe import GraphMoE
from graphmoe.nn.experts import MLPExpert
from graphmoe.nn.gates import SoftmaxGate


def test_dense_anchor_has_the_size_of_the_softmax_moe_and_outputs_probabilities():
    torch.manual_seed(0)
    dense = DenseSoftmaxMoE(64, 10, n_experts=6, hidden_dims=(32, 16))
    moe = GraphMoE([MLPExpert(64, 10, hidden_dims=(32, 16)) for _ in range(6)],
                   SoftmaxGate(64, 6), task="classification")
    assert sum(p.numel() for p in dense.parameters()) == sum(p.numel() for p in moe.parameters())
    proba = dense(torch.randn(9, 64))
    assert proba.shape == (9, 10)
    torch.testing.assert_close(proba.sum(1), torch.ones(9))


def test_dense_anchor_equals_its_experts_run_one_by_one():
    """The stacked-weight experts are the MLPExpert computation (weights copied across)."""
    torch.manual_seed(0)
    dense = DenseSoftmaxMoE(5, 3, n_experts=2, hidden_dims=(4,))
    experts = [MLPExpert(5, 3, hidden_dims=(4,)) for _ in range(2)]
    with torch.no_grad():
        for e, ex in enumerate(experts):
            for layer, w, b in ((ex.body[0], dense.weights[0], dense.biases[0]),
                                (ex.body[2], dense.weights[1], dense.biases[1]),
                                (ex.skip, dense.skip_weight, dense.skip_bias)):
                layer.weight.copy_(w[e].T)
                layer.bias.copy_(b[e, 0])
        x = torch.randn(7, 5)
        gate = torch.softmax(dense.gate(x), -1)
        expected = sum(gate[:, e, None] * torch.softmax(ex(x), -1) for e, ex in enumerate(experts))
        torch.testing.assert_close(dense(x), expected)


def test_throughput_table_has_both_references_timed_on_the_same_data():
    table = run_throughput(("digits",), ("softmax",), n_experts=3, epochs=1, rounds=1,
                           hidden_dims=(8,), verbose=False)
    assert list(table["method"]) == ["graphmoe-softmax", "dense-softmax"]
    assert (table["n"] == len(load_task("digits")[1])).all()
    assert table["params"].nunique() == 1  # equal sizes
    assert (table["samples_per_s"] > 0).all()
    np.testing.assert_allclose(table.loc[0, "vs_softmax"], 1.0)
    np.testing.assert_allclose(table.loc[1, "vs_dense"], 1.0)


def test_latency_table_times_route_and_predict_per_batch_size():
    table = run_latency(("softmax",), (1, 5), n_experts=3, n_train=300, verbose=False)
    assert set(zip(table["call"], table["batch"])) == {("route", 1), ("route", 5),
                                                       ("predict", 1), ("predict", 5)}
    assert (table["ms"] > 0).all()


def test_bad_task_name():
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_task("mnist")


def test_cli_knows_the_throughput_benchmark():
    from graphmoe.cli import build_parser

    args = build_parser().parse_args(["bench", "throughput", "--datasets", "digits",
                                      "--gates", "graph", "--no-latency"])
    assert (args.what, args.datasets, args.gates, args.no_latency) == \
        ("throughput", ["digits"], ["graph"], True)
