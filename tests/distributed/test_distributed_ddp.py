"""Data-parallel training: 2 gloo processes under torchrun train as one process does."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from graphmoe.distributed import World, current_world, init_from_env
from graphmoe.distributed.data_parallel import DataParallel

WORKER = Path(__file__).with_name("ddp_worker.py")
FAULT_WORKER = Path(__file__).with_name("ddp_fault_worker.py")
ROOT = Path(__file__).resolve().parents[2]

#: relative tolerance of the 2-process curves and predictions against one process: the
#: math is the same, only the order of float32 sums differs (measured: ~1e-7)
RTOL = 1e-4


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def _worker():
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gloo_missing():
    if not torch.distributed.is_available():
        return "this torch build has no torch.distributed"
    if not torch.distributed.is_gloo_available():
        return "this torch build has no gloo backend"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_gloo_missing() is not None, reason=str(_gloo_missing()))
def test_two_processes_match_one(tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    # --standalone: the rendezvous takes a free local port. One-process reference: same
    # seed, same global batches; the 2 ranks split each batch (uneven last batches too).
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
              "--nproc_per_node", "2", str(WORKER), str(two)]
    proc = subprocess.Popen(launch, env=_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:  # the one-process reference runs here meanwhile
        _worker().main(str(one))
        out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("torchrun did not finish in 240 s")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    a, b = np.load(one), np.load(two)
    assert int(a["world"]) == 1 and int(b["world"]) == 2
    np.testing.assert_array_equal(a["graph_labels"], b["graph_labels"])
    for key in ("ae_train", "ae_val", "ae_Z", "moe_loss", "moe_balance", "moe_pred",
                "graph_loss", "graph_pred"):
        scale = np.abs(a[key]).max()
        np.testing.assert_allclose(b[key], a[key], rtol=RTOL, atol=RTOL * scale, err_msg=key)
    # the curves move: a loop that did nothing would match trivially
    assert a["ae_train"][-1] < a["ae_train"][0]
    assert a["moe_loss"][-1] < a["moe_loss"][0]


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(_gloo_missing() is not None, reason=str(_gloo_missing()))
@pytest.mark.parametrize("fault, messages", [
    ("clustering", ("ValueError: clustering failed on purpose",
                    "RuntimeError: the clustering fit on rank 0 failed")),
    ("nan-routing", ("diverged (NaN routing)", "diverged (NaN routing)")),
])
def test_a_failure_on_one_rank_stops_every_rank(tmp_path, fault, messages):
    # the two ranks are started by hand, with torchrun's environment, because torchrun
    # kills the other ranks as soon as one fails: here each must stop on its own
    env = dict(_env(), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    procs = [subprocess.Popen([sys.executable, str(FAULT_WORKER), fault],
                              env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank)), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in (0, 1)]
    outs = []
    try:
        for proc in procs:
            outs.append(proc.communicate(timeout=180)[0])
    except subprocess.TimeoutExpired:
        pytest.fail(f"{fault}: a rank hung instead of stopping")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for rank, (proc, out, message) in enumerate(zip(procs, outs, messages)):
        assert proc.returncode != 0 and "fit returned" not in out, (rank, out[-3000:])
        assert message in out, (rank, out[-3000:])


def test_outside_torchrun_nothing_is_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert current_world() == World() and init_from_env() == World()
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("GRAPHMOE_DISTRIBUTED", "0")  # the opt-out wins over torchrun's env
    assert init_from_env() == World()
    module = torch.nn.Linear(2, 1)
    par = DataParallel(module)
    assert par.module is module and par.is_main
    idx = np.arange(7)
    rows, n = par.shard(idx)
    assert n == 7 and rows is idx
    loss = module(torch.ones(3, 2)).mean()
    means, extra = par.global_means({"loss": loss}, {"loss": 3})
    assert means["loss"] is loss and extra is None


def test_bad_world_size_is_named(monkeypatch):
    monkeypatch.delenv("GRAPHMOE_DISTRIBUTED", raising=False)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE='two' is not an integer"):
        init_from_env()


def test_shards_cover_the_batch_once():
    idx = np.arange(10, 17)  # 7 rows over 3 ranks: 3 + 2 + 2
    shares = []
    for rank in range(3):
        par = DataParallel.__new__(DataParallel)
        par.world = World(rank, 3)
        shares.append(par.shard(idx))
    assert sorted(np.concatenate([r[:n] for r, n in shares]).tolist()) == idx.tolist()
    assert [n for _, n in shares] == [3, 2, 2]
    par = DataParallel.__new__(DataParallel)
    par.world = World(4, 5)
    rows, n = par.shard(np.arange(3))  # a rank past the batch borrows a row at weight 0
    assert n == 0 and len(rows) == 1


def test_ranks_with_different_rows_are_refused():
    class TwoRanks(DataParallel):
        def __init__(self, other_rows):
            self.world, self.other_rows = World(0, 2), other_rows

        def all_sum(self, values):  # the other rank's share of the all-reduce
            n = self.other_rows
            return torch.as_tensor(values, dtype=torch.float64) + torch.tensor([n, n * n])

    TwoRanks(100).check_same_rows(100)
    with pytest.raises(ValueError, match="needs the same X on every rank.*this rank 100"):
        TwoRanks(90).check_same_rows(100)
