"""``graphmoe bench scale``: time, memory and ARI of ConnectivityClustering against n.

Fashion-MNIST (10k, 30k, 70k stratified images), 50-D Gaussian blobs
(20 clusters; 100k, 300k, 1M points) and 200-D blobs (10 clusters, 20k: the
issue's "20k x 200 blobs" comparison with EVōC). Every size runs in a FRESH Python
process, which fits twice: the first fit pays every import and JIT
compilation a user's first call pays, the second is the warm cost. Peak
memory is the process's RSS high-water mark (data included). The first
fit is split into stages (kNN graph, MST, segmentation, membership, other)
by timing the estimator's module-level steps; each stage's ``+MiB`` is how
far it raised the RSS high-water mark. At the end a log-log slope of time
against n is fitted per dataset and method. ``methods=("graphmoe", "evoc")``
also runs EVōC (``approx_n_clusters`` = the true k) on the same data, each
size in its own fresh process, for a side-by-side comparison.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .memory import max_rss_mb

__all__ = ["SIZES", "QUICK_SIZES", "METHODS", "run_scale_benchmark", "load_scale_data", "fit_timed",
           "loglog_slope"]

#: dataset -> sizes of the full run
SIZES = {"fashion-mnist": (10_000, 30_000, 70_000), "blobs50": (100_000, 300_000, 1_000_000),
         "blobs200": (20_000,)}
#: a smoke run of a minute or two
QUICK_SIZES = {"fashion-mnist": (2_000,), "blobs50": (5_000, 20_000), "blobs200": (2_000,)}
STAGES = ("knn", "layout", "mst", "segment", "membership")
#: methods a scaling run can time (EVōC needs the ``bench`` extra)
METHODS = ("graphmoe", "evoc")

#: stage -> names in graphmoe.cluster.estimator's namespace that make it up
#: ("Class.method" patches the method on the class the estimator imported).
_STAGE_CALLS = {  # "module:attribute" under graphmoe.cluster; nested calls count once
    "knn": ("estimator:KNNGraph.fit",),
    "layout": ("estimator:ConnectivityClustering._fit_layout",),
    "mst": ("method_choice:core_distances", "method_choice:mutual_reachability_graph",
            "method_choice:minimum_spanning_edges"),
    "segment": ("method_choice:hdbscan_segment", "method_choice:mst_segment",
                "method_choice:partition_modularity"),
    "membership": ("estimator:training_membership",),
}


def load_scale_data(name, n, random_state=0):
    """``(X, y)`` of a scaling run: Fashion-MNIST (stratified) or 50-D blobs."""
    if name == "fashion-mnist":
        from ..datasets import load_fashion_mnist

        return load_fashion_mnist(subset="all", n_samples=n, random_state=random_state)
    if name in ("blobs50", "blobs200"):
        from sklearn.datasets import make_blobs

        d, centers = (50, 20) if name == "blobs50" else (200, 10)
        X, y = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=1.0,
                          random_state=random_state)
        return X.astype(np.float32), y
    raise ValueError(f"unknown scaling dataset {name!r}; choose from {sorted(SIZES)}.")


class _StageClock:
    """Wall time and RSS high-water rise per stage; nested calls count once (outermost)."""

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.cpu_seconds = dict.fromkeys(STAGES, 0.0)
        self.rise_mb = dict.fromkeys(STAGES, 0.0)
        self._depth = 0

    def wrap(self, stage, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            before, start, cpu = max_rss_mb(), time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
                self.cpu_seconds[stage] += time.process_time() - cpu
                self.rise_mb[stage] += max_rss_mb() - before
                self._depth -= 1
        return timed


@contextlib.contextmanager
def _stage_clock():
    """Patch the estimator's steps with timers for the duration of the block."""
    clock, undo = _StageClock(), []
    for stage, names in _STAGE_CALLS.items():
        for qualified in names:
            module_name, _, name = qualified.partition(":")
            module = importlib.import_module(f"graphmoe.cluster.{module_name}")
            owner_name, _, attr = name.rpartition(".")
            owner = getattr(module, owner_name, None) if owner_name else module
            if owner is None or not hasattr(owner, attr):
                continue  # a step this version of the estimator does not have
            original = getattr(owner, attr)
            setattr(owner, attr, clock.wrap(stage, original))
            undo.append((owner, attr, original))
    try:
        yield clock
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)


