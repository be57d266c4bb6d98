"""Input validation shared by every estimator.

scikit-learn's ``check_array`` does most of the work; these wrappers add the
checks graphmoe needs before data reach numba or torch (where a bad array
turns into an unreadable traceback or a hang) and phrase errors so that they
name the problem.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.utils.validation import _check_feature_names, check_array, check_random_state

__all__ = [
    "check_data",
    "check_n_neighbors",
    "check_random_state",
    "check_targets",
    "check_features",
    "check_query_data",
    "check_feature_names",
    "check_magnitude",
    "MAX_ABS_VALUE",
]

#: Largest magnitude accepted in X and y. Squared distances and variances of
#: larger values overflow float64 (1e155**2 > 1.8e308), which turned into
#: reshape errors, "X contains NaN" or silently wrong clusters; the smallest
#: accepted peak magnitude mirrors it (squares of 1e-155 underflow to zero).
MAX_ABS_VALUE = 1e150


def check_data(X, *, name="X", min_samples=2, dtype=np.float64, estimator=None,
               accept_sparse=False):
    """Validate a 2-D numeric array of shape (n_samples, n_features).

    Returns a C-contiguous float array (``dtype``). Raises ``TypeError`` for
    non-numeric input and ``ValueError`` for NaN/inf, empty input, wrong
    dimensionality, or fewer than ``min_samples`` rows.
    """
    if X is None:
        raise ValueError(f"{name} is None; expected an array of shape (n_samples, n_features).")
    if not hasattr(X, "dtype") and not hasattr(X, "__array__"):
        X_arr = np.asarray(X, dtype=object) if not isinstance(X, str) else None
        if X_arr is None:
            raise TypeError(f"{name} must be an array-like of numbers, got a string.")
    else:
        X_arr = X
    dt = getattr(X_arr, "dtype", None)
    if dt is not None and (dt.kind in "OSUV" or dt.kind == "M" or dt.kind == "m"):
        try:
            X_arr = np.asarray(X_arr, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{name} must hold numbers; got dtype {dt} that cannot be converted to float "
                f"({err})."
            ) from None
    ndim = getattr(X_arr, "ndim", None)
    if ndim is not None and ndim != 2:
        hint = (" Reshape 1-D data with X.reshape(-1, 1) (one feature) or X.reshape(1, -1) "
                "(one sample)." if ndim == 1 else "")
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features); got {ndim}-D with shape "
            f"{getattr(X_arr, 'shape', None)}.{hint}"
        )
    try:
        X_out = check_array(
            X_arr,
            dtype=dtype,
            order="C",
            accept_sparse=accept_sparse,
            ensure_2d=True,
            ensure_min_samples=1,
            ensure_all_finite=True,
            estimator=estimator,
            input_name=name,
        )
    except ValueError as err:
        msg = str(err)
        if "could not convert" in msg or "dtype" in msg and "object" in msg:
            raise TypeError(f"{name} must hold numbers: {msg}") from None
        raise
    if X_out.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {X_out.shape[0]} sample(s); at least {min_samples} are required."
        )
    return check_magnitude(X_out, name=name)


def check_magnitude(X, *, name="X"):
    """Refuse values whose squares overflow or underflow float64; returns ``X``.

    Distances, variances and losses square the data: beyond ``MAX_ABS_VALUE``
    they overflow to inf, and when every nonzero value lies below
    ``1 / MAX_ABS_VALUE`` they underflow to zero. Either way results would be
    silently wrong, so the error says to rescale (every estimator here is
    scale-equivariant or standardises its input, so dividing by a constant
    loses nothing).
    """
    values = X.data if hasattr(X, "tocsr") else X  # scipy.sparse: the stored entries
    if values.size == 0 or values.dtype.kind not in "fc":
        return X
    # max and min, not abs(values): no temporary as large as the data
    peak = (max(float(np.max(values)), -float(np.min(values))) if values.dtype.kind == "f"
            else float(np.max(np.abs(values))))
    if peak > MAX_ABS_VALUE:
        raise ValueError(
            f"{name} contains values up to {peak:.3g} in magnitude; graphmoe accepts at most "
            f"{MAX_ABS_VALUE:g} (squared distances would overflow float64). Rescale {name}, "
            f"e.g. divide it by its largest absolute value.")
    if 0.0 < peak < 1.0 / MAX_ABS_VALUE:
        raise ValueError(
            f"every value of {name} is below {peak:.3g} in magnitude; graphmoe needs the "
            f"largest to be at least {1.0 / MAX_ABS_VALUE:g} (squared distances would "
            f"underflow to zero). Rescale {name}, e.g. divide it by its largest absolute value.")
    return X


def check_feature_names(estimator, X, *, reset):
    """Record (``reset=True``) or check the column names of a DataFrame ``X``.

    Sets ``feature_names_in_`` at fit, and at predict time raises scikit-learn's
    ``ValueError`` when the columns are renamed or reordered (answers would
    silently change otherwise). Call it on the caller's ``X``, before it is
    converted to an array.
    """
    _check_feature_names(estimator, X, reset=reset)


def check_features(X, n_features_in, *, name="X"):
    """Raise a clear ``ValueError`` when ``X`` has the wrong number of columns."""
    if X.shape[1] != n_features_in:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the estimator was fitted with "
            f"{n_features_in} features."
        )
    return X


def check_n_neighbors(n_neighbors, n_samples, *, name="n_neighbors", clip=False):
    """Validate ``n_neighbors`` against the number of samples.

    ``n_neighbors`` counts neighbours other than the point itself, so it must
    satisfy ``1 <= n_neighbors < n_samples``. With ``clip=True`` a larger
    value is lowered to ``n_samples - 1`` with a warning (as umap-learn does),
    so that default parameters work on small data.
    """
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(n_neighbors).__name__}.")
    if n_neighbors < 1:
        raise ValueError(f"{name} must be >= 1, got {n_neighbors}.")
    if n_neighbors >= n_samples and clip and n_samples >= 2:
        warnings.warn(f"{name}={n_neighbors} is not smaller than the number of samples "
                      f"({n_samples}); using {n_samples - 1}.", UserWarning, stacklevel=3)
        return int(n_samples - 1)
    if n_neighbors >= n_samples:
        raise ValueError(
            f"{name}={n_neighbors} must be smaller than the number of samples "
            f"({n_samples}): a point has at most n_samples - 1 neighbours."
        )
    return int(n_neighbors)


def check_targets(y, n_samples, *, name="y", allow_2d=True, dtype=np.float64):
    """Validate regression/classification targets against ``n_samples`` rows."""
    if y is None:
        raise ValueError(f"{name} is required (got None).")
    y_arr = np.asarray(y)
    if y_arr.dtype.kind in "OSU" and dtype is not None and np.dtype(dtype).kind == "f":
        raise TypeError(f"{name} must be numeric, got dtype {y_arr.dtype}.")
    if y_arr.ndim == 0 or y_arr.ndim > (2 if allow_2d else 1):
        raise ValueError(
            f"{name} must be {'1-D or 2-D' if allow_2d else '1-D'}; got shape {y_arr.shape}."
        )
    if y_arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {y_arr.shape[0]} rows but X has {n_samples}; they must match."
        )
    if dtype is not None:
        y_arr = y_arr.astype(dtype, copy=False)
        if y_arr.dtype.kind == "f" and not np.all(np.isfinite(y_arr)):
            raise ValueError(f"{name} contains NaN or infinity.")
        check_magnitude(y_arr, name=name)
    return y_arr


def check_query_data(X, n_features_in, owner):
    """Validate new points for a fitted estimator named ``owner``.

    Same checks as ``check_data`` with scikit-learn's wording for the two
    common mistakes (a 1-D sample, a wrong number of features).
    """
    ndim = getattr(X, "ndim", None)
    if ndim is None and not isinstance(X, str):
        try:
            ndim = np.ndim(X)
        except (TypeError, ValueError):
            ndim = None
    if ndim == 1:
        raise ValueError(f"{owner} expects a 2-D array of new points, got a 1-D array. Reshape "
                         "your data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) "
                         "for one sample.")
    X = check_data(X, min_samples=1)
    if X.shape[1] != n_features_in:
        raise ValueError(f"X has {X.shape[1]} features, but {owner} is expecting "
                         f"{n_features_in} features as input.")
    return X
