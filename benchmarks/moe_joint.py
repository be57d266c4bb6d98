"""Joint retraining: frozen routing vs joint fine-tuning vs periodic re-clustering.

    python benchmarks/moe_joint.py --out runs/bench-moe-joint
    python benchmarks/moe_joint.py --out runs/j --tasks interleaved --seeds 0

Every variant on the same data, seeds and budget as ``graphmoe bench moe``
(``recon``: as ``graphmoe bench moe --recon``, E = 10):

* ``graph (fixed)`` -- the graph gate, a fixed router (the default);
* ``dmvae frozen`` -- the DMVAE gate distilled from the hierarchy, then frozen
  while the experts train;
* ``dmvae joint`` -- the same gate trained jointly with the experts (what
  ``gate="dmvae"`` does);
* ``dmvae joint + recluster`` -- and re-embedded, re-clustered and re-matched
  every 10 epochs (``recluster_every=10``).

Scores: test MSE (spirals, reconstruction) or accuracy (digits). Writes
``results.csv`` and ``results.md`` (mean ± sd over seeds) into ``--out``.
"""
import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graphmoe.bench import moe, moe_recon
from graphmoe.bench.report import markdown_table
from graphmoe.moe import _setup

VARIANTS = {"graph (fixed)": ("graph", False, {}),
            "dmvae frozen": ("dmvae", True, {}),
            "dmvae joint": ("dmvae", False, {}),
            "dmvae joint + recluster": ("dmvae", False, {"recluster_every": 10})}


@contextlib.contextmanager
def frozen_gates(on):
    """Gates made by the estimator stop learning once fitted (distilled)."""
    make = _setup.make_gate

    def make_frozen(*args, **kwargs):
        gate = make(*args, **kwargs)
        fit = gate.fit

        def fit_then_freeze(*a, **k):
            out = fit(*a, **k)
            for p in gate.parameters():
                p.requires_grad_(False)
            return out

        gate.fit = fit_then_freeze
        return gate

    _setup.make_gate = make_frozen if on else make
    try:
        yield
    finally:
        _setup.make_gate = make


def _score_supervised(task, gate, extra, seed):
    s = moe.FULL[task]
    if task in ("pinwheel", "interleaved"):
        X, y, _, Xt, yt, _ = moe._regression_data(task, s["n_per_arm"], s["n_test_per_arm"],
                                                  seed)
        kind, n_groups, n_out = "regression", 5, 1
    else:
        X, y, Xt, yt = moe._classification_data(task, s, seed)
        kind, n_groups, n_out = "classification", 10, 10
    model = moe._estimator(kind, {"gate": gate, **extra}, n_groups, X.shape[1], n_out, s, seed)
    model.fit(X, y)
    pred = model.predict(Xt)
    return float(np.mean((pred - yt) ** 2) if kind == "regression" else np.mean(pred == yt))


def _score_recon(gate, extra, seed):
    settings = dict(moe_recon.FULL)
    X, y, Xt, yt = moe_recon._load(settings["n_train"], settings["n_test"], seed)
    return moe_recon._fit_one(gate, 10, X, y, Xt, yt, settings, seed, model_params=extra)["mse"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-moe-joint")
    parser.add_argument("--tasks", nargs="+", default=["interleaved", "pinwheel", "digits",
                                                       "recon"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        metavar="NAME", help="a subset of the variants (default: all)")
    args = parser.parse_args()
    rows = []
    for task in args.tasks:
        for seed in args.seeds:
            for name in args.variants:
                gate, frozen, extra = VARIANTS[name]
                start, cpu = time.perf_counter(), time.process_time()
                with frozen_gates(frozen):
                    score = (_score_recon(gate, extra, seed) if task == "recon"
                             else _score_supervised(task, gate, extra, seed))
                rows.append({"task": task, "variant": name, "seed": seed, "score": score,
                             "fit_s": time.perf_counter() - start,
                             "cpu_s": time.process_time() - cpu})
                print(f"{task:11s} {name:24s} seed {seed}: {score:.4g}", flush=True)
    results = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "results.csv", index=False)
    table = results.groupby(["variant", "task"], sort=False)["score"].agg(["mean", "std"])
    cells = table.apply(lambda r: f"{r['mean']:.3g} ± {0 if np.isnan(r['std']) else r['std']:.2g}",
                        axis=1).unstack("task")
    text = markdown_table(cells[[t for t in args.tasks if t in cells.columns]])
    (out / "results.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