def fit_timed(X, y, params=None):
    """Fit ``ConnectivityClustering(**params)`` on ``X``; return a dict of time, stages, ARI."""
    from sklearn.metrics import adjusted_rand_score

    from ..cluster import ConnectivityClustering

    with _stage_clock() as clock:
        start, cpu = time.perf_counter(), time.process_time()
        cc = ConnectivityClustering(**(params or {})).fit(X)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
    # CPU seconds (all threads) next to wall time: on a shared machine they stay meaningful
    out = {"time_s": total, "cpu_s": cpu, "ari": float(adjusted_rand_score(y, cc.labels_)),
           "n_clusters": int(cc.n_clusters_), "noise_frac": float(np.mean(cc.labels_ < 0))}
    for stage in STAGES:
        out[f"{stage}_s"] = clock.seconds[stage]
        out[f"{stage}_cpu_s"] = clock.cpu_seconds[stage]
        out[f"{stage}_mb"] = clock.rise_mb[stage]
    out["other_s"] = total - sum(clock.seconds.values())
    return out


def _fit_evoc(X, y, params):
    """Fit EVōC once; the same row keys as :func:`fit_timed` (no stages)."""
    import evoc
    from sklearn.metrics import adjusted_rand_score

    start, cpu = time.perf_counter(), time.process_time()
    labels = evoc.EVoC(approx_n_clusters=params.get("n_clusters"),
                       random_state=params["random_state"]).fit_predict(X)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"time_s": total, "cpu_s": cpu, "ari": float(adjusted_rand_score(y, labels)),
            "n_clusters": int(np.unique(labels[labels >= 0]).size),
            "noise_frac": float(np.mean(labels < 0))}


def _worker(name, n, true_k, random_state, second_fit=True, method="graphmoe"):
    """One size in this (fresh) process: one or two fits; returns the result row."""
    X, y = load_scale_data(name, n, random_state)
    data_mb = max_rss_mb()
    params = {"random_state": random_state}
    if true_k:
        params["n_clusters"] = int(np.unique(y).size)
    fit = _fit_evoc if method == "evoc" else fit_timed
    first = fit(X, y, params)
    row = {"dataset": name, "method": method, "n": n, "d": X.shape[1],
           "rss_after_load_mb": data_mb}
    row.update({f"first_{k}": v for k, v in first.items()})
    row.update(second_time_s=math.nan, second_cpu_s=math.nan)
    if second_fit:
        second = fit(X, y, params)
        row.update(second_time_s=second["time_s"], second_cpu_s=second["cpu_s"])
    row["peak_rss_mb"] = max_rss_mb()
    return row


def _run_fresh(name, n, true_k, random_state, timeout, max_rss_gb, second_fit=True,
               method="graphmoe"):
    """The worker in a new interpreter (nothing compiled or imported yet); a row or an error.

    The worker is killed when it runs past ``timeout`` seconds or its RSS passes
    ``max_rss_gb`` (the machine is shared: a run over budget must not swap others out).
    """
    import psutil

    cmd = [sys.executable, "-m", "graphmoe.bench.scale", name, str(n), str(int(true_k)),
           str(random_state), str(int(second_fit)), method]
    base = {"dataset": name, "method": method, "n": n}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        try:
            why = _watch(proc, psutil, timeout, max_rss_gb)
        finally:  # Ctrl-C or any error here must not leave the worker running
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if why:
            return {**base, "error": why}
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read().strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (errors or ["no output"])[-1]
        return {**base, "error": f"exit {proc.returncode}: {tail}"[:200]}
    return json.loads(lines[-1])


def _watch(proc, psutil, timeout, max_rss_gb):
    """Poll the worker until it exits; the reason to kill it, or None."""
    start = time.monotonic()
    while proc.poll() is None:
        try:
            rss_gb = psutil.Process(proc.pid).memory_info().rss / 2**30
        except psutil.NoSuchProcess:  # exited between poll() and here: reaped by the caller
            return None
        if rss_gb > max_rss_gb:
            return f"killed: RSS above {max_rss_gb:g} GiB"
        if time.monotonic() - start > timeout:
            return f"killed after {timeout:.0f} s"
        time.sleep(0.25)
    return None


def loglog_slope(n, seconds):
    """Least-squares slope of log(seconds) against log(n) (nan with fewer than 2 sizes)."""
    n, seconds = np.asarray(n, float), np.asarray(seconds, float)
    ok = np.isfinite(seconds) & (seconds > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(n[ok]), np.log(seconds[ok]), 1)[0])


def _plan(datasets, quick, max_n, sizes=None):
    default = QUICK_SIZES if quick else SIZES
    names = list(default) if datasets is None else list(datasets)
    unknown = [d for d in names if d not in SIZES]
    if unknown:
        raise ValueError(f"unknown scaling dataset(s) {unknown}; choose from {sorted(SIZES)}.")
    return [(d, n) for d in names for n in (sizes or default[d])
            if max_n is None or n <= max_n]


