"""MoE training throughput: GraphMoE's training loop against softmax MoEs of equal size.

Every competitor trains on the same standardised rows with the same batch
size, Adam and the same expert architecture; only the training loop is timed
(the clustering and the gate's distillation are set-up, run once before).

* ``graphmoe-graph`` / ``graphmoe-dmvae``: GraphMoEClassifier's training loop
  (:func:`graphmoe.moe.training.train_epochs`) with the graph or DMVAE gate,
  top-k sparse dispatch and the experts' member + halo losses;
  ``graphmoe-dmvae-frozen``: the DMVAE gate with ``joint=False`` (frozen once
  distilled, its routing of the training rows computed once);
* ``graphmoe-softmax``: the same loop with a linear softmax gate;
* ``dense-softmax``: the anchor, :class:`DenseSoftmaxMoE`, a hand-rolled
  softmax-gated MoE whose experts (same widths, same number) all run on every
  row as batched matmuls over stacked weights: no routing, no loop at all.

``run_latency`` times ``route`` and ``predict`` of fitted estimators at given
batch sizes.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._progress import set_torch_threads

__all__ = ["DenseSoftmaxMoE", "load_task", "run_throughput", "run_latency", "fit_for_bench"]

DATASETS = ("digits", "fashion-10k")
GATES = ("graph", "dmvae", "dmvae-frozen", "softmax")


def load_task(name, random_state=0):
    """``(X, y)`` of a throughput task: sklearn digits or a 10,000-image Fashion-MNIST sample."""
    from ..datasets.builtin import load_digits
    from ..datasets.fashion_mnist import load_fashion_mnist

    if name == "digits":
        return load_digits()
    if name == "fashion-10k":
        return load_fashion_mnist("train", n_samples=10_000, random_state=random_state)
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}.")


class DenseSoftmaxMoE(nn.Module):
    r"""A dense softmax-gated MoE: every expert runs on every row (the classic mixture).

    Experts are MLPs ``in -> hidden... -> out`` with a linear skip path, like
    :class:`graphmoe.nn.experts.MLPExpert`, held as stacked weights
    ``(E, fan_in, fan_out)`` so that all experts run as one batched matmul.
    The output is ``sum_e softmax(gate(x))_e softmax(expert_e(x))``.

    Shapes
    ------
    ``x (n, in_features)`` -> class probabilities ``(n, out_features)``.
    """

    def __init__(self, in_features, out_features, n_experts, hidden_dims=(32, 32)):
        super().__init__()
        widths = [int(in_features), *map(int, hidden_dims), int(out_features)]
        self.gate = nn.Linear(in_features, n_experts)
        self.weights = nn.ParameterList(nn.Parameter(torch.empty(n_experts, a, b))
                                        for a, b in zip(widths[:-1], widths[1:]))
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(n_experts, 1, b))
                                       for b in widths[1:])
        self.skip_weight = nn.Parameter(torch.empty(n_experts, widths[0], widths[-1]))
        self.skip_bias = nn.Parameter(torch.empty(n_experts, 1, widths[-1]))
        self.reset_parameters()

    def reset_parameters(self):
        self.gate.reset_parameters()
        for w, b in zip([*self.weights, self.skip_weight], [*self.biases, self.skip_bias]):
            bound = 1.0 / np.sqrt(w.shape[1])  # nn.Linear's default init
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)

    def forward(self, x):
        probs = torch.softmax(self.gate(x), dim=-1)  # (n, E)
        h = x.expand(len(self.skip_weight), *x.shape)  # (E, n, in)
        skip = torch.baddbmm(self.skip_bias, h, self.skip_weight)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < len(self.weights) - 1:
                h = torch.relu(h)
        expert_probs = torch.softmax(h + skip, dim=-1)  # (E, n, out)
        return torch.einsum("ne,eno->no", probs, expert_probs)


def fit_for_bench(X, y, gate, n_experts, *, hidden_dims=(32, 32), batch_size=256,
                  random_state=0, **params):
    """A GraphMoEClassifier fitted for one epoch: the set-up the timed loop starts from."""
    from ..moe import GraphMoEClassifier

    gate_params = None
    if gate.startswith("dmvae"):
        gate_params = {"distill_epochs": 5, "joint": gate != "dmvae-frozen"}
        gate = "dmvae"
    # no shared expert: the same experts as the dense anchor's, one to one
    params = {"shared_expert": None, **params}
    return GraphMoEClassifier(gate=gate, n_experts=n_experts, hidden_dims=hidden_dims,
                              epochs=1, batch_size=batch_size, gate_params=gate_params,
                              random_state=random_state, **params).fit(X, y)


def _training_data(est, X, y):
    """The MoEData (with priors and member + halo weights) that ``est``'s fit trained on."""
    from ..moe.training import MoEData
    from ..nn.gates import cluster_proba

    Xs, G = est._embed(X, fit=False)
    target = torch.as_tensor(np.searchsorted(est.classes_, y))
    est._train_data = MoEData(torch.as_tensor(Xs, dtype=torch.float32),
                              torch.as_tensor(G, dtype=torch.float32), target)
    est._membership = None if est.clustering_ is None else cluster_proba(est.clustering_)
    est._refresh_train_data()
    data = est.__dict__.pop("_train_data")
    est.__dict__.pop("_membership")
    return data


