"""Exact row lookup: which training sample is identical to a query row.

This is what makes ``predict(X_train) == labels_`` hold for every backend:
approximate search may miss a point's own copy, a hash table of the rows
cannot. It also groups duplicate training rows so that they share a label.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RowLookup"]


def _row_keys(X):
    # Adding 0.0 maps -0.0 to 0.0 so that equal rows have equal bytes.
    X = np.ascontiguousarray(X + 0.0)
    return [hash(row.tobytes()) for row in X]


class RowLookup:
    """Hash table from row contents to the first training row holding them.

    Parameters
    ----------
    X : ndarray of shape (n, d)

    Attributes
    ----------
    representative : ndarray of shape (n,)
        For every row, the first row identical to it (itself if unique).
    """

    def __init__(self, X):
        self._X = X
        self._table = {}
        rep = np.arange(X.shape[0])
        for i, key in enumerate(_row_keys(X)):
            bucket = self._table.setdefault(key, [])
            for j in bucket:
                if np.array_equal(X[j], X[i]):
                    rep[i] = j
                    break
            else:
                bucket.append(i)
        self.representative = rep

    def find(self, Y):
        """Index of the training row equal to each row of ``Y`` (-1 where none is)."""
        out = np.full(Y.shape[0], -1, dtype=np.int64)
        for i, key in enumerate(_row_keys(Y)):
            for j in self._table.get(key, ()):
                if np.array_equal(self._X[j], Y[i]):
                    out[i] = j
                    break
        return out
