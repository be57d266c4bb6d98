"""Experts: shapes, the affine skip path, GNN permutation invariance and inductive attachment."""
import numpy as np
import pytest
import torch

from graphmoe.nn.experts import GNNExpert, MLPExpert, NeighborhoodContext, make_expert


def _random_graph(n=12, k=3, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    src = torch.randint(0, n, (n * k,), generator=g)
    dst = torch.arange(n).repeat_interleave(k)
    return x, torch.stack([src, dst])


def test_mlp_expert_fits_an_affine_map_through_its_skip_path():
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 3.0
    expert = MLPExpert(3, 1, hidden_dims=(8,))
    opt = torch.optim.Adam(expert.parameters(), lr=5e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = (expert(x) - y).pow(2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3
    assert "MLPExpert(3, 1" in repr(expert)


def test_reset_parameters_restores_a_fresh_draw():
    torch.manual_seed(0)
    expert = MLPExpert(2, 1)
    before = [p.clone() for p in expert.parameters()]
    expert.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, expert.parameters()))


@pytest.mark.parametrize("conv", ["sage", "gcn", "gat"])
@pytest.mark.parametrize("hops", [1, 2])
def test_gnn_expert_is_equivariant_to_node_permutation(conv, hops):
    torch.manual_seed(0)
    x, edge_index = _random_graph()
    expert = GNNExpert(4, 2, hidden_dim=8, hops=hops, conv=conv).eval()
    perm = torch.randperm(x.shape[0])
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm))
    out = expert(x, edge_index)
    out_perm = expert(x[perm], inverse[edge_index])
    torch.testing.assert_close(out_perm, out[perm], atol=1e-5, rtol=1e-5)


def test_gnn_expert_output_does_not_depend_on_edge_order():
    torch.manual_seed(0)
    x, edge_index = _random_graph()
    expert = GNNExpert(4, 2, hidden_dim=8, hops=2).eval()
    shuffled = edge_index[:, torch.randperm(edge_index.shape[1])]
    torch.testing.assert_close(expert(x, shuffled), expert(x, edge_index), atol=1e-5, rtol=1e-5)


def test_subgraph_attaches_queries_to_their_training_neighbours():
    rng = np.random.default_rng(0)
    train = torch.as_tensor(rng.normal(size=(20, 3)), dtype=torch.float32)
    knn = torch.as_tensor(rng.integers(0, 20, size=(20, 4)))
    ctx = NeighborhoodContext(train, knn)
    queries = torch.randn(2, 3)
    nbrs = torch.tensor([[0, 1, 2, 3], [3, 4, 5, 6]])
    x_sub, edge_index, r = ctx.subgraph(queries, nbrs, hops=1)
    assert r == 2
    torch.testing.assert_close(x_sub[:2], queries)
    # every edge ends at a query and starts at the training copy of one of its neighbours
    for s, t in edge_index.T.tolist():
        assert t < 2
        assert any(torch.equal(x_sub[s], train[j]) for j in nbrs[t].tolist())
    assert edge_index.shape[1] == nbrs.numel()
    # two hops reach the neighbours' neighbours
    x2, e2, _ = ctx.subgraph(queries, nbrs, hops=2)
    assert x2.shape[0] > x_sub.shape[0] and e2.shape[1] > edge_index.shape[1]


def test_inductive_output_matches_for_identical_neighbourhoods():
    """A new point with a training point's features and neighbours gets its output."""
    rng = np.random.default_rng(1)
    train = torch.as_tensor(rng.normal(size=(30, 2)), dtype=torch.float32)
    knn = torch.as_tensor(rng.integers(0, 30, size=(30, 5)))
    ctx = NeighborhoodContext(train, knn)
    expert = GNNExpert(2, 1, hidden_dim=8, hops=2).eval()
    one = expert(*ctx.subgraph(train[[7]], knn[[7]], 2))
    batch = expert(*ctx.subgraph(train[[3, 7, 11]], knn[[3, 7, 11]], 2))
    torch.testing.assert_close(batch[1], one[0], atol=1e-5, rtol=1e-5)


def test_bad_expert_arguments():
    with pytest.raises(ValueError, match="expert must be"):
        make_expert("tree", 2, 1)
    with pytest.raises(ValueError, match="conv must be"):
        GNNExpert(2, 1, conv="cheb")
    with pytest.raises(ValueError, match="hops must be"):
        GNNExpert(2, 1, hops=0)
