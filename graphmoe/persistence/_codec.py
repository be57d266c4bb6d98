"""Fitted state <-> a JSON tree plus a flat dict of numeric arrays.

The encoder walks an object's state (``__getstate__`` or ``__dict__``,
recursively through estimators, torch modules, containers). Numeric numpy
arrays and torch tensors go into the array dict, referenced from the tree by
key; everything else must be JSON-able: None, bool, int, float, str, lists,
tuples, sets, dicts, numpy scalars and dtypes, scipy.sparse matrices, numpy
random states, torch devices and dtypes. An object met twice is written once
and referenced (``{"t": "ref"}``), so shared parts (the clustering's kNN graph
that the MoE also holds) stay shared after loading.

The decoder only builds those node types and objects of allowlisted classes
(see ``_allowlist``); it never unpickles and never calls a constructor.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import scipy.sparse as sp

from ._allowlist import (after_load, class_path, rebuild_state, resolve_class,
                         restores_with_setstate, transient_attributes)

__all__ = ["Encoder", "Decoder"]

_PRIMITIVES = (bool, int, str, type(None))
_SPARSE_FORMATS = {"csr", "csc", "coo", "lil", "dok", "bsr", "dia"}
_ARRAY_KINDS = "biuf"  # bool, int, uint, float: what safetensors stores


def _torch():
    """torch if it is imported: a tensor cannot exist otherwise, and importing costs seconds."""
    return sys.modules.get("torch")


def _own_getstate(obj):
    getstate = getattr(type(obj), "__getstate__", None)
    return getstate is not None and getstate is not object.__getstate__


class Encoder:
    """Turn an object graph into ``(tree, arrays)``; see the module docstring."""

    def __init__(self):
        self.arrays = {}
        self._array_keys = {}
        self._memo = {}
        self._alive = []  # keeps encoded objects alive so their ids stay unique

    def _array_key(self, array):
        # Sparse matrices built from one another share their index arrays: store them once.
        ident = (id(array), array.shape, array.dtype.str)
        if ident in self._array_keys:
            return self._array_keys[ident]
        key = str(len(self.arrays))
        self.arrays[key] = np.ascontiguousarray(array)
        self._array_keys[ident] = key
        self._alive.append(array)
        return key

    def encode(self, obj, where="estimator"):
        if isinstance(obj, _PRIMITIVES):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"t": "float", "v": repr(obj)}
        if id(obj) in self._memo:
            return {"t": "ref", "id": self._memo[id(obj)]}
        node = self._encode_new(obj, where)
        if "id" in node:
            self._memo[id(obj)] = node["id"]
            self._alive.append(obj)
        return node

    def _new_id(self, obj):
        self._memo[id(obj)] = ident = len(self._memo)
        self._alive.append(obj)
        return ident

    def _encode_new(self, obj, where):  # noqa: C901 - one branch per node type
        if isinstance(obj, (list, tuple, set, frozenset)) and type(obj) in (
                list, tuple, set, frozenset):
            items = obj if isinstance(obj, (list, tuple)) else sorted(obj, key=repr)
            ident = self._new_id(obj) if isinstance(obj, list) else None
            node = {"t": type(obj).__name__,
                    "v": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(items)]}
            if ident is not None:
                node["id"] = ident
            return node
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple
            return {"t": "namedtuple", "cls": class_path(type(obj)),
                    "v": [self.encode(x, f"{where}.{f}") for f, x in zip(obj._fields, obj)]}
        if isinstance(obj, dict):
            return self._encode_dict(obj, where)
        if isinstance(obj, np.ndarray):
            return self._encode_ndarray(obj, where)
        if isinstance(obj, np.generic):
            return {"t": "np_scalar", "dtype": obj.dtype.str,
                    "v": self.encode(obj.item(), where)}
        if isinstance(obj, np.dtype):
            return {"t": "np_dtype", "v": obj.str}
        torch = _torch()
        if torch is not None:
            if isinstance(obj, torch.Tensor):
                return self._encode_tensor(obj, where)
            if isinstance(obj, torch.device):
                return {"t": "torch_device", "v": str(obj)}
            if isinstance(obj, torch.dtype):
                return {"t": "torch_dtype", "v": str(obj).removeprefix("torch.")}
        if sp.issparse(obj):
            return self._encode_sparse(obj, where)
        if isinstance(obj, np.random.RandomState):
            name, keys, pos, has_gauss, cached = obj.get_state()
            return {"t": "random_state", "id": self._new_id(obj),
                    "v": [name, self._array_key(keys), pos, has_gauss, cached]}
        if isinstance(obj, type):
            return {"t": "class", "cls": class_path(obj)}
        return self._encode_object(obj, where)

    def _encode_dict(self, obj, where):
        cls = None if type(obj) is dict else class_path(type(obj))
        ident = self._new_id(obj)
        keys, values = [], []
        for k, v in obj.items():
            keys.append(self.encode(k, f"{where} key"))
            values.append(self.encode(v, f"{where}[{k!r}]"))
        return {"t": "dict", "id": ident, "cls": cls, "k": keys, "v": values}

    def _encode_ndarray(self, obj, where):
        ident = self._new_id(obj)
        fortran = bool(obj.ndim > 1 and obj.flags.f_contiguous and not obj.flags.c_contiguous)
        if obj.dtype.kind in _ARRAY_KINDS and obj.dtype.byteorder in "=|<":
            return {"t": "ndarray", "id": ident, "key": self._array_key(obj), "fortran": fortran}
        if obj.dtype.kind in "US" or obj.dtype == object:
            return {"t": "ndarray_list", "id": ident, "dtype": obj.dtype.str,
                    "shape": list(obj.shape),
                    "v": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(obj.ravel())]}
        raise TypeError(f"cannot save {where}: numpy dtype {obj.dtype} is not supported.")

    def _encode_tensor(self, obj, where):
        torch = _torch()
        if obj.layout != torch.strided or obj.dtype in (torch.bfloat16, torch.complex64,
                                                        torch.complex128):
            raise TypeError(f"cannot save {where}: tensor {obj.dtype} / {obj.layout} is not "
                            "supported.")
        ident = self._new_id(obj)
        array = obj.detach().cpu().contiguous().numpy()
        return {"t": "tensor", "id": ident, "key": self._array_key(array),
                "parameter": isinstance(obj, torch.nn.Parameter),
                "requires_grad": bool(obj.requires_grad), "device": str(obj.device)}

    def _encode_sparse(self, obj, where):
        fmt = obj.format
        if fmt not in _SPARSE_FORMATS:
            raise TypeError(f"cannot save {where}: sparse format {fmt!r}.")
        csr = obj.tocsr()
        return {"t": "sparse", "id": self._new_id(obj), "format": fmt,
                "array": isinstance(obj, getattr(sp, "sparray", ())), "shape": list(csr.shape),
                "data": self._array_key(csr.data), "indices": self._array_key(csr.indices),
                "indptr": self._array_key(csr.indptr)}

    def _encode_object(self, obj, where):
        cls = class_path(type(obj))
        ident = self._new_id(obj)
        state = obj.__getstate__() if _own_getstate(obj) else getattr(obj, "__dict__", None)
        if not isinstance(state, dict):
            raise TypeError(f"cannot save {where}: {type(obj).__name__} has no dict state.")
        skip = transient_attributes(obj)
        state = {k: v for k, v in state.items() if k not in skip}
        return {"t": "object", "id": ident, "cls": cls,
                "state": self._encode_dict(state, f"{where}")}


class Decoder:
    """Rebuild objects from ``(tree, arrays)`` written by :class:`Encoder`."""

    def __init__(self, arrays):
        self.arrays = arrays
        self._memo = {}

    def _array(self, key):
        if key not in self.arrays:
            raise ValueError(f"the model file references array {key!r}, which it lacks.")
        return self.arrays[key]

    def _remember(self, node, obj):
        if "id" in node:
            self._memo[node["id"]] = obj
        return obj

    def decode(self, node):  # noqa: C901 - one branch per node type
        if not isinstance(node, dict):
            if isinstance(node, list):
                raise ValueError("malformed model file: bare list in the state tree.")
            return node
        kind = node.get("t")
        if kind == "ref":
            if node.get("id") not in self._memo:
                raise ValueError("malformed model file: reference to an unknown object.")
            return self._memo[node["id"]]
        if kind == "float":
            return float(node["v"])
        if kind == "list":
            out = self._remember(node, [])
            out.extend(self.decode(x) for x in node["v"])
            return out
        if kind in ("tuple", "set", "frozenset"):
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[kind](
                self.decode(x) for x in node["v"])
        if kind == "namedtuple":
            cls = resolve_class(node["cls"])
            if not (issubclass(cls, tuple) and hasattr(cls, "_fields")):
                raise ValueError(f"malformed model file: {cls.__name__} is not a named tuple.")
            # tuple.__new__ runs no constructor of the file's choosing
            return tuple.__new__(cls, [self.decode(x) for x in node["v"]])
        if kind == "dict":
            return self._decode_dict(node)
        if kind == "ndarray":
            array = self._array(node["key"])
            array = np.asfortranarray(array) if node.get("fortran") else array.copy()
            return self._remember(node, array)
        if kind == "ndarray_list":
            dtype = np.dtype(node["dtype"]) if node["dtype"] != "|O" else object
            flat = [self.decode(x) for x in node["v"]]
            array = np.empty(len(flat), dtype=dtype)
            array[:] = flat
            return self._remember(node, array.reshape(node["shape"]))
        if kind == "tensor":
            return self._remember(node, self._decode_tensor(node))
        if kind == "sparse":
            return self._remember(node, self._decode_sparse(node))
        if kind == "random_state":
            name, key, pos, has_gauss, cached = node["v"]
            rs = np.random.RandomState()
            rs.set_state((name, self._array(key), pos, has_gauss, cached))
            return self._remember(node, rs)
        if kind == "object":
            return self._decode_object(node)
        return self._decode_type(node, kind)

    def _decode_type(self, node, kind):
        """Scalars, dtypes, devices and classes."""
        if kind == "np_scalar":
            return np.dtype(node["dtype"]).type(self.decode(node["v"]))
        if kind == "np_dtype":
            return np.dtype(node["v"])
        if kind == "class":
            return resolve_class(node["cls"])
        if kind in ("torch_device", "torch_dtype"):
            import torch

            if kind == "torch_device":
                return torch.device(node["v"])
            dtype = getattr(torch, str(node["v"]), None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"malformed model file: unknown torch dtype {node['v']!r}.")
            return dtype
        raise ValueError(f"malformed model file: unknown node type {kind!r}.")

    def _decode_dict(self, node):
        cls = dict if node.get("cls") is None else resolve_class(node["cls"])
        if not issubclass(cls, dict):
            raise ValueError(f"malformed model file: {cls.__name__} is not a dict type.")
        out = self._remember(node, cls())
        for k, v in zip(node["k"], node["v"]):
            out[self.decode(k)] = self.decode(v)
        return out

    def _decode_tensor(self, node):
        import torch

        tensor = torch.from_numpy(self._array(node["key"]).copy())
        device = node.get("device", "cpu")
        if device.startswith("cuda") and torch.cuda.is_available():
            tensor = tensor.to(device)
        if node.get("parameter"):
            return torch.nn.Parameter(tensor, requires_grad=bool(node.get("requires_grad")))
        return tensor.requires_grad_(bool(node.get("requires_grad")))

    def _decode_sparse(self, node):
        shape = tuple(node["shape"])
        csr = sp.csr_matrix((self._array(node["data"]).copy(),
                             self._array(node["indices"]).copy(),
                             self._array(node["indptr"]).copy()), shape=shape)
        if node.get("array"):
            csr = sp.csr_array(csr)
        fmt = node["format"]
        if fmt not in _SPARSE_FORMATS:
            raise ValueError(f"malformed model file: sparse format {fmt!r}.")
        return csr if fmt == "csr" else csr.asformat(fmt)

    def _decode_object(self, node):
        cls = resolve_class(node["cls"])
        obj = self._remember(node, cls.__new__(cls))
        state = rebuild_state(obj, self._decode_dict(node["state"]))
        if hasattr(cls, "__setstate__") and restores_with_setstate(cls):
            obj.__setstate__(state)
        else:
            obj.__dict__.update(state)
        after_load(obj)
        return obj
