"""Which classes a model file may name, and the state that is never written.

Loading rebuilds objects only from classes whose module lies under one of
``ALLOWED_MODULES``; a file that names any other (``os``, ``subprocess``,
``builtins``...) is refused before anything is imported. Classes are
instantiated with ``cls.__new__(cls)`` and given their stored state, so no
constructor and no code from the file runs.

Some fitted objects hold state that cannot be written as arrays and JSON
(compiled search indices, numba functions, signature inspectors). They are
left out on save (``TRANSIENT``) and rebuilt on load (``rebuild_state``).
"""
from __future__ import annotations

import importlib
import sys

__all__ = ["ALLOWED_MODULES", "resolve_class", "class_path", "transient_attributes",
           "rebuild_state", "after_load", "restores_with_setstate"]

#: module prefixes whose classes a model file may name
ALLOWED_MODULES = ("graphmoe", "sklearn", "torch.nn", "torch_geometric.nn", "collections")


#: classes that moved since a release wrote model files: ``(module, qualname)`` as
#: written then -> where the class lives now. Files of 0.1 name the
#: embedders' torch modules under ``graphmoe.embed``; they live in ``graphmoe.nn`` now.
MOVED_CLASSES = {
    ("graphmoe.embed.networks", "MLP"): ("graphmoe.nn.networks", "MLP"),
    ("graphmoe.embed.vae", "VAEModule"): ("graphmoe.nn.vae", "VAEModule"),
    ("graphmoe.embed.dmvae_module", "DMVAEModule"): ("graphmoe.nn.dmvae", "DMVAEModule"),
    ("graphmoe.embed.dmvae_module", "DMVAEOutput"): ("graphmoe.nn.dmvae", "DMVAEOutput"),
}


def _allowed(module):
    return any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES)


def class_path(cls):
    """``[module, qualname]`` of a class, refusing local classes and other modules."""
    module, qualname = cls.__module__, cls.__qualname__
    if "<locals>" in qualname or not _allowed(module):
        raise TypeError(
            f"cannot save an object of class {module}.{qualname}: graphmoe.save stores only "
            f"classes from {', '.join(ALLOWED_MODULES)} (and numpy/scipy/torch data).")
    return [module, qualname]


def resolve_class(path):
    """The class named by ``[module, qualname]``; ``ValueError`` unless allowlisted."""
    if (not isinstance(path, list) or len(path) != 2
            or not all(isinstance(p, str) for p in path)):
        raise ValueError(f"malformed class path {path!r} in the model file.")
    module, qualname = MOVED_CLASSES.get(tuple(path), path)
    if not _allowed(module) or "<" in qualname:
        raise ValueError(
            f"the model file names class {module}.{qualname}, which is not allowlisted "
            f"(allowed modules: {', '.join(ALLOWED_MODULES)}); refusing to load it.")
    try:
        obj = importlib.import_module(module)
    except ImportError as err:
        raise ValueError(f"the model file names class {module}.{qualname}, whose module "
                         f"cannot be imported ({err}).") from None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise ValueError(f"the model file names {module}.{qualname}, which is not a class.")
    # A module also holds classes it imported (``subprocess.Popen`` in a module that
    # imports subprocess): only a class defined where the file says it is, is taken.
    if obj.__module__ != module or obj.__qualname__ != qualname:
        raise ValueError(f"the model file names {module}.{qualname}, which is "
                         f"{obj.__module__}.{obj.__qualname__} imported there, not a class "
                         "defined in an allowlisted module; refusing to load it.")
    return obj


def restores_with_setstate(cls):
    """Whether loading may hand ``cls.__setstate__`` the stored state.

    Only scikit-learn estimators, torch modules and ``RowLookup`` (which
    rebuilds its hash table), whose ``__setstate__`` only sets attributes; any
    other class gets its ``__dict__`` updated, so a custom ``__setstate__`` (the
    faiss index's parses bytes natively) never sees data from a file.
    """
    from sklearn.base import BaseEstimator

    from ..cluster._lookup import RowLookup

    if issubclass(cls, (BaseEstimator, RowLookup)):
        return True
    torch = sys.modules.get("torch")
    return torch is not None and issubclass(cls, torch.nn.Module)


def _knn_graph():
    from ..graph.knn import KNNGraph

    return KNNGraph


def _message_passing():
    # Without torch_geometric imported no object can be one of its layers, and
    # importing it only to find that out costs seconds.
    if "torch_geometric" not in sys.modules:
        return None
    from torch_geometric.nn import MessagePassing

    return MessagePassing


def transient_attributes(obj):
    """Names of ``obj``'s attributes that are rebuilt on load instead of written."""
    if isinstance(obj, _knn_graph()):
        return {"_index"}  # sklearn KD-tree / pynndescent index: refit from ``_X``
    mp = _message_passing()
    if mp is not None and isinstance(obj, mp):
        return {"inspector"}  # signatures of the class's own methods
    return set()


def rebuild_state(obj, state):
    """Complete ``state`` of a freshly allocated ``obj`` before it is set."""
    mp = _message_passing()
    if mp is not None and isinstance(obj, mp):
        from torch_geometric.inspector import Inspector

        # The same calls as MessagePassing.__init__: they read only the class's methods.
        inspector = Inspector(type(obj))
        inspector.inspect_signature(obj.message)
        inspector.inspect_signature(obj.aggregate, exclude=[0, "aggr"])
        inspector.inspect_signature(obj.message_and_aggregate, [0])
        inspector.inspect_signature(obj.update, exclude=[0])
        inspector.inspect_signature(obj.edge_update)
        state["inspector"] = inspector
    return state


class _LazyIndex:
    """Stands in for a KNNGraph's search index until a query needs it."""

    def __init__(self, graph):
        self._graph = graph

    def _build(self):
        graph = self._graph
        index = graph._make_index(graph._X, graph.indices_.shape[1])
        graph._index = index
        return index

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._build(), name)


def after_load(obj):
    """Hook run once ``obj``'s state is set: lazy stand-ins for transient parts."""
    if isinstance(obj, _knn_graph()) and "_index" not in vars(obj) and hasattr(obj, "_X"):
        obj._index = _LazyIndex(obj)
