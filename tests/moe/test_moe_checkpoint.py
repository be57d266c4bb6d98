"""Checkpoints and resume: a fit killed mid-way and resumed ends where an uninterrupted one does."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from graphmoe import GraphMoEClassifier, GraphMoERegressor, datasets
from graphmoe import _checkpoint as ckpt
from graphmoe.embed import AutoEncoder
from graphmoe.moe import _base

REPO = Path(__file__).resolve().parents[2]


def _data():
    X, arm = datasets.make_pinwheel_spirals(40, n_arms=3, random_state=0)
    return X, datasets.make_affine_targets(X, arm, random_state=0)


def _killed(folder):
    """The fit a child process runs and is killed in: an embedder, then the MoE epochs."""
    embedder = AutoEncoder(n_components=2, hidden_dims=(16,), epochs=20, graph_weight=0.0,
                           random_state=0)
    return GraphMoERegressor(embedder=embedder, gate="softmax", n_experts=3, epochs=40,
                             batch_size=32, num_threads=1, random_state=0,
                             checkpoint_dir=folder, checkpoint_every=1)


_CHILD = """
import sys
from graphmoe import GraphMoERegressor, datasets
from graphmoe.embed import AutoEncoder
X, arm = datasets.make_pinwheel_spirals(40, n_arms=3, random_state=0)
y = datasets.make_affine_targets(X, arm, random_state=0)
eval(sys.argv[1]).fit(X, y)
"""


def _run_and_kill(est, path, timeout=60.0):
    """Start a process fitting ``est``; SIGKILL it once ``path`` appears. Returns the state."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, repr(est)], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not os.path.exists(path):
            if child.poll() is not None:
                pytest.fail(f"the child ended before a checkpoint: {child.stderr.read()!r}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint appeared in time")
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return torch.load(path, weights_only=True)


def test_fit_killed_mid_way_resumes_to_the_uninterrupted_result(tmp_path):
    X, y = _data()
    model = _killed(str(tmp_path))
    state = _run_and_kill(model, ckpt.checkpoint_path(tmp_path, model))
    assert state["done"] + state["epoch"] < 40  # the kill landed mid-fit
    embedder_state = torch.load(tmp_path / "AutoEncoder.ckpt", weights_only=True)
    assert embedder_state["loop"]["finished"]
    model.fit(X, y, resume=tmp_path)
    reference = _killed(None).fit(X, y)
    diff = np.abs(model.predict(X) - reference.predict(X)).max()
    assert diff <= 1e-12, diff  # measured: 0.0 (bit for bit)
    assert len(model.history_) == len(reference.history_)


@pytest.mark.parametrize("stop_after", [1, 2, 4])
@pytest.mark.parametrize("params", [
    {"gate": "dmvae", "recluster_every": 3, "gate_params": {"distill_epochs": 5}},
    {"gate": "dmvae", "recluster_every": 3, "parent_experts": True,
     "gate_params": {"distill_epochs": 5}},
    {"gate": "dmvae", "recluster_every": 3,
     "gate_params": {"distill_epochs": 5, "joint": False}},
    {"gate": "softmax", "n_experts": 3}, {"expert": "gnn"},
    {"embedder": AutoEncoder(n_components=2, hidden_dims=(8,), epochs=5, random_state=0)},
])
def test_resume_after_interrupt_matches_uninterrupted(params, stop_after, tmp_path,
                                                      monkeypatch):
    X, y = _data()
    kw = {"epochs": 8, "random_state": 0, **params}
    reference = GraphMoERegressor(**kw).fit(X, y)
    real_save, saves = ckpt.save_checkpoint, []

    def save_then_interrupt(state, path):
        real_save(state, path)
        saves.append(path)
        if path.endswith("GraphMoERegressor.ckpt") and \
                sum(p.endswith("GraphMoERegressor.ckpt") for p in saves) == stop_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(_base.ckpt, "save_checkpoint", save_then_interrupt)
    model = GraphMoERegressor(**kw, checkpoint_dir=tmp_path, checkpoint_every=2)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert not hasattr(model, "module_")
    monkeypatch.undo()
    model.fit(X, y, resume=tmp_path)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    assert [h["event"] for h in model.history_] == [h["event"] for h in reference.history_]


def test_classifier_checkpoint_and_resume_from_file(tmp_path):
    X, y = _data()
    labels = (y > np.median(y)).astype(int)
    kw = {"epochs": 6, "random_state": 0}
    reference = GraphMoEClassifier(**kw).fit(X, labels)
    model = GraphMoEClassifier(**kw, checkpoint_dir=tmp_path, checkpoint_every=4).fit(X, labels)
    path = tmp_path / "GraphMoEClassifier.ckpt"
    state = torch.load(path, weights_only=True)  # plain tensors: loads without pickle
    assert state["done"] + state["epoch"] == 6
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))
    again = GraphMoEClassifier(**kw).fit(X, labels, resume=path)
    np.testing.assert_array_equal(again.predict_proba(X), reference.predict_proba(X))
    assert sorted(os.listdir(tmp_path)) == ["GraphMoEClassifier.ckpt"]  # no temporary left


@pytest.mark.parametrize("change, match", [
    ({"epochs": 5}, "other parameters"),
    ({"data": True}, "other training data"),
    ({"random_state": None}, "integer random_state"),
])
def test_resume_refuses_a_mismatching_checkpoint(tmp_path, change, match):
    X, y = _data()
    kw = {"epochs": 4, "random_state": 0, "gate": "softmax", "n_experts": 2}
    GraphMoERegressor(**kw, checkpoint_dir=tmp_path).fit(X, y)
    if change.pop("data", False):
        y = y[::-1].copy()
    model = GraphMoERegressor(**{**kw, **change})
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, resume=tmp_path)
    assert not hasattr(model, "n_features_in_")


def test_resume_never_unpickles(tmp_path):
    X, y = _data()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "GraphMoERegressor.ckpt"
    torch.save({"meta": Exploit()}, path)
    with pytest.raises(ValueError, match="not a readable graphmoe checkpoint"):
        GraphMoERegressor(random_state=0).fit(X, y, resume=path)
    assert not marker.exists()
    path.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="not a readable graphmoe checkpoint"):
        GraphMoERegressor(random_state=0).fit(X, y, resume=path)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        GraphMoERegressor(random_state=0).fit(X, y, resume=tmp_path / "missing.ckpt")


def test_resume_from_a_folder_without_checkpoint_starts_afresh(tmp_path):
    X, y = _data()
    kw = {"epochs": 3, "random_state": 0, "gate": "softmax", "n_experts": 2}
    fresh = GraphMoERegressor(**kw).fit(X, y, resume=tmp_path)
    np.testing.assert_array_equal(fresh.predict(X), GraphMoERegressor(**kw).fit(X, y).predict(X))


def test_interrupted_checkpoint_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "a.ckpt"
    ckpt.save_checkpoint({"x": torch.ones(2)}, path)

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint({"x": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(2))
    assert os.listdir(tmp_path) == ["a.ckpt"]
