"""Kill fits mid-way, resume them, and compare with uninterrupted fits.

For every estimator below a child process fits with ``checkpoint_every=1``
and is killed (SIGKILL) once its checkpoint is past half of the main training
phase (for the DMVAE gate: after its first re-clustering); the parent resumes
from that folder and compares its predictions (or codes) with an
uninterrupted fit of the same seed. It also times the fit with and without
checkpoints. Prints a Markdown table.

    python benchmarks/resume_check.py            # ~5-10 min on two busy cores
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from graphmoe import GraphMoEClassifier, GraphMoERegressor, _checkpoint, datasets  # noqa: F401
from graphmoe.embed import DMVAE, VAE, AutoEncoder, VaDE  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
DATA = """
import numpy as np
from graphmoe import GraphMoEClassifier, GraphMoERegressor, datasets
from graphmoe.embed import DMVAE, VAE, AutoEncoder, VaDE
X, arm = datasets.make_pinwheel_spirals(200, random_state=0)
y = datasets.make_affine_targets(X, arm, random_state=0)
"""
CASES = [  # (label, constructor source, target: "y" | "arm" | None)
    ("GraphMoERegressor, graph gate",
     "GraphMoERegressor(epochs=60, random_state=0, num_threads=1)", "y"),
    ("GraphMoERegressor, dmvae gate, recluster_every=20",
     "GraphMoERegressor(gate='dmvae', recluster_every=20, epochs=60, "
     "gate_params={'distill_epochs': 20}, random_state=0, num_threads=1)", "y"),
    ("GraphMoERegressor, AE embedder + softmax gate",
     "GraphMoERegressor(embedder=AutoEncoder(n_components=2, epochs=30, random_state=0), "
     "gate='softmax', n_experts=5, epochs=60, random_state=0, num_threads=1)", "y"),
    ("GraphMoEClassifier, graph gate, gnn experts",
     "GraphMoEClassifier(expert='gnn', epochs=40, random_state=0, num_threads=1)", "arm"),
    ("AutoEncoder", "AutoEncoder(n_components=2, epochs=60, patience=1000, random_state=0, "
     "num_threads=1)", None),
    ("VAE", "VAE(n_components=2, epochs=60, patience=1000, random_state=0, num_threads=1)",
     None),
    ("VaDE", "VaDE(n_clusters=5, n_components=2, pretrain_epochs=30, epochs=40, "
     "patience=1000, random_state=0, num_threads=1)", None),
    ("DMVAE", "DMVAE(n_clusters=5, n_components=2, pretrain_epochs=30, epochs=40, "
     "patience=1000, random_state=0, num_threads=1)", None),
]


def _make(source, folder):
    est = eval(source)
    return est.set_params(checkpoint_dir=folder, checkpoint_every=1) if folder else est


def _fit(est, X, y, arm, target, **kw):
    t0 = time.perf_counter()
    est.fit(X, {"y": y, "arm": arm, None: None}[target], **kw) if target else est.fit(X, **kw)
    return time.perf_counter() - t0


def _output(est, X):
    return est.predict(X) if isinstance(est, GraphMoERegressor) else (
        est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X))


def _progress(state):
    """(phase, epochs done in it) of a checkpoint; the MoE has a single phase."""
    if "phase" in state:
        return state["phase"], int(state["loop"]["epoch"])
    return "train", int(state["done"] + state["epoch"])


def _kill_mid_way(source, target, folder, path, epochs):
    """SIGKILL the child once its checkpoint is past half of the main phase."""
    fit = f"est.fit(X, {target})" if target else "est.fit(X)"
    code = DATA + f"est = {source}.set_params(checkpoint_dir={folder!r}, checkpoint_every=1)\n"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", code + fit], env=env, cwd=REPO)
    while True:
        if child.poll() is not None:
            raise RuntimeError("the child ended before it was killed")
        if os.path.exists(path):
            # os.replace swaps files atomically: an open handle reads one whole checkpoint
            phase, done = _progress(torch.load(path, weights_only=True))
            if phase == "train" and done >= epochs // 2:
                break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    phase, done = _progress(torch.load(path, weights_only=True))
    return f"{phase} epoch {done} of {epochs}"


def main():
    torch.set_num_threads(1)
    namespace = {}
    exec(DATA, namespace)
    X, y, arm = namespace["X"], namespace["y"], namespace["arm"]
    rows = []
    for label, source, target in CASES:
        with tempfile.TemporaryDirectory() as folder:
            ref = _make(source, None)
            t_plain = _fit(ref, X, y, arm, target)
            path = _checkpoint.checkpoint_path(folder, ref)
            killed_at = _kill_mid_way(source, target, folder, path, ref.epochs)
            resumed = _make(source, folder)
            _fit(resumed, X, y, arm, target, resume=folder)
            diff = float(np.abs(_output(resumed, X) - _output(ref, X)).max())
        # best of two, interleaved: the machine is shared and timings are noisy
        t_plain = min(t_plain, _fit(_make(source, None), X, y, arm, target))
        t_ckpt = np.inf
        for _ in range(2):
            with tempfile.TemporaryDirectory() as folder:
                t_ckpt = min(t_ckpt, _fit(_make(source, folder), X, y, arm, target))
        rows.append((label, killed_at, diff, t_plain, t_ckpt))
        print(f"done: {label}", file=sys.stderr)
    print("| estimator | killed at | max abs diff, resumed vs uninterrupted | fit s (best of 2) | "
          "fit s, checkpoint_every=1 | ratio |")
    print("|---|---|---|---|---|---|")
    for label, killed_at, diff, t_plain, t_ckpt in rows:
        print(f"| {label} | {killed_at} | {diff:.3g} | {t_plain:.2f} | {t_ckpt:.2f} | "
              f"{t_ckpt / t_plain:.2f} |")


if __name__ == "__main__":
    main()
