"""Loader for clustering benchmark batteries stored on disk.

A battery is a folder in the layout used by the standard collections of
clustering benchmarks (e.g. Gagolewski's "clustering-data" suites)::

    <battery>/<name>.data.gz      n rows of whitespace-separated numbers
    <battery>/<name>.labels0.gz   n integer labels, one per line (0 = noise)
    <battery>/<name>.labels1.gz   an alternative reference partition, ...

Each dataset may carry several reference partitions; a method is scored
against the best-matching one. Label ``0`` marks noise points, which are left
out of scoring. Plain (uncompressed) ``.data`` / ``.labelsK`` files work too.
"""
from __future__ import annotations

import re
from collections import namedtuple
from pathlib import Path

import numpy as np

__all__ = ["BatteryDataset", "list_battery", "load_battery", "load_battery_dataset"]

#: One battery dataset: ``X`` (n, d) float64, ``labels`` a list of (n,) int arrays,
#: ``n_clusters`` the number of non-noise clusters of the first reference partition.
BatteryDataset = namedtuple("BatteryDataset", ["name", "X", "labels", "n_clusters"])

_DATA_RE = re.compile(r"^(?P<name>.+)\.data(\.gz)?$")
_LABELS_RE = re.compile(r"^(?P<name>.+)\.labels(?P<idx>\d+)(\.gz)?$")


def _battery_folder(path):
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"battery folder {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise NotADirectoryError(f"battery path {str(folder)!r} is not a folder.")
    return folder


def list_battery(path):
    """Names of the datasets in a battery folder (sorted), those with a ``.data`` file."""
    folder = _battery_folder(path)
    names = {m.group("name") for f in folder.iterdir() if (m := _DATA_RE.match(f.name))}
    return sorted(names)


def _label_files(folder, name):
    found = {}
    for f in folder.iterdir():
        m = _LABELS_RE.match(f.name)
        if m and m.group("name") == name:
            found[int(m.group("idx"))] = f
    return [found[i] for i in sorted(found)]


def _read_matrix(path):
    try:
        X = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise ValueError(f"cannot parse {path} as a numeric matrix: {err}") from None
    if X.size == 0:
        raise ValueError(f"{path} holds no data.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{path} contains NaN or infinity.")
    return X


def _read_labels(path, n_samples):
    try:
        y = np.loadtxt(path, dtype=np.float64, ndmin=1)
    except ValueError as err:
        raise ValueError(f"cannot parse {path} as integer labels: {err}") from None
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"{path} holds {y.size} labels but the data file has {n_samples} rows."
        )
    if not np.all(y == np.round(y)) or np.any(y < 0):
        raise ValueError(f"{path} must hold non-negative integer labels (0 = noise).")
    return y.astype(np.int64)


def load_battery_dataset(path, name):
    """Load one dataset of a battery folder as a :class:`BatteryDataset`.

    Raises ``FileNotFoundError`` when the data or all label files are missing and
    ``ValueError`` when a file cannot be parsed or the row counts disagree.
    """
    folder = _battery_folder(path)
    data_files = [folder / f"{name}.data.gz", folder / f"{name}.data"]
    data_file = next((f for f in data_files if f.is_file()), None)
    if data_file is None:
        raise FileNotFoundError(f"no {name}.data.gz (or {name}.data) in battery {str(folder)!r}.")
    label_files = _label_files(folder, name)
    if not label_files:
        raise FileNotFoundError(
            f"dataset {name!r} in {str(folder)!r} has no {name}.labels0.gz reference labels."
        )
    X = _read_matrix(data_file)
    labels = [_read_labels(f, X.shape[0]) for f in label_files]
    n_clusters = int(np.unique(labels[0][labels[0] > 0]).size)
    return BatteryDataset(name, X, labels, n_clusters)


def load_battery(path, names=None):
    """Load the datasets of a benchmark-battery folder.

    Parameters
    ----------
    path : str or Path
        The battery folder (files ``<name>.data.gz``, ``<name>.labels0.gz``, ...).
    names : list of str, optional
        Datasets to load (default: every dataset in the folder).

    Returns
    -------
    dict
        ``name -> BatteryDataset(name, X, labels, n_clusters)`` in sorted name order;
        ``labels`` lists the reference partitions (label 0 = noise).

    Examples
    --------
    >>> battery = load_battery("clustering-data/wut", names=["x2", "x3"])  # doctest: +SKIP
    >>> X, labels = battery["x2"].X, battery["x2"].labels
    """
    available = list_battery(path)
    if names is None:
        names = available
    else:
        names = [names] if isinstance(names, str) else list(names)
        missing = sorted(set(names) - set(available))
        if missing:
            raise ValueError(
                f"dataset(s) {missing} not found in battery {str(path)!r}; "
                f"it holds {available}."
            )
    if not names:
        raise ValueError(f"battery folder {str(path)!r} holds no <name>.data.gz files.")
    return {name: load_battery_dataset(path, name) for name in sorted(names)}
