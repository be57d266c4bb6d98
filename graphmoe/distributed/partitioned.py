"""Assignment of data larger than memory: a fitted estimator mapped over dask partitions.

Fit on a sample in memory (:func:`sample_rows`), then assign every row with
:func:`predict_blocks`, :func:`predict_proba_blocks`, :func:`transform_blocks`
or :func:`route_blocks`: a ``dask.array`` in, a lazy ``dask.array`` out, one
task per row block, run by whichever scheduler is active (a
``dask.distributed`` client when one exists). The estimator enters the task
graph once, as one key, so each worker unpickles it once per block rather
than per row. Rows never depend on one another, so block ``i`` of the output
is the estimator's answer on block ``i`` of the input, exactly.

Dask is an optional dependency (``pip install graphmoe[dask]``); this module
is the only one that imports it.
"""
from __future__ import annotations

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError("graphmoe.distributed.partitioned needs dask: "
                      "pip install 'graphmoe[dask]' (dask[array] and distributed).") from err

__all__ = ["sample_rows", "predict_blocks", "predict_proba_blocks", "transform_blocks",
           "route_blocks"]


def _check_rows(X):
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask.array.Array, got {type(X).__name__}; "
                        "wrap it with dask.array.from_array(X, chunks=(rows, -1)).")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() first.")
    # an estimator needs whole rows: all the columns of a row in one block
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def sample_rows(X, n_samples, random_state=None):
    """``n_samples`` distinct rows of the dask array ``X`` drawn uniformly, as numpy.

    The rows come back in their order in ``X``; ``random_state`` makes the
    draw reproducible. Use it to fit in memory before assigning everything.
    """
    X = _check_rows(X)
    n = X.shape[0]
    if not 1 <= n_samples <= n:
        raise ValueError(f"n_samples must be in [1, {n}] (the rows of X), got {n_samples}.")
    idx = np.sort(np.random.RandomState(random_state).choice(n, n_samples, replace=False))
    return X[idx].compute()


def _apply(block, estimator, method, dtype):
    out = getattr(estimator, method)(block)
    if isinstance(out, tuple):  # route: (experts, weights) side by side in one block
        out = np.hstack([np.asarray(o, dtype=dtype) for o in out])
    return np.asarray(out, dtype=dtype)


def _map(estimator, X, method):
    if not hasattr(estimator, method):
        raise TypeError(f"{type(estimator).__name__} has no method {method!r}.")
    X = _check_rows(X)
    # a one-row probe gives the output's width and dtype (and fails early on a bad input)
    probe = getattr(estimator, method)(X[:1].compute())
    parts = probe if isinstance(probe, tuple) else (probe,)
    dtype = np.result_type(*[np.asarray(p).dtype for p in parts])
    widths = [1 if np.ndim(p) == 1 else np.shape(p)[1] for p in parts]
    est = dask.delayed(estimator, pure=True, traverse=False)
    if len(parts) == 1 and np.ndim(probe) == 1:
        return X.map_blocks(_apply, est, method, dtype, dtype=dtype, drop_axis=1)
    return X.map_blocks(_apply, est, method, dtype, dtype=dtype,
                        chunks=(X.chunks[0], (sum(widths),))), widths


def predict_blocks(estimator, X):
    """``estimator.predict`` over the row blocks of ``X``; a lazy (n_samples,) dask array."""
    out = _map(estimator, X, "predict")
    return out if isinstance(out, da.Array) else out[0]


def predict_proba_blocks(estimator, X):
    """``estimator.predict_proba`` over the row blocks; lazy (n_samples, n_columns)."""
    return _map(estimator, X, "predict_proba")[0]


def transform_blocks(estimator, X):
    """``estimator.transform`` over the row blocks; lazy (n_samples, n_components)."""
    return _map(estimator, X, "transform")[0]


def route_blocks(estimator, X):
    """``estimator.route`` over the row blocks: lazy ``(experts, weights)``, each (n, top_k).

    Both come from one pass over each block; ``experts`` is int64.
    """
    both, (k, _) = _map(estimator, X, "route")
    return both[:, :k].astype(np.int64), both[:, k:]
