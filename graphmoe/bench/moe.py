"""``graphmoe bench moe``: every gate side by side on the same tasks, seeds and budget.

Tasks (``FULL``; ``QUICK`` is a two-minute subset for the demo and the CLI):

* ``pinwheel`` -- the DMVAE report's spirals (5 arms) with per-arm affine targets;
* ``interleaved`` -- arms winding around each other (sigma = 0.1), same targets;
* ``digits`` / ``fashion`` -- classification (Fashion-MNIST subsampled, when installed).

Every method gets the same number of experts (one per generating group) and
the same expert architecture; the dense MLP is widened to the parameter count
of the default mixture's experts (:func:`mixture_parameters`). Results: one
row per (task, method, seed) in ``results.csv``, mean and standard deviation
in ``summary.csv``, Markdown tables with the issue's targets in ``report.md``
and bar charts plus a routing picture.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .._progress import progress

__all__ = ["run_moe_benchmark", "regression_methods", "classification_methods", "FULL", "QUICK",
           "dense_hidden_width", "mixture_parameters"]

#: task -> size settings; epochs are per fit
FULL = {
    # the report's size is 5 x 5,000; subsampled to 5 x 2,000 to fit two shared CPU cores
    "pinwheel": {"n_per_arm": 2000, "n_test_per_arm": 1000, "epochs": 20, "batch_size": 256},
    "interleaved": {"n_per_arm": 1000, "n_test_per_arm": 400, "epochs": 30, "batch_size": 256},
    "digits": {"epochs": 40, "batch_size": 128},
    # the whole test set: on 2,000 test images the sd of an accuracy is 0.008, more
    # than the differences between methods
    "fashion": {"n_train": 10000, "n_test": 10000, "epochs": 15, "batch_size": 256},
    "fashion-semi": {"n_train": 6000, "n_test": 2000, "epochs": 15, "batch_size": 256,
                     "label_fractions": (0.01, 0.05, 0.1)},
}
QUICK = {
    "pinwheel": {"n_per_arm": 300, "n_test_per_arm": 100, "epochs": 30, "batch_size": 256},
    # below ~400 points per arm the inner ends of the arms get too sparse to stay connected
    "interleaved": {"n_per_arm": 400, "n_test_per_arm": 100, "epochs": 30, "batch_size": 256},
}
QUICK_METHODS = ("graphmoe", "softmax", "kmeans", "dense-mlp", "oracle")

#: the issue's targets: (task, method, reference method or None, factor)
TARGETS = [
    ("pinwheel", "graphmoe", None, 0.001),
    ("interleaved", "graphmoe", "softmax", 1 / 20),
    ("interleaved", "graphmoe", "kmeans", 1 / 100),
    ("interleaved", "graphmoe", "oracle", 10.0),
]


def semi_supervised_methods():
    """name -> (GraphMoEClassifier arguments, trained on the labelled rows only?)."""
    return {
        "graphmoe": ({"gate": "graph"}, False),
        "labelled-only": ({"gate": "graph"}, True),
        "dfcp": ({"gate": "dfcp"}, False),
    }


def regression_methods():
    """name -> GraphMoERegressor arguments (``n_experts`` and sizes are added per task)."""
    return {
        "graphmoe": {"gate": "graph"},
        # the same without pair contrasts: split memberships blend two experts
        "graphmoe-blend": {"gate": "graph", "pair_experts": False},
        "graphmoe-parents": {"gate": "graph", "parent_experts": True},
        "graphmoe-gnn": {"gate": "graph", "expert": "gnn"},
        "graphmoe-hme": {"gate": "graph", "hierarchical": True},
        "graphmoe-dmvae": {"gate": "dmvae"},
        "dvmoe": {"gate": "dmvae", "gate_params": {"init": "none"}},
        "softmax": {"gate": "softmax"},
        "kmeans": {"gate": "kmeans"},
        "gmm": {"gate": "gmm"},
        "dfcp": {"gate": "dfcp"},
        "dense-mlp": {"gate": "softmax", "dense": True},
        "oracle": {"gate": "oracle"},
    }


def classification_methods():
    """name -> GraphMoEClassifier arguments for the classification tasks."""
    return {
        "graphmoe": {"gate": "graph"},
        # 0.1's classifier: independent (32, 32) experts, no shared expert
        "graphmoe-flat": {"gate": "graph", "shared_expert": None, "hidden_dims": (32, 32)},
        "graphmoe-parents": {"gate": "graph", "parent_experts": True},
        "graphmoe-gnn": {"gate": "graph", "expert": "gnn"},
        "softmax": {"gate": "softmax"},
        "labels": {"gate": "labels"},
        "dense-mlp": {"gate": "softmax", "dense": True},
    }


# ------------------------------------------------------------------------ data
def _regression_data(task, n_per_arm, n_test_per_arm, seed):
    from .. import datasets

    make = (datasets.make_pinwheel_spirals if task == "pinwheel"
            else datasets.make_interleaved_spirals)
    X, arm = make(n_per_arm, random_state=seed)
    Xt, armt = make(n_test_per_arm, random_state=seed + 1000)
    _, (W, b) = datasets.make_affine_targets(X, arm, random_state=seed, return_params=True)

    def target(Z, a):
        return np.einsum("nd,nd->n", Z, W[a][:, :, 0]) + b[a][:, 0]

    return X, target(X, arm), arm, Xt, target(Xt, armt), armt


def _classification_data(task, settings, seed):
    from sklearn.model_selection import train_test_split

    from .. import datasets

    if task == "digits":
        X, y = datasets.load_digits()
        X, Xt, y, yt = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
        return X, y, Xt, yt
    X, y = datasets.load_fashion_mnist("train", n_samples=settings["n_train"], random_state=seed)
    Xt, yt = datasets.load_fashion_mnist("test", n_samples=settings["n_test"],
                                         random_state=seed)
    return X, y, Xt, yt


# --------------------------------------------------------------------- budgets
def _n_params(module):
    return int(sum(p.numel() for p in module.parameters()))


def mixture_parameters(kind, n_experts, in_features, out_features):
    """Parameters of the experts of the default ``graphmoe`` method (shared expert included)."""
    from torch import nn

    from ..moe import GraphMoEClassifier, GraphMoERegressor

    est = (GraphMoERegressor if kind == "regression" else GraphMoEClassifier)(
        **regression_methods()["graphmoe"] if kind == "regression"
        else classification_methods()["graphmoe"])
    # the estimator's own expert factory, without a fit: flat experts (no tree needed)
    est.train_x_shape_, est._n_outputs, est.clustering_ = (1, in_features), out_features, None
    return _n_params(nn.ModuleList(est._make_experts(n_experts)))


def dense_hidden_width(n_experts, in_features, out_features, hidden_dims=(32, 32), budget=None):
    """Width ``h`` of a dense ``(h, h)`` MLP expert with the parameters of ``n_experts`` experts.

    ``budget`` (a parameter count) replaces that of ``n_experts`` experts of ``hidden_dims``.
    """
    from ..nn.experts import MLPExpert

    if budget is None:
        budget = n_experts * _n_params(MLPExpert(in_features, out_features, hidden_dims))
    widths = np.arange(1, 2048)
    # (d+1)h + (h+1)h + (h+1)o + (d+1)o parameters, skip path included
    counts = ((in_features + 1) * widths + (widths + 1) * widths
              + (widths + 1) * out_features + (in_features + 1) * out_features)
    return int(widths[np.argmin(np.abs(counts - budget))])


def _estimator(kind, params, n_groups, n_features, n_outputs, settings, seed):
    from ..moe import GraphMoEClassifier, GraphMoERegressor

    params = dict(params)
    if params.pop("dense", False):
        # as many parameters as the default mixture's experts (its shared expert included)
        h = dense_hidden_width(n_groups, n_features, n_outputs,
                               budget=mixture_parameters(kind, n_groups, n_features, n_outputs))
        params.update(n_experts=1, hidden_dims=(h, h), shared_expert=None)  # one plain MLP
    elif params["gate"] not in ("oracle", "labels"):
        params["n_experts"] = n_groups
    if params["gate"] == "dmvae" or params.get("hierarchical"):  # learned, distilled gates
        params["gate_params"] = {**settings.get("gate_params", {}),
                                 **params.get("gate_params", {})}
    cls = GraphMoERegressor if kind == "regression" else GraphMoEClassifier
    return cls(epochs=settings["epochs"], batch_size=settings["batch_size"],
               learning_rate=1e-2 if kind == "regression" else 5e-3, random_state=seed,
               num_threads=1, **params)


# ----------------------------------------------------------------------- runs
def _run_method(task, name, params, data, kind, settings, seed):
    X, y, groups, Xt, yt, groups_t = data
    n_groups = len(np.unique(yt if kind == "classification" else groups))
    n_outputs = 1 if kind == "regression" else n_groups
    row = {"task": task, "method": name, "seed": seed, "n_train": len(X), "n_test": len(Xt)}
    try:
        model = _estimator(kind, params, n_groups, X.shape[1], n_outputs, settings, seed)
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(X, y, groups=groups)
        # CPU seconds of this process: comparable between methods on a shared, loaded machine
        row["fit_s"], row["cpu_s"] = time.perf_counter() - start, time.process_time() - cpu
        pred = model.predict(Xt, groups=groups_t if params["gate"] == "oracle" else None)
    except Exception as err:  # noqa: BLE001 - one failed method must not sink the table
        return {**row, "status": "failed", "error": f"{type(err).__name__}: {err}"[:200]}
    score = (float(np.mean((pred - yt) ** 2)) if kind == "regression"
             else float(np.mean(pred == yt)))
    return {**row, "status": "ok", "metric": "mse" if kind == "regression" else "accuracy",
            "score": score, "n_experts": model.n_experts_, "n_params": _n_params(model.module_),
            "model": model}


def _task_runs(task, settings, methods, kind, seeds, verbose):
    rows, models = [], {}
    jobs = [(seed, name) for seed in seeds for name in methods]
    data_cache = {}
    for seed, name in progress(jobs, verbose=verbose, desc=f"moe {task}"):
        if seed not in data_cache:
            if kind == "regression":
                data_cache[seed] = _regression_data(task, settings["n_per_arm"],
                                                    settings["n_test_per_arm"], seed)
            else:
                X, y, Xt, yt = _classification_data(task, settings, seed)
                data_cache[seed] = (X, y, y, Xt, yt, yt)
        row = _run_method(task, name, methods[name], data_cache[seed], kind, settings, seed)
        model = row.pop("model", None)
        if seed == seeds[0] and model is not None:
            models[name] = model
        rows.append(row)
        if verbose:
            shown = f"{row['score']:.5g}" if row["status"] == "ok" else row["error"]
            print(f"  {task:11s} {name:15s} seed {seed}: {shown}", flush=True)
    return rows, models, data_cache.get(seeds[0])


def _semi_supervised_runs(settings, seeds, verbose):
    """Fashion-MNIST with a fraction of the labels: y = -1 marks the unlabelled rows."""
    rows = []
    jobs = [(seed, frac, name) for seed in seeds for frac in settings["label_fractions"]
            for name in semi_supervised_methods()]
    for seed, frac, name in progress(jobs, verbose=verbose, desc="moe fashion-semi"):
        X, y, Xt, yt = _classification_data("fashion", settings, seed)
        rng = np.random.default_rng(seed)
        labelled = np.zeros(len(y), dtype=bool)
        for c in np.unique(y):  # the same fraction of every class, at least one label each
            idx = np.flatnonzero(y == c)
            labelled[rng.choice(idx, max(1, int(round(frac * len(idx)))), replace=False)] = True
        params, labelled_only = semi_supervised_methods()[name]
        y_semi = np.where(labelled, y, -1)
        Xf, yf = (X[labelled], y[labelled]) if labelled_only else (X, y_semi)
        data = (Xf, yf, yf, Xt, yt, yt)
        row = _run_method(f"fashion-semi {frac:.0%}", name, params, data, "classification",
                          settings, seed)
        row.pop("model", None)
        rows.append({**row, "label_fraction": frac})
        if verbose:
            shown = f"{row['score']:.4f}" if row["status"] == "ok" else row["error"]
            print(f"  fashion-semi {frac:.0%} {name:14s} seed {seed}: {shown}", flush=True)
    return rows


def summarize(results):
    """Mean and standard deviation per (task, method) of the ok runs."""
    ok = results[results["status"] == "ok"]
    summary = ok.groupby(["task", "method"], sort=False).agg(
        metric=("metric", "first"), mean=("score", "mean"), sd=("score", "std"),
        runs=("score", "size"), n_experts=("n_experts", "median"),
        n_params=("n_params", "median"), fit_s=("fit_s", "mean"),
        cpu_s=("cpu_s", "mean")).reset_index()
    return summary


def check_targets(summary):
    """The issue's targets as rows ``task, claim, value, target, met``."""
    mean = summary.set_index(["task", "method"])["mean"]
    rows = []
    for task, method, ref, factor in TARGETS:
        if (task, method) not in mean or (ref and (task, ref) not in mean):
            continue
        value = mean[(task, method)] / (mean[(task, ref)] if ref else 1.0)
        claim = f"{method} MSE" + (f" / {ref} MSE" if ref else "")
        rows.append({"task": task, "claim": claim, "value": value, "target": f"<= {factor:.3g}",
                     "met": bool(value <= factor)})
    return pd.DataFrame(rows)


