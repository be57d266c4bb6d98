"""Shared test settings: few threads (CI has 2 cores), quiet plots."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:  # torch-free parts of the suite still run
        pass


@pytest.fixture
def rng():
    return np.random.default_rng(0)
