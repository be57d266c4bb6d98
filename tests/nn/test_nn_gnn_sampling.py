"""GNN experts on graphs too big for one batch: NeighborLoader-style neighbour sampling."""
import numpy as np
import pytest
import torch

from graphmoe.moe import GraphMoE
from graphmoe.moe.training import MoEData, predict_batches, train_epochs
from graphmoe.nn.experts import GNNExpert, NeighborhoodContext
from graphmoe.nn.gates.base import Gate


def _knn_graph(n=120, d=3, k=8, seed=0):
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    ind = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)[1][:, 1:]
    return torch.as_tensor(X), torch.as_tensor(ind)


def test_sampled_subgraph_keeps_fanout_edges_of_the_full_one():
    x, knn = _knn_graph()
    ctx = NeighborhoodContext(x, knn)
    targets = torch.arange(10)
    full_x, full_e, _ = ctx.subgraph(x[targets], knn[targets], hops=2)
    torch.manual_seed(0)
    x_s, e_s, r = ctx.subgraph(x[targets], knn[targets], hops=2, num_neighbors=(3, 2))
    assert ctx.n_sampled == 1 and r == 10
    into_targets = e_s[1][e_s[1] < r]
    assert torch.equal(torch.bincount(into_targets, minlength=r), torch.full((r,), 3))
    assert x_s.shape[0] <= r * (1 + 3 + 3 * 2) < full_x.shape[0]
    # every sampled edge is an edge of the full neighbourhood (compared by features)
    full = {(tuple(full_x[s].tolist()), tuple(full_x[t].tolist())) for s, t in full_e.T.tolist()}
    assert all((tuple(x_s[s].tolist()), tuple(x_s[t].tolist())) in full for s, t in e_s.T.tolist())


def test_sampled_mean_aggregation_is_unbiased_for_the_full_neighbourhood():
    x, knn = _knn_graph()
    ctx = NeighborhoodContext(x, knn)
    conv = GNNExpert(3, 1, hidden_dim=4, hops=1).convs[0]  # SAGE: mean of neighbours
    targets = torch.arange(5)
    with torch.no_grad():
        full = conv(*ctx.subgraph(x[targets], knn[targets], 1)[:2])[:5]
        torch.manual_seed(0)
        draws = torch.stack([conv(*ctx.subgraph(x[targets], knn[targets], 1,
                                                num_neighbors=(2,))[:2])[:5]
                             for _ in range(150)])
    assert not torch.allclose(draws[0], full, atol=1e-3)  # one draw differs...
    torch.testing.assert_close(draws.mean(0), full, atol=0.05, rtol=0)  # ...their mean does not


def _single_expert(max_nodes, seed=0):
    torch.manual_seed(seed)
    expert = GNNExpert(3, 2, hidden_dim=16, hops=2, num_neighbors=(4, 3), max_nodes=max_nodes)
    return GraphMoE([expert], Gate(1), top_k=1, task="classification")


def _train(max_nodes, x, knn, y, seed=0):
    model = _single_expert(max_nodes, seed)
    ctx = NeighborhoodContext(x, knn)
    data = MoEData(x, x, y, torch.ones(len(x), 1), knn)
    coefs = dict.fromkeys(("expert", "load_balance", "entropy", "gate"), 0.0)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        train_epochs(model, data, context=ctx, epochs=15, batch_size=32, learning_rate=2e-2,
                     coefs=coefs, rng=np.random.RandomState(seed), history=[])
    return model, ctx, data


def test_a_small_node_budget_trains_on_sampled_neighbourhoods_and_agrees_with_full():
    x, knn = _knn_graph(n=200, d=3, k=8)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    full, full_ctx, data = _train(None, x, knn, y)
    sampled, sampled_ctx, _ = _train(60, x, knn, y)
    assert full_ctx.n_sampled == 0 and sampled_ctx.n_sampled > 0
    accs = []
    for model, ctx in ((full, full_ctx), (sampled, sampled_ctx)):
        proba = predict_batches(model, data._replace(target=None), context=ctx)[0]
        accs.append(float((proba.argmax(1) == y.numpy()).mean()))
    print(accs)
    assert min(accs) >= 0.85, accs
    assert abs(accs[0] - accs[1]) <= 0.05, accs


def test_inference_over_budget_is_exact_in_chunks():
    x, knn = _knn_graph()
    model = _single_expert(max_nodes=None).eval()
    ctx = NeighborhoodContext(x, knn)
    data = MoEData(x, x, None, torch.ones(len(x), 1), knn)
    exact = predict_batches(model, data, context=ctx)[0]
    model.experts[0].max_nodes = 40  # far below one batch's neighbourhood
    chunked = predict_batches(model, data, context=ctx)[0]
    assert ctx.n_sampled == 0
    np.testing.assert_allclose(chunked, exact, atol=1e-5)


def test_bad_sampling_arguments():
    with pytest.raises(ValueError, match="num_neighbors must be"):
        GNNExpert(2, 1, hops=2, num_neighbors=(3,))
    with pytest.raises(ValueError, match="num_neighbors must be"):
        GNNExpert(2, 1, num_neighbors=0)
    with pytest.raises(ValueError, match="max_nodes must be"):
        GNNExpert(2, 1, max_nodes=0)
