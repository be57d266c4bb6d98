"""Datasets: spiral generators, two moons, sklearn digits, Fashion-MNIST.

``load(name, ...)`` gives every built-in dataset by name as ``(X, labels)``;
``available()`` lists the names (Fashion-MNIST only when its files are found).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from .builtin import load_digits, make_moons
from .fashion_mnist import (FASHION_MNIST_CLASSES, fashion_mnist_home, load_fashion_mnist,
                            read_idx)
from .battery import BatteryDataset, load_battery
from .spirals import make_affine_targets, make_interleaved_spirals, make_pinwheel_spirals

__all__ = [
    "make_pinwheel_spirals", "make_interleaved_spirals", "make_affine_targets",
    "make_moons", "load_digits", "load_fashion_mnist", "fashion_mnist_home", "read_idx",
    "FASHION_MNIST_CLASSES", "load", "available", "BUILTIN", "Builtin", "load_battery",
    "BatteryDataset",
]

class Builtin(NamedTuple):
    """One built-in dataset: how to load it, and at what size the benchmarks use it.

    Attributes
    ----------
    loader : callable
        Returns ``(X, labels)``.
    defaults : dict
        Keyword arguments of ``load(name)``.
    seeded : bool
        The loader takes ``random_state`` (a generator, or a random subsample).
    bench : dict
        Overrides of ``defaults`` in ``graphmoe bench cluster``.
    bench_quick : dict
        Overrides in ``graphmoe bench cluster --quick``.
    bench_default : bool
        Run by ``graphmoe bench cluster`` when no dataset is named.
    """

    loader: Callable
    defaults: dict
    seeded: bool = True
    bench: dict = {}
    bench_quick: dict = {}
    bench_default: bool = True


#: The one registry of built-in datasets: name -> :class:`Builtin`. The CLI and the
#: benchmarks read names and sizes from here.
BUILTIN = {
    "moons": Builtin(make_moons, {"n_samples": 2000, "noise": 0.06},
                     bench_quick={"n_samples": 600}),
    "pinwheel": Builtin(make_pinwheel_spirals, {"n_per_arm": 1000},
                        bench_quick={"n_per_arm": 150}),
    "spirals": Builtin(make_interleaved_spirals, {"n_per_arm": 400, "noise": 0.1},
                       bench_quick={"n_per_arm": 300}),
    "digits": Builtin(load_digits, {}, seeded=False),
    # 5,000 of the 70,000 images in the benchmark, and only when named: its ``+ae``
    # runs alone take minutes on two cores
    "fashion-mnist": Builtin(load_fashion_mnist, {"subset": "all"},
                             bench={"n_samples": 5000},
                             bench_quick={"subset": "test", "n_samples": 1000},
                             bench_default=False),
}


def available():
    """Names of the built-in datasets that can be loaded on this machine."""
    names = [n for n in BUILTIN if n != "fashion-mnist"]
    home = fashion_mnist_home()
    if any((home / f).is_file() for f in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")):
        names.append("fashion-mnist")
    return names


def load(name, random_state=0, **kwargs):
    """Load a built-in dataset by name; ``kwargs`` override its defaults.

    Returns ``(X, labels)``. Raises ``ValueError`` for an unknown name.
    """
    if name not in BUILTIN:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(BUILTIN)}.")
    entry = BUILTIN[name]
    params = {**entry.defaults, **kwargs}
    if entry.seeded:
        params.setdefault("random_state", random_state)
    return entry.loader(**params)
