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

Memory is the peak of live tensor memory during training steps, from
``torch.profiler``'s allocation records (``profile_memory=True``): exact for
tensors, blind to the interpreter's and the allocator's own overhead, and
free of the noise of a process's resident size.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

__all__ = ["MODES", "run_gnn_scale", "peak_tensor_mib"]

MODES = ("full-graph", "full-neighbourhood", "sampled")
_COEFS = dict.fromkeys(("expert", "load_balance", "entropy", "gate"), 0.0)


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


def _model(mode, n_classes, hops, num_neighbors):
    from ..moe import GraphMoE
    from ..nn.experts import GNNExpert
    from ..nn.gates.base import Gate

    expert = GNNExpert(50, n_classes, hidden_dim=64, hops=hops, num_neighbors=num_neighbors,
                       max_nodes=1 if mode == "sampled" else None)
    return GraphMoE([expert], Gate(1), top_k=1, task="classification")


def peak_tensor_mib(fn):
    """Run ``fn()``; the peak of live CPU tensor memory it allocated, in MiB."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    live = np.cumsum([0] + [e.self_cpu_memory_usage for e in events])
    return float(live.max()) / 2**20


def _train(model, data, ctx, epochs, batch_size, rng):
    from ..moe.training import train_epochs

    train_epochs(model, data, context=ctx, epochs=epochs, batch_size=batch_size,
                 learning_rate=1e-2, coefs=_COEFS, rng=rng, history=[])


def _one_run(Z, y, indices, mode, *, hops, epochs, batch_size, num_neighbors, test_fraction,
             measure_steps, random_state):
    """Peak memory of ``measure_steps`` steps, then (``epochs > 0``) training and accuracy."""
    from ..moe.training import MoEData, predict_batches
    from ..nn.experts import NeighborhoodContext

    rng = np.random.RandomState(random_state)
    test = rng.rand(len(y)) < test_fraction  # transductive: test nodes stay in the graph
    x, ids = torch.as_tensor(Z), torch.as_tensor(indices)
    ctx = NeighborhoodContext(x, ids)
    data = MoEData(x, x, torch.as_tensor(y), torch.ones(len(x), 1), ids)
    train = data.rows(torch.as_tensor(np.flatnonzero(~test)))
    n_classes = int(y.max()) + 1
    full = mode == "full-graph"
    # memory: the first steps (every mini-batch step holds about as much as any other)
    probe = train if full else train.rows(slice(0, measure_steps * batch_size))
    peak = peak_tensor_mib(lambda: _train(_model(mode, n_classes, hops, num_neighbors), probe,
                                          ctx, 1, len(probe.x) if full else batch_size, rng))
    row = {"mode": mode, "n": len(y), "peak_tensor_mib": peak}
    if not epochs:
        return row
    model = _model(mode, n_classes, hops, num_neighbors)
    steps = epochs * -(-len(train.x) // batch_size)  # full-graph: as many steps as the others
    start = time.perf_counter()
    _train(model, train, ctx, steps if full else epochs, len(train.x) if full else batch_size,
           rng)
    seconds = time.perf_counter() - start
    model.experts[0].max_nodes = 200_000  # exact inference in chunks, whatever the mode
    proba = predict_batches(model, data.rows(torch.as_tensor(np.flatnonzero(test)))
                            ._replace(target=None), context=ctx)[0]
    return {**row, "accuracy": float((proba.argmax(1) == y[test]).mean()), "train_s": seconds}


def run_gnn_scale(sizes=(10_000, 20_000, 40_000, 70_000), modes=MODES, *, hops=2, epochs=5,
                  batch_size=512, num_neighbors=(10, 10), test_fraction=0.2, measure_steps=3,
                  train=True, random_state=0, verbose=True):
    """A tidy DataFrame of peak memory (and accuracy, time) per mode and graph size.

    Every mode takes the same number of optimiser steps: ``epochs`` passes of
    ``batch_size`` targets, and as many whole-graph steps for ``full-graph``.
    Accuracy is on the held-out ``test_fraction`` of the nodes (transductive:
    they stay in the graph, their labels unseen). ``train=False`` measures
    memory only (accuracy and time are then left out).
    """
    rows = []
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(random_state)
            for n in sizes:
                Z, y, knn = _features(n, random_state)
                for mode in modes:
                    row = _one_run(Z, y, knn.indices_, mode, hops=hops,
                                   epochs=epochs if train else 0, batch_size=batch_size,
                                   num_neighbors=num_neighbors, test_fraction=test_fraction,
                                   measure_steps=measure_steps, random_state=random_state)
                    rows.append(row)
                    if verbose:
                        print(rows[-1], flush=True)
    finally:
        torch.set_num_threads(previous)
    return pd.DataFrame(rows)