def _slopes(table):
    rows = []
    for (name, method), part in table.groupby(["dataset", "method"], sort=False):
        if "first_time_s" not in part:
            continue
        rows.append({"dataset": name, "method": method, "sizes": len(part["first_time_s"].dropna()),
                     "slope_first_fit": loglog_slope(part["n"], part["first_time_s"]),
                     "slope_first_cpu": loglog_slope(part["n"], part["first_cpu_s"]),
                     "slope_second_fit": loglog_slope(part["n"], part["second_time_s"]),
                     "slope_second_cpu": loglog_slope(part["n"], part["second_cpu_s"])})
    return pd.DataFrame(rows)


def _markdown(table, slopes):
    from .report import markdown_table

    main_cols = ["dataset", "method", "n", "first_time_s", "second_time_s", "first_cpu_s",
                 "second_cpu_s", "peak_rss_mb",
                 "rss_after_load_mb", "first_ari",
                 "first_n_clusters", "error"]
    stage_cols = ["dataset", "method", "n"] + [f"{s}_s" for s in STAGES] + ["other_s"] + \
        [f"{s}_cpu_s" for s in STAGES] + [f"{s}_mb" for s in STAGES]
    shown = table.rename(columns={f"first_{s}_{u}": f"{s}_{u}" for s in STAGES
                                  for u in ("s", "cpu_s", "mb")} | {"first_other_s": "other_s"})
    parts = ["# graphmoe scaling: ConnectivityClustering, first fit in a fresh process", "",
             markdown_table(table.reindex(columns=main_cols), floatfmt=".4g", index=False), "",
             "## First fit by stage (wall s, CPU s; MiB the stage raised the RSS high-water mark)",
             "", markdown_table(shown.reindex(columns=stage_cols), floatfmt=".4g", index=False),
             "", "## Log-log slope of time against n", "",
             markdown_table(slopes, floatfmt=".2f", index=False), ""]
    return "\n".join(parts)


def run_scale_benchmark(out_dir, datasets=None, quick=False, max_n=None, true_k=True,
                        timeout=3600, max_rss_gb=8.0, sizes=None, second_fit=True,
                        random_state=0, verbose=True, methods=("graphmoe",)):
    """Run the scaling curve, one fresh process per size; write results.csv/.md.

    Parameters
    ----------
    out_dir : str or Path
    datasets : list of {"fashion-mnist", "blobs50"}, optional
        Default: both.
    quick : bool
        Small sizes only (a smoke run).
    max_n : int, optional
        Leave out sizes above this.
    sizes : list of int, optional
        These sizes for every dataset instead of :data:`SIZES` (or :data:`QUICK_SIZES`).
    true_k : bool
        Give the estimator the true number of clusters (``n_clusters``).
    timeout : float
        Seconds after which one size's process is killed (its row says so).
    max_rss_gb : float
        A size's process is killed when its resident memory passes this (GiB).
    second_fit : bool
        Also time a second fit in the same process (the warm cost).
    random_state : int
    verbose : bool
        Print each row as it finishes.
    methods : tuple of {"graphmoe", "evoc"}
        What to time on every size, each in its own fresh process.

    Returns
    -------
    pandas.DataFrame
        One row per (dataset, n).
    """
    plan = _plan(datasets, quick, max_n, sizes)
    if not plan:
        raise ValueError(f"no size is at most max_n={max_n}.")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise ValueError(f"unknown scaling method(s) {unknown}; choose from {list(METHODS)}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for (name, n), method in ((step, m) for step in plan for m in methods):
        rows.append(_run_fresh(name, n, true_k, random_state, timeout, max_rss_gb,
                               second_fit, method))
        if verbose:
            r = rows[-1]
            print(f"{name} n={n} {method}: " + (r.get("error") or
                  f"first {r['first_time_s']:.1f} s, second {r['second_time_s']:.1f} s, "
                  f"CPU {r['first_cpu_s']:.1f} s / {r['second_cpu_s']:.1f} s, "
                  f"peak {r['peak_rss_mb']:.0f} MiB, ARI {r['first_ari']:.3f}"), flush=True)
        table = pd.DataFrame(rows)
        if "error" not in table:
            table["error"] = ""
        table["error"] = table["error"].fillna("")
        table.to_csv(out / "results.csv", index=False)  # after every size: keep partial runs
    slopes = _slopes(table)
    (out / "results.md").write_text(_markdown(table, slopes))
    if verbose:
        print(_markdown(table, slopes))
    return table


if __name__ == "__main__":  # the fresh worker process of _run_fresh
    _name, _n, _true_k, _seed, _second, _method = sys.argv[1:7]
    print(json.dumps(_worker(_name, int(_n), bool(int(_true_k)), int(_seed), bool(int(_second)),
                             _method)))
