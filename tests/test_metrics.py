import numpy as np
import pytest

from graphmoe.metrics import clustering_accuracy, hungarian_match, score_partition


def test_accuracy_invariant_to_label_permutation():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert clustering_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert clustering_accuracy(y, np.array([2, 2, 0, 1, 1, 1])) == pytest.approx(5 / 6)
    assert hungarian_match(y, np.array([5, 5, 7, 7, 9, 9])) == {5: 0, 7: 1, 9: 2}


def test_score_partition_ignores_noise_and_takes_best_reference():
    pred = np.array([0, 0, 1, 1, 1])
    ref_bad = np.array([1, 2, 1, 2, 1])
    ref_good = np.array([1, 1, 2, 2, 0])  # last point is noise (label 0)
    s = score_partition(pred, [ref_bad, ref_good], noise_label=0)
    assert s["ari"] == pytest.approx(1.0) and s["acc"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        score_partition(pred, np.array([1, 2]))
