"""Fashion-MNIST from local IDX files (no download at run time).

Debian ships the data: ``apt-get install dataset-fashion-mnist`` puts the four
``*-idx*-ubyte.gz`` files in ``/usr/share/datasets/fashion-mnist/``. Any other
folder holding the same files (e.g. a copy of the Zalando release) works via
``data_home`` or the ``GRAPHMOE_FASHION_MNIST`` environment variable.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from .._validation import check_random_state

__all__ = ["load_fashion_mnist", "fashion_mnist_home", "read_idx", "FASHION_MNIST_CLASSES"]

DEFAULT_HOME = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def fashion_mnist_home(data_home=None):
    """The folder searched for the IDX files: argument, env var, then Debian's path."""
    return Path(data_home or os.environ.get("GRAPHMOE_FASHION_MNIST") or DEFAULT_HOME)


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"Fashion-MNIST file '{stem}[.gz]' not found in {folder}. Install the data with "
        f"'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu; files land in "
        f"{DEFAULT_HOME}), or download the four IDX files from "
        f"github.com/zalandoresearch/fashion-mnist and pass their folder as data_home= "
        f"or set GRAPHMOE_FASHION_MNIST."
    )


def read_idx(path):
    """Read an IDX file (optionally gzipped) into a numpy array of its stored shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values.")
    return data.reshape(shape)


def load_fashion_mnist(subset="all", n_samples=None, data_home=None, random_state=None,
                       flatten=True):
    """Load Fashion-MNIST as floats in [0, 1].

    Parameters
    ----------
    subset : {"train", "test", "all"}
        60,000 training images, 10,000 test images, or all 70,000.
    n_samples : int or None
        A stratified random subsample of this size (reproducible via ``random_state``).
    data_home : str or Path, optional
        Folder with the IDX files (default: ``$GRAPHMOE_FASHION_MNIST`` or
        ``/usr/share/datasets/fashion-mnist``).
    flatten : bool
        Return images as rows of 784 pixels (default) or as (n, 28, 28).

    Returns
    -------
    X : ndarray of shape (n, 784) (or (n, 28, 28)), float32 in [0, 1]
    y : ndarray of shape (n,), int64 class in 0..9 (names in ``FASHION_MNIST_CLASSES``)
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")
    folder = fashion_mnist_home(data_home)
    parts = ["train", "test"] if subset == "all" else [subset]
    Xs, ys = [], []
    for part in parts:
        img_stem, lab_stem = _FILES[part]
        Xs.append(read_idx(_find(folder, img_stem)))
        ys.append(read_idx(_find(folder, lab_stem)))
    X = np.concatenate(Xs).astype(np.float32) / 255.0
    y = np.concatenate(ys).astype(np.int64)
    if n_samples is not None:
        if not 1 <= int(n_samples) <= len(y):
            raise ValueError(f"n_samples must be in [1, {len(y)}], got {n_samples}.")
        if int(n_samples) < len(y):
            from sklearn.model_selection import train_test_split

            idx, _ = train_test_split(np.arange(len(y)), train_size=int(n_samples),
                                      stratify=y if int(n_samples) >= 10 else None,
                                      random_state=check_random_state(random_state))
            idx = np.sort(idx)
            X, y = X[idx], y[idx]
    if flatten:
        X = X.reshape(len(X), -1)
    return X, y
