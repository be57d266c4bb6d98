"""Benchmark datasets: the built-ins and battery folders, as :class:`BenchDataset` rows.

Every dataset carries its reference partitions and the label that marks noise
(``0`` in batteries, none in the built-ins, whose class 0 is a real class).
Large datasets are subsampled (stratified by the first reference, reproducible),
and the table says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_random_state

__all__ = ["BenchDataset", "builtin_suite", "battery_suite", "subsample"]

@dataclass
class BenchDataset:
    """A dataset ready for the runner.

    Attributes
    ----------
    name : str
    X : ndarray of shape (n, d)
    labels : list of ndarray of shape (n,)
        Alternative reference partitions; a run is scored against the best one.
    n_clusters : int
        The "true k" given to methods in true-k mode (from the first reference).
    noise_label : int or None
        Reference label of noise points (left out of scoring).
    note : str
        Free text for the table, e.g. "subsampled 5000 of 70000".
    """

    name: str
    X: np.ndarray = field(repr=False)
    labels: list = field(repr=False)
    n_clusters: int = 0
    noise_label: object = None
    note: str = ""

    @property
    def shape(self):
        return self.X.shape


def subsample(n, size, stratify=None, random_state=None):
    """Sorted indices of a reproducible (stratified) subsample of ``size`` out of ``n``."""
    rng = check_random_state(random_state)
    if size is None or size >= n:
        return np.arange(n)
    if stratify is None:
        return np.sort(rng.choice(n, size, replace=False))
    from sklearn.model_selection import train_test_split

    seed = rng.randint(2**31 - 1)
    try:
        idx, _ = train_test_split(np.arange(n), train_size=size, stratify=stratify,
                                  random_state=seed)
    except ValueError:  # a class too rare to stratify: fall back to a plain sample
        idx = np.random.RandomState(seed).choice(n, size, replace=False)
    return np.sort(idx)


def _limit(ds, max_samples, random_state):
    n = ds.X.shape[0]
    if max_samples is None or n <= max_samples:
        return ds
    idx = subsample(n, max_samples, stratify=ds.labels[0], random_state=random_state)
    note = "; ".join(filter(None, [ds.note, f"subsampled {max_samples} of {n}"]))
    return BenchDataset(ds.name, ds.X[idx], [lab[idx] for lab in ds.labels],
                        ds.n_clusters, ds.noise_label, note)


def builtin_suite(names=None, quick=False, random_state=0, max_samples=None):
    """The built-in datasets as a list of :class:`BenchDataset`.

    Names and sizes come from the registry ``graphmoe.datasets.BUILTIN`` (default: the
    entries with ``bench_default``; Fashion-MNIST only when named).
    """
    from ..datasets import BUILTIN, load

    if names is None:
        names = [name for name, entry in BUILTIN.items() if entry.bench_default]
    unknown = [n for n in names if n not in BUILTIN]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown}; built-ins are {sorted(BUILTIN)}.")
    suite = []
    for name in names:
        entry = BUILTIN[name]
        kwargs = {**entry.bench, **(entry.bench_quick if quick else {})}
        X, y = load(name, random_state=random_state, **kwargs)
        note = ""
        if name == "fashion-mnist":
            total = 10_000 if {**entry.defaults, **kwargs}["subset"] == "test" else 70_000
            note = f"subsampled {len(X)} of {total}"
        y = np.asarray(y, dtype=np.int64)
        ds = BenchDataset(name, np.asarray(X, dtype=np.float64), [y],
                          int(np.unique(y).size), None, note)
        suite.append(_limit(ds, max_samples, random_state))
    return suite


def battery_suite(path, names=None, max_samples=10_000, random_state=0):
    """The datasets of a battery folder (label 0 = noise) as :class:`BenchDataset` rows.

    Datasets with more than ``max_samples`` points are subsampled (stratified).
    """
    from ..datasets.battery import load_battery

    from pathlib import Path

    battery = load_battery(path, names=names)
    prefix = Path(path).resolve().name
    suite = []
    for name, entry in battery.items():
        # prefixed with the battery so that "wut/x2" and a built-in never collide
        ds = BenchDataset(f"{prefix}/{name}", entry.X, entry.labels, entry.n_clusters, 0, "")
        suite.append(_limit(ds, max_samples, random_state))
    return suite
