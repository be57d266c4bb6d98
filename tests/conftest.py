"""Shared test settings: one torch thread, quiet plots, no skipped estimator checks.

The test networks are tiny: on CI's two cores more torch threads only add
synchronisation and contention (about 10x slower under load).
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
# sklearn's array-API estimator checks run only with this set (before scipy loads),
# so no estimator check is skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch-free parts of the suite still run
        pass


@pytest.fixture
def rng():
    return np.random.default_rng(0)


#: (X, error type, message fragment) that every estimator's ``fit`` must reject clearly.
BAD_INPUTS = [
    (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), ValueError, "NaN"),
    (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), ValueError, "infinity"),
    (np.zeros((0, 3)), ValueError, "0 sample"),
    (np.zeros((1, 3)), ValueError, "1 sample"),
    (np.arange(5.0), ValueError, "2-D"),
    (np.zeros((4, 2, 2)), ValueError, "2-D"),
    (np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object), TypeError, "numbers"),
    (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), TypeError, "numbers"),
    # squared distances overflow / underflow float64: refused, never silently wrong
    (np.array([[0.0, 1e200], [1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), ValueError, "Rescale X"),
    (np.array([[0.0, 1e-300], [1e-300, 2e-300], [3e-300, 0.0], [1e-300, 1e-300]]),
     ValueError, "Rescale X"),
]


@pytest.fixture(params=BAD_INPUTS,
                ids=["nan", "inf", "empty", "one-row", "1d", "3d", "object", "strings",
                     "huge", "tiny"])
def bad_input(request):
    """One bad ``X`` with the error type and message fragment ``fit`` must raise."""
    return request.param
