"""Model files written by graphmoe 0.1 load and predict as they did then.

The files in ``tests/data/models_0_1`` were written by the 0.1 release (how:
``make_files.py`` there); ``expected.npz`` holds what each model answered then
on the same query rows. Since then the embedders' torch modules moved from
``graphmoe.embed`` to ``graphmoe.nn`` and the estimators gained parameters
(``pair_experts``, ``parent_experts``, ``expert_params``, ``halo_decay``,
``dispatch``, the DMVAE gate's ``min_weight`` and ``jitter``).
"""
from pathlib import Path

import numpy as np
import pytest

import graphmoe

DATA = Path(__file__).parent / "data" / "models_0_1"
EXPECTED = np.load(DATA / "expected.npz")

CASES = {
    "regressor_graph": "predict",
    "regressor_dmvae": "predict",
    "classifier_gnn": "predict_proba",
    "clustering": "predict",
    "ae": "transform",
    "vae": "transform",
    "vade": "transform",
    "dmvae": "transform",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_of_0_1_predicts_as_it_did(name):
    model = graphmoe.load(DATA / f"{name}.gmoe")
    got = np.asarray(getattr(model, CASES[name])(EXPECTED["Xq"]), dtype=float)
    np.testing.assert_allclose(got, EXPECTED[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_of_0_1_has_todays_parameters(name):
    from sklearn.base import clone

    model = graphmoe.load(DATA / f"{name}.gmoe")
    params = model.get_params()  # every parameter of today, also those added since
    assert repr(model) and set(clone(model).get_params()) == set(params)
    for part in ("clustering_", "gate_"):
        if hasattr(model, part) and hasattr(getattr(model, part), "get_params"):
            repr(getattr(model, part))
            clone(getattr(model, part))
    gate = getattr(model, "gate_", None)
    if gate is not None and hasattr(gate, "frozen"):
        assert gate.frozen is False and gate.patience_steps == 0  # 0.1 gates trained jointly


def test_moved_class_still_refused_outside_the_map():
    from graphmoe.persistence._allowlist import MOVED_CLASSES, resolve_class

    # every mapped class resolves to where it lives now
    for old, new in MOVED_CLASSES.items():
        cls = resolve_class(list(old))
        assert (cls.__module__, cls.__qualname__) == new
    # an unmapped name imported into an allowlisted module is still refused
    with pytest.raises(ValueError, match="imported there"):
        resolve_class(["graphmoe.embed.vae", "AutoEncoder"])


def test_loaded_old_model_can_be_refit_with_todays_defaults():
    from sklearn.base import clone

    old = graphmoe.load(DATA / "regressor_graph.gmoe")
    fresh = clone(old)
    # the 0.1 model had no pair experts; a clone takes the class's values, which
    # describe the old model, and can be fitted again
    assert fresh.get_params()["pair_experts"] is False
    X = EXPECTED["Xq"]
    fresh.set_params(epochs=2).fit(np.vstack([X, X + 0.05]), np.r_[X[:, 0], X[:, 0]])
    assert np.isfinite(fresh.predict(X)).all()
