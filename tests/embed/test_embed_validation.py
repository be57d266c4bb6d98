"""Bad input and bad parameters give clear errors; sklearn conventions hold."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphmoe.embed import DMVAE, VAE, AutoEncoder, VaDE

FAST = dict(epochs=2, pretrain_epochs=1, hidden_dims=(8,), init="gmm", random_state=0)
ESTIMATORS = [AutoEncoder, VAE, VaDE, DMVAE]


def _make(cls, **kw):
    params = {k: v for k, v in {**FAST, **kw}.items() if k in cls().get_params()}
    if "n_clusters" in cls().get_params():
        params.setdefault("n_clusters", 2)
    return cls(n_components=2, **params)


@pytest.fixture
def X01(rng):
    return rng.uniform(size=(40, 5))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_rejects_bad_input(cls, bad_input):
    bad, err, match = bad_input
    with pytest.raises(err, match=match):
        _make(cls).fit(bad)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_transform_checks_feature_count_and_range(cls, X01):
    model = _make(cls).fit(X01)
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 5 features"):
        model.transform(X01[:, :4])
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs data in \[0, 1\]"):
        model.transform(X01 + 2.0)
    with pytest.raises(ValueError, match="codes has 3 features"):
        model.inverse_transform(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bernoulli_rejects_data_outside_unit_interval(cls, X01):
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\].*likelihood='gaussian'"):
        _make(cls, likelihood="bernoulli").fit(X01 * 3 - 1)


@pytest.mark.parametrize("param, value", [
    ("n_components", 0), ("epochs", 0), ("learning_rate", -1.0), ("likelihood", "poisson"),
    ("validation_fraction", 1.0), ("graph_weight", -0.5), ("device", "tpu"),
])
def test_bad_parameters_raise_at_fit(param, value, X01):
    model = AutoEncoder(**{param: value})  # __init__ only stores
    assert model.get_params()[param] == value
    with pytest.raises(ValueError, match=param):
        model.fit(X01)


def test_unfitted_transform_raises(X01):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        VAE().transform(X01)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_clone_and_params_roundtrip(cls, X01):
    model = _make(cls, graph_weight=0.5)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    twin.set_params(n_components=3)
    assert twin.fit(X01).transform(X01).shape == (40, 3)
    assert not hasattr(model, "module_")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_same_random_state_same_codes(cls, X01):
    a = _make(cls, graph_weight=1.0, n_neighbors=3).fit_transform(X01)
    b = _make(cls, graph_weight=1.0, n_neighbors=3).fit_transform(X01)
    c = _make(cls, graph_weight=1.0, n_neighbors=3, random_state=1).fit_transform(X01)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_state_alone(X01):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    AutoEncoder(epochs=1, num_threads=1, random_state=0).fit(X01)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


class _ExplodingAutoEncoder(AutoEncoder):
    """Returns a NaN loss from the 9th minibatch on (after one clean epoch)."""

    def _loss(self, x, x_pos):
        self._calls = getattr(self, "_calls", 0) + 1
        loss, terms = super()._loss(x, x_pos)
        return (loss * np.nan if self._calls > 8 else loss), terms


def test_nan_loss_stops_and_keeps_last_good_weights(rng, tmp_path):
    import torch

    X = rng.uniform(size=(256, 5))
    model = _ExplodingAutoEncoder(epochs=5, batch_size=32, validation_fraction=0.0,
                                  hidden_dims=(8,), random_state=0, checkpoint_dir=tmp_path,
                                  checkpoint_every=1)
    with pytest.raises(FloatingPointError, match="diverged \\(loss nan\\).*learning_rate"):
        model.fit(X)
    assert not hasattr(model, "module_")  # all or nothing: the failed fit left no model
    # the last good weights (after the one clean epoch) are in the checkpoint
    state = torch.load(tmp_path / "_ExplodingAutoEncoder.ckpt", weights_only=True)
    assert state["loop"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_cuda_request_without_gpu_is_clear(X01):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA device"):
        AutoEncoder(device="cuda").fit(X01)


def _tiny(cls):
    params = dict(n_components=2, epochs=2, hidden_dims=(8,), n_neighbors=3, num_threads=1,
                  random_state=0)
    if cls in (VaDE, DMVAE):
        params.update(n_clusters=2, pretrain_epochs=1, init="gmm")
    return cls(**params)


@parametrize_with_checks([_tiny(cls) for cls in ESTIMATORS])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
