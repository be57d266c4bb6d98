"""Fault tolerance shared by the torch estimators: all-or-nothing fits and checkpoints.

* :func:`fit_transaction` gives ``fit`` the strong exception guarantee: if
  anything is raised inside it (a ``FloatingPointError`` from the NaN guard,
  a ``KeyboardInterrupt``, a bad parameter found late), the estimator's
  ``__dict__`` is put back as it was before the call. A first fit that fails
  therefore leaves an unfitted estimator, a failed refit the previous model.
* Checkpoints are plain dicts of tensors, numbers, strings and lists, written
  with ``torch.save`` to a temporary file in the target folder and moved into
  place with ``os.replace`` (an interrupted write never destroys the previous
  checkpoint), and read with ``torch.load(weights_only=True)``, which
  rebuilds no arbitrary objects and runs no code.
* A checkpoint records what it was made from (estimator class, parameters,
  a SHA-256 of the training data); resuming from a checkpoint of another
  estimator, other parameters or other data is refused with a ``ValueError``.
"""
from __future__ import annotations

import hashlib
import numbers
import os
import tempfile
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["fit_transaction", "checkpoint_path", "save_checkpoint", "load_checkpoint",
           "fit_signature", "numpy_rng_state", "set_numpy_rng_state", "forked_torch_rng",
           "torch_rng_state", "set_torch_rng_state", "FORMAT_VERSION"]

FORMAT_VERSION = 1
#: parameters that may differ between an interrupted fit and its resumption.
_FREE_PARAMS = frozenset({"verbose", "checkpoint_dir", "checkpoint_every", "device",
                          "num_threads"})
_SUFFIX = ".ckpt"


@contextmanager
def fit_transaction(estimator):
    """Restore ``estimator.__dict__`` if the body raises (anything, KeyboardInterrupt too)."""
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


def _cuda_index(device):
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.cuda.current_device() if device.index is None else device.index


def forked_torch_rng(device):
    """``torch.random.fork_rng`` over the CPU generator and, on CUDA, the device's own."""
    index = _cuda_index(device)
    return torch.random.fork_rng(devices=[] if index is None else [index])


def torch_rng_state(device):
    """torch's CPU random state, plus the CUDA device's on a GPU fit."""
    state = {"cpu": torch.get_rng_state()}
    index = _cuda_index(device)
    if index is not None:
        state["cuda"] = torch.cuda.get_rng_state(index)
    return state


def set_torch_rng_state(state, device):
    torch.set_rng_state(state["cpu"])
    index = _cuda_index(device)
    if index is not None and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], index)


def checkpoint_path(folder, estimator):
    """``folder/<ClassName>.ckpt``: one file per estimator class, so an embedder inside
    a GraphMoE can share the folder of its parent."""
    return os.path.join(os.fspath(folder), type(estimator).__name__ + _SUFFIX)


def fit_signature(estimator, *arrays):
    """What a checkpoint must match to be resumed: class, parameters, data."""
    params = {k: v for k, v in estimator.get_params(deep=False).items()
              if k not in _FREE_PARAMS}
    digest = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        a = np.ascontiguousarray(np.asarray(a))
        digest.update(f"{a.shape}{a.dtype}".encode())
        digest.update(a.tobytes())
    return {"format": FORMAT_VERSION, "estimator": type(estimator).__name__,
            "params": repr(sorted(params.items())), "data": digest.hexdigest()}


def save_checkpoint(state, path):
    """Write ``state`` atomically: temporary file in the same folder, fsync, ``os.replace``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(resume, estimator, signature):
    """The checkpoint dict to resume from, or None (a folder without one: start afresh).

    ``resume`` is a checkpoint file or a folder holding ``<ClassName>.ckpt``.
    """
    if not isinstance(estimator.random_state, numbers.Integral):
        raise ValueError(f"{type(estimator).__name__}: resume needs an integer random_state; "
                         "only then does the resumed fit reach the result of an uninterrupted "
                         "one.")
    path = os.fspath(resume)
    if os.path.isdir(path):
        path = checkpoint_path(path, estimator)
        if not os.path.exists(path):
            return None
    elif not os.path.exists(path):
        raise FileNotFoundError(f"resume={resume!r}: no such checkpoint file or folder.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, foreign or pickled-object files all end here
        raise ValueError(f"{path} is not a readable graphmoe checkpoint ({err}).") from None
    meta = state.get("meta") if isinstance(state, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a graphmoe checkpoint of format {FORMAT_VERSION}.")
    for key, what in (("estimator", "estimator class"), ("params", "parameters"),
                      ("data", "training data")):
        if meta.get(key) != signature[key]:
            raise ValueError(f"{path} was written by a fit with other {what}; resume it with "
                             f"the same estimator, parameters and data.")
    return state


def numpy_rng_state(rng):
    """A ``RandomState``'s MT19937 state as tensors and numbers (no pickling needed)."""
    state = rng.get_state(legacy=False)
    return {"key": torch.from_numpy(state["state"]["key"].astype(np.int64)),
            "pos": int(state["state"]["pos"]), "has_gauss": int(state["has_gauss"]),
            "gauss": float(state["gauss"])}


def set_numpy_rng_state(rng, saved):
    rng.set_state({"bit_generator": "MT19937",
                   "state": {"key": saved["key"].numpy().astype(np.uint32),
                             "pos": int(saved["pos"])},
                   "has_gauss": int(saved["has_gauss"]), "gauss": float(saved["gauss"])})
