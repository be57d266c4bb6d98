"""Datasets: spiral generators, two moons, sklearn digits, Fashion-MNIST.

``load(name, ...)`` gives every built-in dataset by name as ``(X, labels)``;
``available()`` lists the names (Fashion-MNIST only when its files are found).
"""
from __future__ import annotations

from .builtin import load_digits, make_moons
from .fashion_mnist import (FASHION_MNIST_CLASSES, fashion_mnist_home, load_fashion_mnist,
                            read_idx)
from .battery import BatteryDataset, load_battery
from .spirals import make_affine_targets, make_interleaved_spirals, make_pinwheel_spirals

__all__ = [
    "make_pinwheel_spirals", "make_interleaved_spirals", "make_affine_targets",
    "make_moons", "load_digits", "load_fashion_mnist", "fashion_mnist_home", "read_idx",
    "FASHION_MNIST_CLASSES", "load", "available", "BUILTIN", "load_battery", "BatteryDataset",
]

#: name -> (loader, default keyword arguments); every loader returns (X, labels).
BUILTIN = {
    "moons": (make_moons, {"n_samples": 2000, "noise": 0.06}),
    "pinwheel": (make_pinwheel_spirals, {"n_per_arm": 1000}),
    "spirals": (make_interleaved_spirals, {"n_per_arm": 400, "noise": 0.1}),
    "digits": (load_digits, {}),
    "fashion-mnist": (load_fashion_mnist, {"subset": "all"}),
}
_RANDOM = {"moons", "pinwheel", "spirals", "fashion-mnist"}


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
    loader, defaults = BUILTIN[name]
    params = {**defaults, **kwargs}
    if name in _RANDOM:
        params.setdefault("random_state", random_state)
    return loader(**params)