def run_moe_benchmark(out_dir, quick=False, seeds=(0, 1, 2), verbose=True, tasks=None,
                      methods=None):
    """Run the mixture-of-experts benchmark and write its tables and plots into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
    quick : bool, default=False
        Small spirals, five methods, the first seed only (about two minutes).
    seeds : tuple of int, default=(0, 1, 2)
    verbose : bool, default=True
    tasks : list of str, optional
        Subset of ``FULL`` (or ``QUICK``) tasks.
    methods : list of str, optional
        Subset of the method names.

    Returns
    -------
    pandas.DataFrame, one row per (task, method, seed): ``score`` is the test
    MSE (regression) or accuracy (classification); ``status`` "ok" or "failed".
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = QUICK if quick else FULL
    seeds = tuple(seeds)[:1] if quick else tuple(seeds)
    rows, pictures = [], {}
    for task in tasks or list(config):
        if task == "fashion-semi":
            rows += _semi_supervised_runs(config[task], seeds, verbose)
            _write_outputs(pd.DataFrame(rows), out, pictures, quick)
            continue
        kind = "regression" if task in ("pinwheel", "interleaved") else "classification"
        roster = regression_methods() if kind == "regression" else classification_methods()
        names = methods or (QUICK_METHODS if quick else list(roster))
        chosen = {n: roster[n] for n in names if n in roster}
        task_rows, models, data = _task_runs(task, config[task], chosen, kind, seeds, verbose)
        rows += task_rows
        if task == "interleaved":
            pictures = (models, data)
        _write_outputs(pd.DataFrame(rows), out, pictures, quick)  # partial tables survive a kill
    results = pd.DataFrame(rows)
    _write_outputs(results, out, pictures, quick)
    return results


# --------------------------------------------------------------------- output
def _fmt(row):
    if row["metric"] == "mse":
        return f"{row['mean']:.4g} ± {0.0 if np.isnan(row['sd']) else row['sd']:.2g}"
    return f"{row['mean']:.3f} ± {0.0 if np.isnan(row['sd']) else row['sd']:.3f}"


def _write_outputs(results, out, pictures, quick):
    from .plots import save_moe_routing, save_moe_scores
    from .report import markdown_table

    results.to_csv(out / "results.csv", index=False)
    ok = results[results["status"] == "ok"] if "status" in results else results.iloc[:0]
    lines = ["# graphmoe mixture-of-experts benchmark", "",
             f"mode: {'quick' if quick else 'full'}; seeds: "
             f"{sorted(results['seed'].unique().tolist())}", ""]
    if len(ok):
        summary = summarize(results)
        summary.to_csv(out / "summary.csv", index=False)
        summary["mean ± sd"] = summary.apply(_fmt, axis=1)
        for task, part in summary.groupby("task", sort=False):
            lines += [f"## {task} (test {part['metric'].iloc[0]})", "",
                      markdown_table(part[["method", "mean ± sd", "n_experts", "n_params",
                                           "fit_s", "cpu_s"]], index=False, floatfmt=".1f"),
                      ""]
        targets = check_targets(summary)
        if len(targets):
            lines += ["## targets", "", markdown_table(targets, index=False, floatfmt=".4g"), ""]
        save_moe_scores(summary, out / "moe_scores.png")
    failed = results[results["status"] == "failed"] if "status" in results else []
    for row in getattr(failed, "itertuples", lambda **_: [])(index=False):
        lines.append(f"- failed: {row.task} / {row.method} / seed {row.seed}: {row.error}")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    if pictures:
        save_moe_routing(*pictures, out / "moe_routing.png")
