"""One gate registry: every name builds its gate; unknown names and missing inputs are named."""
import numpy as np
import pytest

from graphmoe import GraphMoERegressor
from graphmoe.cluster import ConnectivityClustering
from graphmoe.datasets import make_pinwheel_spirals
from graphmoe.nn.gates import GATES, Gate, HierarchicalGate, gate_entry, make_gate


@pytest.fixture(scope="module")
def clustering():
    X, _ = make_pinwheel_spirals(40, n_arms=3, random_state=0)
    return ConnectivityClustering(method="mst", n_clusters=3, random_state=0).fit(X)


def test_every_registered_name_builds_its_class(clustering):
    for name in GATES:
        gate = make_gate(name, in_features=2, n_experts=3, clustering=clustering)
        assert isinstance(gate, gate_entry(name).cls) and isinstance(gate, Gate)
    hme = make_gate("graph", in_features=2, clustering=clustering, hierarchical=True)
    assert isinstance(hme, HierarchicalGate) and hme.n_experts == 3


def test_unknown_gate_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown gate 'nearest'; choose one of graph, dmvae"):
        make_gate("nearest", in_features=2, n_experts=3)


def test_missing_inputs_are_named(clustering):
    with pytest.raises(ValueError, match="gate='kmeans' needs n_experts"):
        make_gate("kmeans", in_features=2)
    with pytest.raises(ValueError, match="hierarchical=True needs gate='graph'"):
        make_gate("dmvae", in_features=2, n_experts=3, clustering=clustering, hierarchical=True)
    assert [n for n in GATES if gate_entry(n).cls.needs_groups] == ["labels", "oracle"]
    gate = make_gate("labels", in_features=2)
    with pytest.raises(ValueError, match="LabelsGate needs group labels"):
        gate.fit(np.zeros((5, 2)))


def test_estimators_accept_exactly_the_registered_names():
    X, _ = make_pinwheel_spirals(20, n_arms=2, random_state=0)
    with pytest.raises(ValueError, match="gate"):
        GraphMoERegressor(gate="nearest").fit(X, X[:, 0])
