"""Row lookup: which training sample a query row is a copy of.

This is what makes ``predict(X_train) == labels_`` hold for every backend:
approximate search may miss a point's own copy, a hash table of the rows
cannot. It also groups identical training rows so that they share a label.

Guarantee: a query row that equals a training row exactly, or equals it
after a round trip through float32 (``X.astype(np.float32)``, as data
written by float32 pipelines are), is found. Rows are keyed by their values
rounded to float32 precision (24-bit mantissa, any exponent, so huge and tiny
values key as well as ordinary ones); an exact float64 match wins over a
float32-rounded one. Two distinct training rows that agree to float32
precision share a key; a rounded query then maps to the first of them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RowLookup", "float32_row_keys", "row_projection"]

#: Values per block of the row-wise passes below: their float64 temporaries stay
#: ~10 MB instead of several copies of X (Fashion-MNIST 70k: ~1.5 GB unblocked).
_BLOCK_VALUES = 1 << 20


def _row_blocks(X):
    step = max(1, _BLOCK_VALUES // max(1, X.shape[1]))
    return (slice(start, start + step) for start in range(0, X.shape[0], step))


def row_projection(X):
    """A number per row from its contents only: ``X @ v`` with a fixed random ``v``.

    Distinct rows get distinct values (almost surely, integer data included),
    identical rows equal ones, whatever the row order: a tie-breaker that
    does not depend on where a row sits.
    """
    v = np.random.default_rng(20240611).normal(size=X.shape[1])
    scale = max(float(np.max(X)), -float(np.min(X)), 1e-300) if X.size else 1.0
    out = np.empty(X.shape[0])
    for rows in _row_blocks(X):
        out[rows] = (np.asarray(X[rows], dtype=np.float64) / scale) @ v
    return out


def float32_row_keys(X):
    """Per-row hash of the values rounded to a float32 mantissa (exponent kept in full).

    ``float32_row_keys(X) == float32_row_keys(X.astype(np.float32).astype(np.float64))``
    for every row within float32's normal range.
    """
    keys = []
    for rows in _row_blocks(X):  # a block at a time: bounded temporaries
        # Adding 0.0 maps -0.0 to 0.0 so that equal rows have equal keys.
        mantissa, exponent = np.frexp(np.asarray(X[rows], dtype=np.float64) + 0.0)
        rounded = mantissa.astype(np.float32)
        # Rounding can carry the mantissa up to +-1.0: renormalise to 0.5 x 2^(e+1).
        carry = np.abs(rounded) == 1.0
        rounded[carry] *= np.float32(0.5)
        exponent = exponent + carry
        key_bytes = np.ascontiguousarray(
            np.concatenate([rounded.view(np.int32), exponent.astype(np.int32)], axis=1))
        keys.extend(hash(row.tobytes()) for row in key_bytes)
    return keys


class RowLookup:
    """Hash table from (float32-rounded) row contents to the training rows holding them.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64 or float32 (kept by reference)

    Attributes
    ----------
    representative : ndarray of shape (n,)
        For every row, the first row identical to it in float64 (itself if unique).

    Notes
    -----
    Only ``X`` is part of the state (pickle, ``graphmoe.save``): the table
    is rebuilt on load, since Python's string hashes differ between processes.
    """

    def __init__(self, X):
        self._X = X
        self._build()

    def _build(self):
        X = self._X
        self._table = {}
        rep = np.arange(X.shape[0])
        for i, key in enumerate(float32_row_keys(X)):
            bucket = self._table.setdefault(key, [])
            for j in bucket:
                if np.array_equal(X[j], X[i]):
                    rep[i] = j
                    break
            else:
                bucket.append(i)
        self.representative = rep

    def __getstate__(self):
        return {"_X": self._X}

    def __setstate__(self, state):
        self._X = state["_X"]
        self._build()

    def find(self, Y):
        """Index of the training row equal to each row of ``Y`` (-1 where none is).

        Exact matches first; otherwise a training row equal to the query up to
        float32 round-off.
        """
        out = np.full(Y.shape[0], -1, dtype=np.int64)
        for i, key in enumerate(float32_row_keys(Y)):
            bucket = self._table.get(key, ())
            for j in bucket:
                if np.array_equal(self._X[j], Y[i]):
                    out[i] = j
                    break
            else:
                if bucket:
                    out[i] = bucket[0]
        return out
