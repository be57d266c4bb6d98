"""Run a roster of clustering methods over datasets into a tidy results table.

One row per (dataset, method, mode). A run that raises is recorded as a row
with ``status="failed"`` and the error's first line, a run that does not apply
(a method that needs k in no-true-k mode, an O(n^2) method on large data) as
``status="skipped"``; neither stops the benchmark. Time is wall-clock seconds
of ``fit_predict``; ``peak_mem_mb`` is the most memory the run needed: the
larger of its rise in resident memory (sampled) and the peak it allocated
through Python's allocators (:mod:`tracemalloc`, exact for NumPy arrays); see
:class:`graphmoe.bench.memory.peak_memory`. Warnings
a method raises are kept off the terminal; the first goes into ``warning``.
"""
from __future__ import annotations

import time
import warnings
from collections import namedtuple

import numpy as np
import pandas as pd

from .._progress import progress
from ..metrics import score_partition
from .memory import peak_memory
from .methods import SkipRun

__all__ = ["MODES", "COLUMNS", "BenchmarkResult", "run_one", "run_benchmark"]

MODES = ("true-k", "no-true-k")
COLUMNS = [
    "dataset", "n_samples", "n_features", "true_k", "method", "mode", "status",
    "ari", "ami", "nmi", "acc", "n_clusters", "noise_frac", "time_s", "peak_mem_mb",
    "error", "warning", "note",
]

#: ``table``: the tidy DataFrame; ``labels``: ``{(dataset, method, mode): labels}`` of
#: the runs that succeeded (for plots).
BenchmarkResult = namedtuple("BenchmarkResult", ["table", "labels"])


def _error_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip().rstrip(":")


def _measured(fn, *args):
    """``fn(*args)`` with its wall time (s) and the most memory it needed (MiB)."""
    with peak_memory(trace=True) as mem:
        start = time.perf_counter()
        result = fn(*args)
        elapsed = time.perf_counter() - start
    return result, elapsed, mem.added_mb


def run_one(dataset, method, mode, random_state=0):
    """Run one method on one dataset in one mode.

    Returns
    -------
    row : dict with the keys of :data:`COLUMNS`
    labels : ndarray of shape (n,) or None when the run failed or was skipped
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    n, d = dataset.X.shape
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(dataset=dataset.name, n_samples=n, n_features=d, true_k=dataset.n_clusters,
               method=method.name, mode=mode, error="", warning="", note=dataset.note)
    k = dataset.n_clusters if mode == "true-k" else None
    method.warm_up()
    # warnings would garble the progress bar: the first one goes into the row instead
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row, labels = _run_scored(row, dataset, method, k, random_state)
    quiet = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    useful = [w for w in caught if not issubclass(w.category, quiet)]
    if useful:
        row["warning"] = " ".join(str(useful[0].message).split())[:200]
    return row, labels


def _run_scored(row, dataset, method, k, random_state):
    n = dataset.X.shape[0]
    try:
        (labels, info), elapsed, peak = _measured(method, dataset.X, k, random_state)
        elapsed += float(info.get("charged_s", 0.0))
        if labels.shape != (n,):
            raise ValueError(f"returned labels of shape {labels.shape}, expected ({n},)")
        scores = score_partition(labels, dataset.labels, noise_label=dataset.noise_label)
    except SkipRun as skip:
        row.update(status="skipped", error=str(skip))
        return row, None
    except Exception as err:  # noqa: BLE001 - a failing method must not stop the benchmark
        row.update(status="failed", error=_error_line(err))
        return row, None
    row.update(scores)
    row.update(status="ok", n_clusters=int(np.unique(labels[labels >= 0]).size),
               noise_frac=float(np.mean(labels < 0)), time_s=elapsed, peak_mem_mb=peak)
    return row, labels


def _tasks(datasets, methods, modes):
    for ds in datasets:
        for mode in modes:
            for method in methods:
                yield ds, method, mode


def run_benchmark(datasets, methods, modes=MODES, n_jobs=1, random_state=0, verbose=True):
    """Run every method on every dataset in every mode.

    Parameters
    ----------
    datasets : list of :class:`~graphmoe.bench.suites.BenchDataset`
    methods : list of :class:`~graphmoe.bench.methods.Method`
    modes : tuple of {"true-k", "no-true-k"}
    n_jobs : int
        Runs in parallel (joblib processes); ``1`` runs in this process.
    random_state : int
        Seed handed to every method (each run is reproducible on its own).
    verbose : bool
        Show a progress bar over the runs.

    Returns
    -------
    BenchmarkResult
        ``table`` (one row per run, columns :data:`COLUMNS`, in roster order) and
        ``labels`` of the successful runs.
    """
    modes = tuple(modes)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ValueError(f"modes must be a non-empty subset of {MODES}, got {modes}.")
    if not datasets or not methods:
        raise ValueError("need at least one dataset and one method to benchmark.")
    tasks = list(_tasks(datasets, methods, modes))
    if n_jobs == 1:
        results = (run_one(ds, m, mode, random_state) for ds, m, mode in tasks)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(run_one)(ds, m, mode, random_state) for ds, m, mode in tasks)
    rows, labels = [], {}
    bar = progress(results, verbose=verbose, total=len(tasks), desc="benchmark", unit="run")
    for (ds, method, mode), (row, lab) in zip(tasks, bar):
        rows.append(row)
        if lab is not None:
            labels[(ds.name, method.name, mode)] = lab
        if verbose and hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(f"{ds.name} {method.name}")
    return BenchmarkResult(pd.DataFrame(rows, columns=COLUMNS), labels)