def _graphmoe_runner(est, data, rng):
    from ..moe.training import train_epochs

    def run(n_epochs):
        train_epochs(est.module_, data, context=est._context(), epochs=n_epochs,
                     batch_size=est.batch_size, learning_rate=est.learning_rate,
                     coefs=est._coefs, rng=rng, history=[])
    return run


def _dense_runner(X, y, n_experts, hidden_dims, batch_size, rng):
    from ..moe.losses import task_loss

    x = torch.as_tensor(X, dtype=torch.float32)
    target = torch.as_tensor(y)
    model = DenseSoftmaxMoE(x.shape[1], int(y.max()) + 1, n_experts, hidden_dims)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)

    def run(n_epochs):
        for _ in range(n_epochs):
            for idx in np.array_split(rng.permutation(len(x)), max(1, len(x) // batch_size)):
                idx = torch.as_tensor(idx)
                loss = task_loss(model(x[idx]), target[idx], "classification")
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return run, model


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def _competitors(name, gates, n_experts, hidden_dims, batch_size, random_state, verbose):
    """``[(row, run)]``: one training loop per gate plus the dense anchor, set up on ``name``."""
    X, y = load_task(name, random_state)
    rng = np.random.RandomState(random_state)
    out = []
    for gate in gates:
        est = fit_for_bench(X, y, gate, n_experts, hidden_dims=hidden_dims,
                            batch_size=batch_size, random_state=random_state)
        row = {"dataset": name, "method": f"graphmoe-{gate}", "n": len(X),
               "n_experts": est.n_experts_, "params": _n_params(est.module_)}
        out.append((row, _graphmoe_runner(est, _training_data(est, X, y), rng)))
        if verbose:
            print("set up", row, flush=True)
    Xs = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    run, model = _dense_runner(Xs, y, n_experts, hidden_dims, batch_size, rng)
    out.append(({"dataset": name, "method": "dense-softmax", "n": len(X),
                 "n_experts": n_experts, "params": _n_params(model)}, run))
    return out


def run_throughput(datasets=DATASETS, gates=GATES, *, n_experts=10, epochs=2, rounds=5,
                   hidden_dims=(32, 32), batch_size=256, num_threads=1, random_state=0,
                   verbose=True):
    """Training samples/s of each gate's GraphMoE loop and of the dense softmax anchor.

    The competitors of one dataset are timed in turn, ``epochs`` epochs each,
    for ``rounds`` rounds (after one warm-up epoch each); each keeps its
    fastest round, so that load from other processes, which comes and goes,
    penalises none of them in particular.

    Returns a tidy DataFrame: dataset, method, n, n_experts, params, seconds
    (best round), samples_per_s, and ``vs_dense`` / ``vs_softmax``: the ratio
    to the dense anchor and to ``graphmoe-softmax`` of the same dataset.
    """
    previous = set_torch_threads(num_threads)
    rows = []
    try:
        for name in datasets:
            competitors = _competitors(name, gates, n_experts, hidden_dims, batch_size,
                                       random_state, verbose)
            for _, run in competitors:
                run(1)  # warm-up: allocator, lazy initialisation
            best = [np.inf] * len(competitors)
            for _ in range(rounds):
                for i, (_, run) in enumerate(competitors):
                    start = time.perf_counter()
                    run(epochs)
                    best[i] = min(best[i], time.perf_counter() - start)
            rows += [{**row, "seconds": s} for (row, _), s in zip(competitors, best)]
    finally:
        torch.set_num_threads(previous)
    table = pd.DataFrame(rows)
    table["samples_per_s"] = table["n"] * epochs / table["seconds"]
    for ref, col in (("dense-softmax", "vs_dense"), ("graphmoe-softmax", "vs_softmax")):
        base = table[table["method"] == ref].set_index("dataset")["samples_per_s"]
        table[col] = table["samples_per_s"] / table["dataset"].map(base)
    return table


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_latency(gates=("graph", "dmvae"), batch_sizes=(1, 256, 65_536), *, n_experts=10,
                n_train=10_000, num_threads=1, random_state=0, verbose=True):
    """Median wall time of ``route`` and ``predict`` per batch size, Fashion-MNIST.

    The estimator is fitted on ``n_train`` training images; the batches are
    drawn from the other images (70,000 in all), with replacement past that.
    """
    from ..datasets.fashion_mnist import load_fashion_mnist

    X, y = load_fashion_mnist("all")
    rng = np.random.RandomState(random_state)
    order = rng.permutation(len(X))
    train, rest = order[:n_train], order[n_train:]
    previous = set_torch_threads(num_threads)
    rows = []
    try:
        for gate in gates:
            est = fit_for_bench(X[train], y[train], gate, n_experts, random_state=random_state)
            for b in batch_sizes:
                batch = X[rng.choice(rest, size=b, replace=b > len(rest))]
                repeats = 20 if b <= 256 else 3
                est.predict(batch)  # warm-up
                for what in ("route", "predict"):
                    s = _median_seconds(lambda: getattr(est, what)(batch), repeats)
                    rows.append({"gate": gate, "call": what, "batch": b, "ms": 1e3 * s,
                                 "rows_per_s": b / s})
                    if verbose:
                        print(rows[-1], flush=True)
    finally:
        torch.set_num_threads(previous)
    return pd.DataFrame(rows)


def run_throughput_benchmark(out, *, datasets=DATASETS, gates=GATES, n_experts=10, epochs=2,
                             rounds=5, latency=True, gnn=False, quick=False, verbose=True):
    """``graphmoe bench throughput``: the tables above, written to ``out`` as CSV and Markdown.

    ``quick`` shrinks everything to a smoke run (digits only, one round,
    batches up to 256, a 5,000-node GNN graph).
    """
    from pathlib import Path

    from .report import markdown_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if quick:
        datasets, epochs, rounds = ("digits",), 1, 1
    tables = {"throughput": run_throughput(datasets, gates, n_experts=n_experts, epochs=epochs,
                                           rounds=rounds, verbose=verbose)}
    if latency:
        tables["latency"] = run_latency(
            batch_sizes=(1, 256) if quick else (1, 256, 65_536), n_experts=n_experts,
            n_train=2_000 if quick else 10_000, verbose=verbose)
    if gnn:
        from .gnn_scale import run_gnn_scale

        tables["gnn_memory"] = run_gnn_scale(sizes=(5_000,) if quick else
                                             (10_000, 20_000, 40_000, 70_000),
                                             batch_size=256, num_neighbors=(10, 5),
                                             train=False, verbose=verbose)
        tables["gnn_accuracy"] = run_gnn_scale(sizes=(5_000,) if quick else (10_000,),
                                               epochs=1 if quick else 10, verbose=verbose)
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
        (out / f"{name}.md").write_text(markdown_table(table, index=False) + "\n")
    return tables
