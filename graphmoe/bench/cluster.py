"""``graphmoe bench cluster``: the clustering roster on built-ins and batteries.

Writes ``results.csv``, ``results.md`` and PNG plots into ``out_dir`` and
returns the tidy table.
"""
from __future__ import annotations

from pathlib import Path

from .methods import get_methods
from .report import write_report
from .runner import MODES, run_benchmark
from .suites import battery_suite, builtin_suite

__all__ = ["run_cluster_benchmark"]


def run_cluster_benchmark(out_dir, datasets=None, battery=None, methods=None, modes=MODES,
                          n_jobs=1, quick=False, max_samples=10_000, random_state=0,
                          plots=True, verbose=True):
    """Benchmark the clustering roster and write the report.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``results.csv``, ``results.md`` and the plots (created).
    datasets : list of str, optional
        Built-in dataset names (default: moons, pinwheel, spirals, digits; add
        ``"fashion-mnist"`` for a stratified 5,000-image subsample). With ``battery``
        given and ``datasets`` None, only the battery runs.
    battery : str or Path, optional
        A benchmark-battery folder (``<name>.data.gz`` + ``<name>.labels0.gz``, ...).
    methods : list of str, optional
        Roster entries (default: all importable ones, without EVoC and UMAP + HDBSCAN
        in a ``quick`` run; see ``graphmoe.bench.methods``).
    modes : tuple of {"true-k", "no-true-k"}
    n_jobs : int
        Parallel runs (processes).
    quick : bool
        Small versions of the built-ins (a smoke run of a minute or so); EVoC and
        UMAP + HDBSCAN only when named in ``methods``.
    max_samples : int or None
        Larger datasets are subsampled (stratified) to this size; the table says so.
    random_state : int
    plots : bool
        Also write the partition scatters, bar charts and win/loss matrices.
    verbose : bool
        Progress bar and a note of where the files went.

    Returns
    -------
    pandas.DataFrame
        One row per (dataset, method, mode); see :data:`graphmoe.bench.runner.COLUMNS`.
    """
    suite = []
    if datasets is not None or battery is None:
        suite += builtin_suite(datasets, quick=quick, random_state=random_state,
                               max_samples=max_samples)
    if battery is not None:
        suite += battery_suite(battery, max_samples=max_samples, random_state=random_state)
    roster = get_methods(methods, quick=quick)
    result = run_benchmark(suite, roster, modes=modes, n_jobs=n_jobs,
                           random_state=random_state, verbose=verbose)
    out = Path(out_dir)
    write_report(result.table, out)
    if plots:
        from .plots import save_benchmark_plots

        save_benchmark_plots(result, suite, out)
    if verbose:
        print(f"wrote {out / 'results.csv'}, {out / 'results.md'}"
              + (" and plots" if plots else ""))
    return result.table
