"""The estimators take ``gate=`` from the registry as it is when they are fitted."""
import numpy as np
import pytest

from graphmoe import GraphMoERegressor
from graphmoe.nn.gates import KMeansGate, LabelsGate, register_gate
from graphmoe.nn.gates import registry


@pytest.fixture
def registered():
    added = []

    def add(name, cls, **kw):
        register_gate(name, cls, **kw)
        added.append(name)

    yield add
    for name in added:
        registry._REGISTRY.pop(name, None)


def _data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = np.r_[rng.normal(-3, 0.3, (n // 2, 2)), rng.normal(3, 0.3, (n // 2, 2))]
    return X.astype(np.float32), np.r_[np.zeros(n // 2), np.ones(n // 2)].astype(np.float32)


def test_gate_registered_after_import_is_accepted(registered):
    X, y = _data()
    with pytest.raises(ValueError, match="gate"):
        GraphMoERegressor(gate="my-kmeans", n_experts=2, epochs=2).fit(X, y)
    registered("my-kmeans", KMeansGate)
    model = GraphMoERegressor(gate="my-kmeans", n_experts=2, epochs=2, random_state=0).fit(X, y)
    assert isinstance(model.gate_, KMeansGate)
    assert np.isfinite(model.predict(X)).all()


def test_needs_groups_comes_from_the_gate_class(registered):
    X, y = _data()
    registered("my-labels", LabelsGate, build=lambda **kw: LabelsGate(), needs_n_experts=False)
    with pytest.raises(ValueError, match="needs group labels"):
        GraphMoERegressor(gate="my-labels", epochs=2).fit(X, y)
    groups = (X[:, 0] > 0).astype(int)
    model = GraphMoERegressor(gate="my-labels", epochs=2, random_state=0).fit(X, y, groups=groups)
    assert model.gate_.n_experts == 2
