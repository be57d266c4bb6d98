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
