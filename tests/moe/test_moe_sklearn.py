"""Both estimators pass scikit-learn's estimator checks.

One check is expected to fail now and then: ``check_methods_sample_order_invariance``
asks ``predict_proba`` of a permuted X (its permutation is unseeded) to agree within
1e-9, while the experts compute in float32, where BLAS gives a row a result that can
differ by one unit in the last place with its position in the batch (1.3e-8 on one of
60 entries, about one run in three). The same property is tested below at float32's
precision, over fixed permutations.
"""
import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphmoe.moe import GraphMoEClassifier, GraphMoERegressor

# few epochs keep the ~50 checks per estimator fast; enough for the checks' own quality floors
ESTIMATORS = [
    GraphMoERegressor(epochs=30, random_state=0, num_threads=1),
    GraphMoERegressor(gate="softmax", n_experts=2, epochs=30, random_state=0, num_threads=1),
    GraphMoEClassifier(epochs=30, random_state=0, unlabeled=None, num_threads=1),
]

FLOAT32_ORDER = ("float32 forward: a row's output moves by one unit in the last place "
                 "with its position in the batch; tested at float32 precision instead")


def _expected_failed_checks(estimator):
    if isinstance(estimator, GraphMoEClassifier):
        return {"check_methods_sample_order_invariance": FLOAT32_ORDER}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_outputs_do_not_depend_on_row_order(kind):
    if kind == "classifier":
        X, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                                   n_classes=3, random_state=0)
        model = GraphMoEClassifier(epochs=30, random_state=0, unlabeled=None, num_threads=1)
        method = "predict_proba"
    else:
        X, y = make_regression(n_samples=120, n_features=6, noise=0.1, random_state=0)
        model = GraphMoERegressor(epochs=30, random_state=0, num_threads=1)
        method = "predict"
    model.fit(X, y)
    whole = getattr(model, method)(X)
    rng = np.random.default_rng(0)
    for _ in range(5):
        idx = rng.permutation(len(X))
        permuted = getattr(model, method)(X[idx])
        scale = np.abs(whole).max()
        np.testing.assert_allclose(permuted, whole[idx], rtol=1e-5, atol=1e-6 * scale)
        np.testing.assert_array_equal(model.predict(X[idx]), model.predict(X)[idx])
