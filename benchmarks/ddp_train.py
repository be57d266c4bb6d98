"""Data-parallel training under torchrun against one process: time and agreement.

    python benchmarks/ddp_train.py [--samples 10000] [--epochs 5] [--nproc 2] [--threads 1]

Fits an AutoEncoder (Fashion-MNIST when installed, else sklearn digits,
``--samples`` rows, no graph loss so that the objective is deterministic) and a
GraphMoERegressor on pinwheel spirals (``--samples`` rows, MLP experts, graph
gate), once in one process and once under ``torchrun --nproc_per_node
NPROC``, each process with ``--threads`` torch threads. Prints fit seconds,
training samples/s and the largest difference of the final loss and of the
predictions from the one-process run, as a Markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _images(n):
    from graphmoe import datasets

    try:
        X, _ = datasets.load_fashion_mnist(n_samples=n, random_state=0)
        return "fashion-mnist", np.asarray(X, dtype=np.float64)
    except Exception:  # not installed here: digits ship with sklearn
        X, _ = datasets.load_digits()
        return "digits", np.asarray(X[:n], dtype=np.float64)


def worker(args):
    import torch

    torch.set_num_threads(args.threads)
    from graphmoe import GraphMoERegressor
    from graphmoe.datasets import make_affine_targets, make_pinwheel_spirals
    from graphmoe.distributed import current_world
    from graphmoe.embed import AutoEncoder

    name, X = _images(args.samples)
    t0 = time.perf_counter()
    ae = AutoEncoder(n_components=8, epochs=args.epochs, graph_weight=0.0,
                     validation_fraction=0.0, random_state=0).fit(X)
    ae_s = time.perf_counter() - t0
    S, groups = make_pinwheel_spirals(n_per_arm=args.samples // 5, random_state=0)
    y = make_affine_targets(S, groups, random_state=0)
    t0 = time.perf_counter()
    moe = GraphMoERegressor(n_experts=5, epochs=args.epochs, random_state=0).fit(S, y)
    moe_s = time.perf_counter() - t0
    if current_world().is_main:
        loss = [h["loss"] for h in moe.history_ if h["event"] == "epoch"]
        np.savez(args.out, ae_Z=ae.transform(X), moe_pred=moe.predict(S))
        Path(args.out).with_suffix(".json").write_text(json.dumps({
            "world": current_world().size, "data": name, "ae_s": ae_s, "moe_s": moe_s,
            "ae_loss": ae.history_["train"]["train_loss"][-1], "moe_loss": loss[-1]}))


def launch(args, nproc, out):
    cmd = [sys.executable, __file__, "--worker", "--out", str(out), "--samples", str(args.samples),
           "--epochs", str(args.epochs), "--threads", str(args.threads)]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
               "--nproc_per_node", str(nproc)] + cmd[1:]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.with_suffix(".json").read_text()), np.load(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [launch(args, p, Path(tmp) / f"p{p}.npz") for p in (1, args.nproc)]
    ref = runs[0][1]
    print("| model | data | processes | fit s | samples/s (epochs x n / fit s) | final loss "
          "| max rel. diff of output vs 1 process |\n|---|---|---:|---:|---:|---:|---:|")
    for meta, arrays in runs:
        for model, data, key, out in (("AutoEncoder", meta["data"], "ae", "ae_Z"),
                                      ("GraphMoERegressor", "pinwheel", "moe", "moe_pred")):
            diff = np.abs(arrays[out] - ref[out]).max() / np.abs(ref[out]).max()
            rate = args.epochs * args.samples / meta[f"{key}_s"]
            print(f"| {model} | {data} {args.samples:,} | {meta['world']} | {meta[f'{key}_s']:.1f} "
                  f"| {rate:,.0f} | {meta[f'{key}_loss']:.5g} | {diff:.1e} |")


if __name__ == "__main__":
    main()
