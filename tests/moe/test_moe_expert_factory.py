"""The expert factory (``expert_params``) and hierarchical (parent + child) experts."""
import numpy as np
import pytest
import torch
from torch import nn

import graphmoe
from graphmoe import GraphMoEClassifier, GraphMoERegressor, datasets
from graphmoe.moe._build import parent_groups
from graphmoe.nn.experts import MLPExpert, ResidualExpert

FAST = dict(n_experts=4, epochs=3, random_state=0, num_threads=1)


@pytest.fixture(scope="module")
def pinwheel():
    X, arm = datasets.make_pinwheel_spirals(60, n_arms=4, random_state=0)
    return X, datasets.make_affine_targets(X, arm, random_state=0)


def test_expert_params_dict_reaches_the_expert_class(pinwheel):
    X, y = pinwheel
    m = GraphMoERegressor(expert_params={"skip": False, "hidden_dims": (6, 3, 6)},
                          **FAST).fit(X, y)
    for expert in m.experts_:
        assert expert.skip is None and expert.hidden_dims == (6, 3, 6)


def test_expert_params_callable_builds_every_expert(pinwheel):
    X, y = pinwheel
    sizes = []

    def factory(d_in, d_out):
        sizes.append((d_in, d_out))
        return nn.Sequential(nn.Linear(d_in, 4), nn.Tanh(), nn.Linear(4, d_out))

    m = GraphMoERegressor(expert_params=factory, **FAST).fit(X, y)
    assert all(isinstance(e, nn.Sequential) for e in m.experts_)
    assert sizes == [(2, 1)] * m.n_experts_
    assert np.isfinite(m.predict(X)).all()


def test_expert_params_callable_must_return_a_module(pinwheel):
    X, y = pinwheel
    with pytest.raises(TypeError, match="expert_params must return a torch.nn.Module"):
        GraphMoERegressor(expert_params=lambda d_in, d_out: "mlp", **FAST).fit(X, y)


def test_parent_groups_pair_siblings():
    from graphmoe.nn.gates.hierarchical import expert_tree

    X, _ = datasets.make_pinwheel_spirals(40, n_arms=4, random_state=0)
    cc = graphmoe.ConnectivityClustering(method="mst", n_clusters=4, random_state=0).fit(X)
    h = cc.hierarchy_
    leaves = np.asarray(h.cluster_nodes)
    group = parent_groups(h, leaves)
    internal, _ = expert_tree(h, leaves)
    assert (group >= 0).any()
    for g in np.unique(group[group >= 0]):
        node = internal[g][0]
        inside = np.flatnonzero(group == g)
        assert len(inside) >= 2
        assert all(h.is_ancestor(node, int(leaves[e])) for e in inside)


def test_parent_experts_share_one_parent_module(pinwheel):
    X, y = pinwheel
    m = GraphMoERegressor(parent_experts=True, **FAST).fit(X, y)
    residual = [e for e in m.experts_ if isinstance(e, ResidualExpert)]
    assert residual, "the MST tree of 4 arms has sibling clusters"
    parents = {id(e.parent) for e in residual}
    assert len(parents) < len(residual)  # at least two children share their parent
    n_unique = sum(p.numel() for p in m.module_.parameters())
    n_flat = sum(p.numel() for p in GraphMoERegressor(**FAST).fit(X, y).module_.parameters())
    assert n_unique == n_flat + len(parents) * sum(
        p.numel() for p in MLPExpert(2, 1).parameters())
    assert np.mean((m.predict(X) - y) ** 2) < np.var(y)


def test_parent_experts_need_mlp_experts(pinwheel):
    X, y = pinwheel
    with pytest.raises(ValueError, match="parent_experts=True needs expert='mlp'"):
        GraphMoERegressor(parent_experts=True, expert="gnn", **FAST).fit(X, y)


def test_parent_experts_round_trip(tmp_path, pinwheel):
    X, y = pinwheel
    m = GraphMoEClassifier(parent_experts=True, **FAST).fit(X, (y > np.median(y)).astype(int))
    graphmoe.save(m, tmp_path / "m.gmoe")
    back = graphmoe.load(tmp_path / "m.gmoe")
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))


def test_residual_expert_starts_as_the_affine_fit():
    torch.manual_seed(0)
    e = ResidualExpert(MLPExpert(3, 2), MLPExpert(3, 2))
    W, b = torch.randn(2, 3), torch.randn(2)
    e.init_linear(W, b)
    x = torch.randn(5, 3)
    torch.testing.assert_close(e(x), x @ W.T + b)
