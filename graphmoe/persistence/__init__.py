"""Saving and loading fitted estimators without pickle: ``graphmoe.save`` / ``graphmoe.load``.

A model file is a zip archive of three members:

* ``arrays.safetensors`` -- every numeric numpy array and torch tensor
  (weights, labels, graphs as CSR components, scaler statistics...);
* ``state.json`` -- everything else: parameters, the cluster hierarchy,
  training history, and the class of every stored object;
* ``manifest.json`` -- format name and version, the library versions that
  wrote it, and SHA-256 checksums of the two other members.

Loading builds objects only from allowlisted classes (graphmoe, scikit-learn,
``torch.nn``, ``torch_geometric.nn``) by setting their stored state, so a
model file cannot run code. Pickle and joblib files are refused, as are
truncated or modified files (checksums) and files from a newer format.

The state is walked generically (``__dict__`` of every estimator, torch
module and sub-object), so new fitted attributes are saved without a
per-estimator schema. Parts that cannot be written as data are rebuilt on
load: the kNN search index of a ``KNNGraph`` (refitted from its training
rows on the first query) and torch-geometric's signature inspectors.

Training rows
-------------
Files hold training rows only where prediction needs them:

* ``KNNGraph`` and ``ConnectivityClustering`` route new points through their
  nearest training points, so they store the training rows (and
  ``ConnectivityClustering`` its exact-row lookup over them);
* ``GraphMoERegressor`` / ``GraphMoEClassifier`` with ``gate="graph"`` (or
  ``hierarchical=True``) route through that clustering and store the gate
  inputs of the training rows (standardised embeddings); with
  ``expert="gnn"`` the experts aggregate over training neighbours, so the
  standardised training features are stored too;
* with any other gate and MLP experts (``"dmvae"``, ``"softmax"``,
  ``"kmeans"``, ...) routing uses learned parameters only: the training
  clustering's rows, kNN index and row lookup are left out. ``hierarchy_``,
  ``clustering_.labels_`` and ``membership_`` survive; ``clustering_``
  cannot ``predict`` after loading. ``keep_training_data=True`` keeps all;
* the embedders (``AutoEncoder``, ``VAE``, ``VaDE``, ``DMVAE``) store weights
  and scaling statistics only.
"""
from __future__ import annotations

import copy
import io

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._archive import FORMAT_VERSION, read_archive, write_archive
from ._codec import Decoder, Encoder

__all__ = ["save", "load", "FORMAT_VERSION"]


def _routes_through_training_rows(estimator):
    return (getattr(estimator, "gate", None) == "graph" or getattr(estimator, "hierarchical", False)
            or getattr(estimator, "expert", None) == "gnn")


def _without_training_rows(estimator):
    """A shallow copy of a MoE estimator without the rows its routing does not need."""
    clustering = getattr(estimator, "clustering_", None)
    if (clustering is None or not hasattr(estimator, "module_")
            or _routes_through_training_rows(estimator)):
        return estimator
    clustering = copy.copy(clustering)
    clustering.knn_ = None  # the training rows (gate inputs) and their search index
    clustering._lookup = None
    # the layout front end keeps the same kNN graph (with the rows) and its own copy
    clustering.layout_ = clustering.layout_knn_ = clustering.embedding_ = None
    out = copy.copy(estimator)
    out.clustering_, out.knn_ = clustering, None
    return out


def save(estimator, path, *, keep_training_data=False):
    """Write a fitted estimator to ``path`` (one file), atomically.

    Parameters
    ----------
    estimator : fitted graphmoe or scikit-learn estimator
        ``KNNGraph``, ``ConnectivityClustering``, an embedder, a GraphMoE
        estimator, or any object built from allowlisted classes.
    path : str or path-like
        Destination file. It is written to a temporary file in the same
        directory, flushed to disk and renamed over ``path``, so an
        interrupted save never destroys an earlier file.
    keep_training_data : bool, default=False
        Also store training rows that prediction does not need (the
        clustering of a GraphMoE estimator with a learned gate); see
        "Training rows" in the module docstring.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        (a ``ValueError``) if ``estimator`` is an unfitted estimator: there is
        nothing to save that ``get_params`` does not already give.
    TypeError
        If the estimator holds an object that cannot be stored as data
        (the message names the attribute).
    """
    if isinstance(estimator, BaseEstimator):
        check_is_fitted(estimator)
    if not keep_training_data:
        estimator = _without_training_rows(estimator)
    from safetensors.numpy import save as save_arrays

    encoder = Encoder()
    tree = encoder.encode(estimator)
    blob = save_arrays(encoder.arrays) if encoder.arrays else b""
    write_archive(path, {"root": tree}, blob, {"class": type(estimator).__qualname__})


def load(path):
    """Read an estimator written by :func:`save`; runs no code from the file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
        Predicts, transforms and routes exactly as the saved one did.

    Raises
    ------
    ValueError
        For a file that is not a graphmoe model (a pickle or joblib file, for
        instance), a truncated or modified one (checksum mismatch), one of a
        newer format version, or one that names a class outside the allowlist.

    Examples
    --------
    >>> import numpy as np, tempfile, os, graphmoe
    >>> X = np.random.default_rng(0).normal(size=(60, 2))
    >>> g = graphmoe.KNNGraph(n_neighbors=5).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "knn.gmoe")
    >>> graphmoe.save(g, path)
    >>> h = graphmoe.load(path)
    >>> bool((h.kneighbors(X[:5])[1] == g.kneighbors(X[:5])[1]).all())
    True
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_arrays

    manifest, state, blob = read_archive(path)
    try:
        arrays = load_arrays(blob) if blob else {}
    except (SafetensorError, ValueError, io.UnsupportedOperation) as err:
        raise ValueError(f"{path!r}: the array payload is corrupt ({err}).") from None
    if not isinstance(state, dict) or "root" not in state:
        raise ValueError(f"{path!r}: state.json lacks the estimator.")
    try:
        return Decoder(arrays).decode(state["root"])
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - any fault of a malformed file is a ValueError
        raise ValueError(f"{path!r}: malformed model file ({type(err).__name__}: {err}).") \
            from None
