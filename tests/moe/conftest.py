"""One torch thread for these tests: the networks are tiny, and with the two shared CI
cores more threads only add contention (a 10x slowdown under load)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
