"""Training faults: NaN guard, all-or-nothing fits, torch's global RNG, clear set-up errors."""
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from graphmoe import GraphMoEClassifier, GraphMoERegressor, datasets
from graphmoe.embed import AutoEncoder
from graphmoe.moe import _base, _fitting
from graphmoe.moe.training import MoEData, train_epochs
from graphmoe.nn.gates import DMVAEGate

FAST_DMVAE = {"distill_epochs": 5}


@pytest.fixture(scope="module")
def spirals():
    X, arm = datasets.make_pinwheel_spirals(20, n_arms=3, random_state=0)
    return X, datasets.make_affine_targets(X, arm, random_state=0), arm


def _assert_unfitted(model, fresh):
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((2, 2)))
    # nothing of the training data (nor any other fitted state) stays attached
    assert vars(model).keys() == vars(fresh).keys()


@pytest.mark.parametrize("gate", ["graph", "softmax", "dmvae"])
def test_diverging_fit_raises_and_leaves_estimator_unfitted(spirals, gate):
    X, y, _ = spirals
    params = dict(learning_rate=1e6, epochs=15, gate=gate, n_experts=3, random_state=0,
                  gate_params=FAST_DMVAE if gate == "dmvae" else None)
    model = GraphMoERegressor(**params)
    with pytest.raises(FloatingPointError, match=r"diverged .*learning_rate=1000000\.0"):
        model.fit(X, y)
    _assert_unfitted(model, GraphMoERegressor(**params))


def test_train_epochs_restores_last_good_weights_on_divergence(spirals):
    X, y, _ = spirals
    model = GraphMoERegressor(epochs=2, random_state=0).fit(X, y)
    good = {k: v.clone() for k, v in model.module_.state_dict().items()}
    data = MoEData(torch.as_tensor(model.scaler_.transform(X), dtype=torch.float32),
                         torch.as_tensor(model.gate_scaler_.transform(model.scaler_.transform(X)),
                                         dtype=torch.float32),
                         torch.as_tensor(y[:, None], dtype=torch.float32),
                         torch.as_tensor(model.gate_.train_prior_, dtype=torch.float32))
    with pytest.raises(FloatingPointError, match="learning_rate=1e\\+30"):
        train_epochs(model.module_, data, context=None, epochs=3, batch_size=8,
                           learning_rate=1e30, coefs=model._coefs,
                           rng=np.random.RandomState(0), history=[])
    # the first step already overflows: the weights from before the failing epoch are back
    after = model.module_.state_dict()
    assert all(torch.equal(good[k], after[k]) for k in good)


@pytest.mark.parametrize("where", ["after a block of epochs", "gate distillation",
                                   "clustering"])
def test_interrupted_fit_leaves_estimator_unfitted(spirals, monkeypatch, where):
    X, y, _ = spirals
    params = dict(gate="dmvae", epochs=4, random_state=0, gate_params=FAST_DMVAE)
    target = {"after a block of epochs": (_fitting, "reseed_collapsed"),
              "gate distillation": (DMVAEGate, "init_priors"),
              "clustering": (_base._setup, "make_clustering")}[where]
    calls = []

    def interrupt(*args, **kwargs):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(*target, interrupt)
    model = GraphMoERegressor(**params)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert calls
    _assert_unfitted(model, GraphMoERegressor(**params))


def test_interrupt_in_the_middle_of_an_epoch(spirals, monkeypatch):
    X, y, _ = spirals
    real_forward = _base.GraphMoE.forward
    count = [0]

    def forward(self, *args, **kwargs):
        count[0] += 1
        if count[0] == 7:  # several epochs in
            raise KeyboardInterrupt
        return real_forward(self, *args, **kwargs)

    monkeypatch.setattr(_base.GraphMoE, "forward", forward)
    model = GraphMoEClassifier(epochs=10, batch_size=16, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, spirals[2])
    assert count[0] == 7
    _assert_unfitted(model, GraphMoEClassifier(epochs=10, batch_size=16, random_state=0))


def test_failed_refit_keeps_the_previous_model(spirals):
    X, y, _ = spirals
    model = GraphMoERegressor(epochs=3, random_state=0).fit(X, y)
    before = model.predict(X)
    module = model.module_
    model.set_params(learning_rate=1e6, epochs=15)
    with pytest.raises(FloatingPointError):
        model.fit(X[:, :1] * 3, y)
    assert model.module_ is module and model.n_features_in_ == 2
    np.testing.assert_array_equal(model.predict(X), before)


@pytest.mark.parametrize("params", [
    {}, {"gate": "softmax", "n_experts": 3}, {"gate": "dmvae", "gate_params": FAST_DMVAE},
    {"embedder": AutoEncoder(n_components=2, hidden_dims=(8,), epochs=3, random_state=0)},
    {"expert": "gnn"},
    {"classifier": True, "gate": "dmvae", "gate_params": FAST_DMVAE},
])
def test_fit_leaves_torch_global_rng_alone(spirals, params):
    X, y, arm = spirals
    kw = {"epochs": 3, "random_state": 0, **params}
    cls, target = ((GraphMoEClassifier, arm) if params.get("classifier")
                   else (GraphMoERegressor, y))
    kw.pop("classifier", None)
    torch.manual_seed(1)
    first = cls(**kw).fit(X, target).predict(X)
    after_1 = torch.rand(3)
    torch.manual_seed(2)
    state = torch.get_rng_state()
    second = cls(**kw).fit(X, target).predict(X)
    assert torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(torch.rand(3), after_1)  # the caller's stream continues untouched
    np.testing.assert_array_equal(first, second)  # random_state alone decides the result


def test_fit_restores_torch_threads(spirals):
    X, y, _ = spirals
    previous = torch.get_num_threads()
    GraphMoERegressor(epochs=2, num_threads=2, random_state=0).fit(X, y)
    assert torch.get_num_threads() == previous


def test_softmax_gate_without_n_experts_is_a_clear_error(spirals):
    X, y, _ = spirals
    for gate in ("softmax", "kmeans"):
        with pytest.raises(ValueError, match=f"gate='{gate}' needs n_experts"):
            GraphMoERegressor(gate=gate, epochs=2).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_a_clear_error(spirals, device):
    X, y, _ = spirals
    model = GraphMoERegressor(device=device, epochs=2)
    with pytest.raises(ValueError, match="torch finds no CUDA device"):
        model.fit(X, y)
    assert not hasattr(model, "n_features_in_")


def test_unknown_device_is_a_clear_error(spirals):
    X, y, _ = spirals
    with pytest.raises(ValueError, match="device='gpu0' is not a torch device"):
        GraphMoERegressor(device="gpu0", epochs=2).fit(X, y)
