"""Both estimators pass scikit-learn's estimator checks, with no check skipped."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphmoe.moe import GraphMoEClassifier, GraphMoERegressor

# few epochs keep the ~50 checks per estimator fast; enough for the checks' own quality floors
ESTIMATORS = [
    GraphMoERegressor(epochs=30, random_state=0, num_threads=1),
    GraphMoERegressor(gate="softmax", n_experts=2, epochs=30, random_state=0, num_threads=1),
    GraphMoEClassifier(epochs=30, random_state=0, unlabeled=None, num_threads=1),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
