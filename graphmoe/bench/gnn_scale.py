"""GNN experts on large graphs: full-graph, full-neighbourhood and sampled training.

One GNN expert (2-hop GraphSAGE) classifies Fashion-MNIST images (PCA-50
features) over their 15-NN graph, trained three ways on the same data:

* ``full-graph``: every training node in one batch, full neighbourhoods
  (classic full-batch GNN training; memory grows with n);
* ``full-neighbourhood``: mini-batches of ``batch_size`` targets with their
  complete ``hops``-hop neighbourhoods (memory grows until the neighbourhood
  of a batch covers the graph);
* ``sampled``: the same mini-batches with NeighborLoader-style sampling of
  ``num_neighbors`` neighbours per hop (memory bounded by the batch).

Each run is a fresh process, so its peak resident memory (``ru_maxrss``)
counts that run only; the training's own share is the peak minus the
resident memory just before the first step.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["MODES", "run_gnn_scale"]

MODES = ("full-graph", "full-neighbourhood", "sampled")


def _features(n, random_state):
    """Standardised PCA-50 Fashion-MNIST features, labels and 15-NN ids of ``n`` images."""
    from sklearn.decomposition import PCA

    from ..datasets.fashion_mnist import load_fashion_mnist
    from ..graph import KNNGraph

    X, y = load_fashion_mnist("all", n_samples=n, random_state=random_state)
    Z = PCA(50, random_state=random_state).fit_transform(X)
    Z = ((Z - Z.mean(0)) / Z.std(0)).astype(np.float32)
    knn = KNNGraph(n_neighbors=15, random_state=random_state).fit(Z)
    return Z, y, knn


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _model(mode, n_classes, hops, num_neighbors):
    from ..moe import GraphMoE
    from ..nn.experts import GNNExpert
    from ..nn.gates.base import Gate

    expert = GNNExpert(50, n_classes, hidden_dim=64, hops=hops, num_neighbors=num_neighbors,
                       max_nodes=1 if mode == "sampled" else None)
    return GraphMoE([expert], Gate(1), top_k=1, task="classification")


def _child(path, mode, hops, epochs, batch_size, num_neighbors, test_fraction, random_state,
           full_graph_epochs):
    """One training run on the saved graph ``path``: accuracy, seconds, memory (MiB)."""
    import torch

    from ..moe.training import MoEData, predict_batches, train_epochs
    from ..nn.experts import NeighborhoodContext

    torch.manual_seed(random_state)
    torch.set_num_threads(1)
    saved = np.load(path)
    Z, y, n = saved["Z"], saved["y"], len(saved["y"])
    rng = np.random.RandomState(random_state)
    # transductive split: test nodes stay in the graph, their labels unseen
    test = rng.rand(len(y)) < test_fraction
    target = torch.as_tensor(y)
    x, ids = torch.as_tensor(Z), torch.as_tensor(saved["indices"])
    ctx = NeighborhoodContext(x, ids)
    model = _model(mode, int(y.max()) + 1, hops, num_neighbors)
    train_rows = torch.as_tensor(np.flatnonzero(~test))
    data = MoEData(x, x, target, torch.ones(len(x), 1), ids).rows(train_rows)
    coefs = dict.fromkeys(("expert", "load_balance", "entropy", "gate"), 0.0)
    # one step on 8 rows first: lazy imports and allocations are not the training's memory
    train_epochs(_model(mode, int(y.max()) + 1, hops, num_neighbors), data.rows(slice(0, 8)),
                 context=ctx, epochs=1, batch_size=8, learning_rate=1e-2, coefs=coefs,
                 rng=np.random.RandomState(0), history=[])
    before = _rss_mib()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if mode == "full-graph":  # as many optimiser steps as the mini-batch modes take
        epochs = full_graph_epochs or epochs * -(-len(train_rows) // batch_size)
    train_epochs(model, data, context=ctx, epochs=epochs,
                 batch_size=len(train_rows) if mode == "full-graph" else batch_size,
                 learning_rate=1e-2, coefs=coefs, rng=rng, history=[])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.experts[0].max_nodes = 200_000  # exact inference in chunks, whatever the mode
    test_rows = torch.as_tensor(np.flatnonzero(test))
    proba = predict_batches(model, MoEData(x, x, None, torch.ones(len(x), 1), ids)
                            .rows(test_rows), context=ctx)[0]
    acc = float((proba.argmax(1) == y[test]).mean())
    return {"mode": mode, "n": n, "accuracy": acc, "train_s": seconds,
            "train_peak_mib": max(peak, peak_before) - before,
            "peak_below_start": peak_before > peak}


def run_gnn_scale(sizes=(10_000, 20_000, 40_000, 70_000), modes=MODES, *, hops=2, epochs=5,
                  batch_size=512, num_neighbors=(10, 10), test_fraction=0.2, random_state=0,
                  full_graph_epochs=None, timeout=1800, verbose=True):
    """Each (mode, n) in a fresh process; a tidy DataFrame of accuracy, time and memory.

    Every mode takes the same number of optimiser steps: ``epochs`` passes of
    ``batch_size`` targets, and as many whole-graph steps for ``full-graph``
    (or ``full_graph_epochs`` steps when set: enough for a memory peak).
    Accuracy is on the held-out ``test_fraction`` of the nodes (transductive:
    they stay in the graph, their labels unseen).
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            # the graph is built here, so that no child's peak memory is the kNN search's
            Z, y, knn = _features(n, random_state)
            path = f"{tmp}/fashion_{n}.npz"
            np.savez(path, Z=Z, y=y, indices=knn.indices_)
            for mode in modes:
                rows.append(_run_child(path, mode, n, [hops, epochs, batch_size,
                                                       list(num_neighbors), test_fraction,
                                                       random_state, full_graph_epochs],
                                       timeout))
                if verbose:
                    print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def _run_child(path, mode, n, args, timeout):
    # the child imports the graphmoe this process runs, installed or not
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, "-m", __name__, json.dumps([path, mode, *args])],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        return {"mode": mode, "n": n, "error": proc.stderr.strip()[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(_child(*json.loads(sys.argv[1]))))
