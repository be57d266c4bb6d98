"""Embedder training faults: all-or-nothing fits, resume from checkpoints, torch's global RNG."""
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from graphmoe import _checkpoint as ckpt
from graphmoe.embed import DMVAE, VAE, AutoEncoder, VaDE
from graphmoe.embed._base import BaseEmbedder

ESTIMATORS = [AutoEncoder, VAE, VaDE, DMVAE]


def _make(cls, **kw):
    params = dict(n_components=2, epochs=6, hidden_dims=(8,), n_neighbors=3, graph_weight=1.0,
                  patience=100, num_threads=1, random_state=0)
    if cls in (VaDE, DMVAE):
        params.update(n_clusters=2, pretrain_epochs=4, init="gmm")
    return cls(**{**params, **kw})


@pytest.fixture
def X(rng):
    return rng.normal(size=(60, 4))


def _assert_unfitted(model, X):
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.transform(X)
    assert vars(model).keys() == vars(_make(type(model))).keys()  # no training state left


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_diverging_fit_leaves_estimator_unfitted(cls, X):
    model = _make(cls, learning_rate=1e6)
    with pytest.raises(FloatingPointError, match=r"diverged .*learning_rate=1000000\.0"):
        model.fit(X)
    _assert_unfitted(model, X)


@pytest.mark.parametrize("cls", [VaDE, DMVAE])
@pytest.mark.parametrize("where", ["_init_mixture", "_train_epoch"])
def test_interrupted_fit_leaves_estimator_unfitted(cls, where, X, monkeypatch):
    real, calls = getattr(cls, where), []

    def interrupt(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 6 or where == "_init_mixture":  # pretraining is 4 epochs
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, where, interrupt)
    model = _make(cls)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    _assert_unfitted(model, X)


def test_failed_refit_keeps_the_previous_model(X):
    model = _make(VaDE).fit(X)
    codes, module = model.transform(X), model.module_
    with pytest.raises(FloatingPointError):
        model.set_params(learning_rate=1e6).fit(X[:, :3])
    assert model.module_ is module and model.n_features_in_ == 4
    np.testing.assert_array_equal(model.transform(X), codes)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("stop_after", [1, 2, 3])  # 3: into the main phase of VaDE/DMVAE
def test_resume_after_interrupt_matches_uninterrupted(cls, stop_after, X, tmp_path,
                                                      monkeypatch):
    reference = _make(cls).fit(X)
    real, saves = BaseEmbedder._save_checkpoint, []

    def save_then_interrupt(self, phase, loop):
        real(self, phase, loop)
        saves.append(phase)
        if len(saves) == stop_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(BaseEmbedder, "_save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _make(cls, checkpoint_dir=tmp_path, checkpoint_every=2).fit(X)
    monkeypatch.undo()
    resumed = _make(cls, checkpoint_dir=tmp_path, checkpoint_every=2).fit(X, resume=tmp_path)
    np.testing.assert_array_equal(resumed.transform(X), reference.transform(X))
    assert resumed.history_ == reference.history_
    if cls in (VaDE, DMVAE):
        np.testing.assert_array_equal(resumed.init_labels_, reference.init_labels_)
        np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))


def test_early_stopped_phase_is_not_trained_further_on_resume(X, tmp_path):
    kw = dict(patience=1, validation_fraction=0.3, epochs=40, learning_rate=0.05,
              checkpoint_dir=tmp_path)
    reference = _make(AutoEncoder, **kw).fit(X)
    assert reference.history_["train"]["n_epochs"] < 40  # it did stop early
    resumed = _make(AutoEncoder, **kw).fit(X, resume=tmp_path)  # a finished checkpoint
    assert resumed.history_ == reference.history_
    np.testing.assert_array_equal(resumed.transform(X), reference.transform(X))


def test_resume_refuses_other_data_or_class(X, tmp_path):
    _make(VAE, checkpoint_dir=tmp_path).fit(X)
    with pytest.raises(ValueError, match="other training data"):
        _make(VAE).fit(X + 1.0, resume=tmp_path)
    with pytest.raises(ValueError, match="other parameters"):
        _make(VAE, n_components=3).fit(X, resume=tmp_path)
    with pytest.raises(ValueError, match="other estimator class"):
        _make(AutoEncoder).fit(X, resume=tmp_path / "VAE.ckpt")
    with pytest.raises(ValueError, match="integer random_state"):
        _make(VAE, random_state=np.random.RandomState(0)).fit(X, resume=tmp_path)


def test_checkpoint_is_plain_data_and_written_atomically(X, tmp_path):
    _make(DMVAE, checkpoint_dir=tmp_path, checkpoint_every=1).fit(X)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DMVAE.ckpt"]
    state = torch.load(tmp_path / "DMVAE.ckpt", weights_only=True)
    assert state["meta"]["format"] == ckpt.FORMAT_VERSION
    assert state["phase"] == "train" and state["loop"]["finished"]
    assert set(state["extras"]) == {"init_labels_", "temperature_"}


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_and_sample_leave_torch_global_rng_alone(cls, X):
    torch.manual_seed(7)
    state = torch.get_rng_state()
    model = _make(cls).fit(X)
    if hasattr(model, "sample"):
        model.sample(3)
        model.sample(3, random_state=0)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("cls", [VAE, DMVAE])
def test_sample_without_random_state_varies_and_with_it_repeats(cls, X):
    model = _make(cls).fit(X)
    first = np.asarray(model.sample(4)[0] if cls is DMVAE else model.sample(4))
    again = np.asarray(model.sample(4)[0] if cls is DMVAE else model.sample(4))
    assert not np.array_equal(first, again)
    a = model.sample(4, random_state=3)
    b = model.sample(4, random_state=3)
    np.testing.assert_array_equal(a[0] if cls is DMVAE else a, b[0] if cls is DMVAE else b)
