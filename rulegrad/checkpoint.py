"""Checkpoints: ``rg.save(path, obj)`` and ``rg.load(path)`` / ``rg.load(path, into=obj)``.

A checkpoint is one ``.npz`` file: every array (Param values, plain arrays, optimizer state)
is an entry of its own, and an entry ``index`` holds a small JSON document describing the
structure around them: lists, tuples, dicts, objects (by their fields), Params, optimizers
(class name, hyperparameters, and state tied to the Params it belongs to), and numbers and
strings. No code is pickled, and loading uses ``np.load(..., allow_pickle=False)``, so loading
a file cannot run anything. A Param or array reached twice is stored once and comes back
shared (tied weights stay tied).

Objects of user classes cannot be rebuilt without running code, so there are two ways back:

* ``rg.load(path)`` returns a new structure: Params, arrays, lists, tuples, dicts and
  rulegrad optimizers as saved, and each user object as a `types.SimpleNamespace` of its
  fields (``model.w`` still works);
* ``rg.load(path, into=obj)`` fills an existing structure of the same shape in place: each
  Param gets the saved value, each optimizer the saved hyperparameters and state (tied to the
  Params of ``obj``), and numbers and strings are set. This is how training resumes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import fields
from functools import partial
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType, SimpleNamespace
from typing import Any

import numpy as np

from .core.box import Param
from .core.errors import RulegradError
from .optim import Optimizer

__all__ = ["CheckpointError", "save", "load"]

FORMAT, VERSION = "rulegrad-checkpoint", 1
_SCALARS = (bool, int, float, str, type(None))
_CODE = (type, ModuleType, FunctionType, MethodType, BuiltinFunctionType, partial)  # not data


class CheckpointError(RulegradError, ValueError):
    """A structure cannot be saved, or a file is not a checkpoint or does not fit ``into``."""


def save(path: str | os.PathLike[str], obj: Any) -> None:
    """Save Params, arrays and optimizers, in any structure, to one ``.npz`` file.

    Args:
        path: the file to write (written whole or not at all; no suffix is added).
        obj: a Param, array, optimizer, number or string, or a list, tuple, dict or object
            (its fields) holding them at any depth. Save a model and its optimizer together,
            ``rg.save(path, {"model": model, "opt": opt})``, so that the optimizer's state
            can name the Params it belongs to.

    Raises:
        CheckpointError: a value that is not data (a function, say), a dict key that is not
            a number or string, or optimizer state for a Param that ``obj`` does not hold;
            the message names the place.

    Examples:
        >>> import os, tempfile
        >>> import rulegrad as rg
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model = {"w": rg.Param(np.ones((2, 3))), "layers": [rg.Param(np.zeros(3)), 0.5]}
        >>> rg.save(path, model)
        >>> rg.load(path)
        {'w': Param(array([[1., 1., 1.],
               [1., 1., 1.]])), 'layers': [Param(array([0., 0., 0.])), 0.5]}
    """
    saver = _Saver()
    root = saver.encode(obj, "obj")
    saver.finish()
    index = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    path = Path(path)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
        try:
            np.savez(tmp, index=np.array(index), **saver.arrays)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def load(path: str | os.PathLike[str], *, into: Any = None) -> Any:
    """Load a checkpoint written by `save`, as a new structure or into an existing one.

    Args:
        path: the ``.npz`` file.
        into: None to build a new structure; or a structure like the one saved (the same
            lists, dicts, objects and Params, of the same shapes and dtypes) to fill in place.

    Returns:
        The new structure (user objects as `types.SimpleNamespace`); with ``into``, ``into``
        itself (a tuple at the top comes back as a new tuple of the filled items).

    Raises:
        CheckpointError: the file is not a checkpoint, or ``into`` differs from what was
            saved (a missing key, another shape or dtype); the message names the place.

    Examples:
        >>> import os, tempfile
        >>> import rulegrad as rg
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> w = rg.Param(np.array([1.0, 2.0]))
        >>> opt = rg.optim.Adam(lr=0.1)
        >>> opt.step(w, np.array([1.0, 1.0]))
        >>> rg.save(path, {"model": [w], "opt": opt})
        >>> w2, opt2 = rg.Param(np.zeros(2)), rg.optim.Adam()
        >>> _ = rg.load(path, into={"model": [w2], "opt": opt2})
        >>> w2, opt2.lr, [s["t"] for _, s in opt2.states()]
        (Param(array([0.9, 1.9])), 0.1, [1])
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            if "index" not in f.files:
                raise CheckpointError(f"{path} is not a rulegrad checkpoint (no 'index' entry)")
            index = json.loads(str(f["index"][()]))
            arrays = {name: f[name] for name in f.files if name != "index"}
    except (OSError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path} is not a rulegrad checkpoint: {e}") from e
    if index.get("format") != FORMAT or index.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: not a rulegrad checkpoint of version {VERSION} (its index says format "
            f"{index.get('format')!r}, version {index.get('version')!r})"
        )
    loader = _Loader(arrays)
    out = loader.build(index["root"]) if into is None else loader.fill(index["root"], into, "into")
    loader.finish()
    return out


def _kind_of(v: Any) -> str:
    """The name of ``v``'s type as the messages print it (``numpy.ufunc``, ``function``)."""
    t = type(v)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _host(a: Any) -> np.ndarray:
    """A numpy copy of an array of any backend (cupy's ``.get()``)."""
    return a.get() if not isinstance(a, np.ndarray) and hasattr(a, "get") else np.asarray(a)


def _is_array(v: Any) -> bool:
    return isinstance(v, (np.ndarray, np.generic)) or hasattr(v, "__cuda_array_interface__")


def _optimizer_name(cls: type) -> str:
    """``rulegrad.optim.Adam`` for the built-ins, ``module.Qualname`` for the others."""
    import rulegrad.optim

    if getattr(rulegrad.optim, cls.__name__, None) is cls:
        return f"rulegrad.optim.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _optimizer_class(name: str) -> type[Optimizer]:
    """The Optimizer subclass saved as ``name``, among those already imported (no import)."""
    todo, found = [Optimizer], {}
    while todo:
        cls = todo.pop()
        found[_optimizer_name(cls)] = cls
        todo += cls.__subclasses__()
    if name not in found:
        raise CheckpointError(
            f"the checkpoint holds a {name} optimizer, and no such Optimizer subclass is "
            "imported: import the module that defines it before loading"
        )
    return found[name]


class _Saver:
    """One walk over the structure: arrays into ``arrays``, the rest into JSON nodes."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.ids: dict[int, int] = {}  # id(object) -> node id, for Params, arrays, containers
        self.keep: list[Any] = []  # the objects behind those ids, alive until the walk ends
        self.optimizers: list[tuple[Optimizer, dict[str, Any], str]] = []

    def _new_id(self, v: Any) -> int:
        self.ids[id(v)] = len(self.keep)
        self.keep.append(v)
        return self.ids[id(v)]

    def _array(self, a: Any, where: str) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = _host(a)
        if self.arrays[name].dtype.hasobject:
            raise CheckpointError(
                f"cannot save {where}: an array of Python objects needs pickle; convert it to "
                "numbers or strings"
            )
        return name

    def encode(self, v: Any, where: str) -> Any:
        if isinstance(v, _SCALARS):
            return {"kind": "value", "value": v}
        if id(v) in self.ids:
            return {"kind": "ref", "id": self.ids[id(v)]}
        if isinstance(v, tuple):
            return {
                "kind": "tuple",
                "items": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(v)],
            }
        if isinstance(v, Param):
            node = {"kind": "param", "id": self._new_id(v), "array": self._array(v.value, where)}
            if v.opt is not None:
                node["opt"] = self.encode(v.opt, f"{where}.opt")
            return node
        if _is_array(v):
            scalar = isinstance(v, np.generic)
            return {
                "kind": "array",
                "id": self._new_id(v),
                "array": self._array(v, where),
                "scalar": scalar,
            }
        if isinstance(v, Optimizer):
            return self._optimizer(v, where)
        if isinstance(v, list):
            node = {"kind": "list", "id": self._new_id(v)}
            node["items"] = [self.encode(x, f"{where}[{i}]") for i, x in enumerate(v)]
            return node
        if isinstance(v, dict):
            bad = [k for k in v if not isinstance(k, _SCALARS)]
            if bad:
                raise CheckpointError(
                    f"cannot save {where}: its key {bad[0]!r} is a {_kind_of(bad[0])}; "
                    "checkpoint dict keys must be strings or numbers"
                )
            node = {"kind": "dict", "id": self._new_id(v), "keys": list(v)}
            node["items"] = [self.encode(x, f"{where}[{k!r}]") for k, x in v.items()]
            return node
        if hasattr(v, "__dict__") and not isinstance(v, _CODE):
            node = {"kind": "object", "id": self._new_id(v), "class": _kind_of(v)}
            node["fields"] = {k: self.encode(x, f"{where}.{k}") for k, x in vars(v).items()}
            return node
        raise CheckpointError(
            f"cannot save {where}: a {_kind_of(v)} is not data a checkpoint holds (Params, "
            "arrays, optimizers, numbers, strings, and lists, tuples, dicts and objects of "
            "them). Save the parts that are data, e.g. a dict of them."
        )

    def _optimizer(self, opt: Optimizer, where: str) -> dict[str, Any]:
        node = {"kind": "optimizer", "id": self._new_id(opt), "class": _optimizer_name(type(opt))}
        node["hyper"] = {f.name: getattr(opt, f.name) for f in fields(opt) if f.init}
        self.optimizers.append((opt, node, where))  # its state refers to Params found later
        return node

    def finish(self) -> None:
        """Encode each optimizer's state, now that every Param of the structure has an id."""
        for opt, node, where in self.optimizers:
            node["state"] = []
            for w, state in opt.states():
                if id(w) not in self.ids:
                    raise CheckpointError(
                        f"cannot save {where}: it holds state for a {_kind_of(w)} of shape "
                        f"{np.shape(getattr(w, 'value', w))} that is not in what is saved; save "
                        'the model and the optimizer together: rg.save(path, {"model": model, '
                        '"opt": opt})'
                    )
                encoded = {k: self.encode(x, f"{where} state") for k, x in state.items()}
                node["state"].append([self.ids[id(w)], encoded])


class _Loader:
    """Rebuild (``build``) or fill (``fill``) a structure from the JSON nodes and arrays."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.objects: dict[int, Any] = {}  # node id -> the object built or filled
        self.pending: list[tuple[Optimizer, list[Any]]] = []

    def _value(self, node: dict[str, Any]) -> Any:
        a = self.arrays[node["array"]]
        return a[()] if node.get("scalar") else a

    def build(self, node: dict[str, Any]) -> Any:
        kind = node["kind"]
        if kind == "value":
            return node["value"]
        if kind == "ref":
            return self.objects[node["id"]]
        if kind == "tuple":
            return tuple(self.build(x) for x in node["items"])
        if kind == "param":
            p = self.objects[node["id"]] = Param(self._value(node))
            if "opt" in node:
                p.opt = self.build(node["opt"])
            return p
        if kind == "array":
            self.objects[node["id"]] = out = self._value(node)
            return out
        if kind == "optimizer":
            opt = self.objects[node["id"]] = _optimizer_class(node["class"])(**node["hyper"])
            self.pending.append((opt, node["state"]))
            return opt
        if kind == "list":
            out = self.objects[node["id"]] = []
            out.extend(self.build(x) for x in node["items"])
            return out
        if kind == "dict":
            out = self.objects[node["id"]] = {}
            out.update((k, self.build(x)) for k, x in zip(node["keys"], node["items"]))
            return out
        if kind == "object":
            out = self.objects[node["id"]] = SimpleNamespace()
            for k, x in node["fields"].items():
                setattr(out, k, self.build(x))
            return out
        raise CheckpointError(f"unknown node kind {kind!r} in the checkpoint's index")

    def fill(self, node: dict[str, Any], target: Any, where: str) -> Any:
        """Put the saved values into ``target`` in place; return what goes in its place."""
        kind = node["kind"]
        if kind == "value":
            return node["value"]
        if kind == "ref":
            if self.objects[node["id"]] is not target:
                raise CheckpointError(f"{where} is not the same object as in the checkpoint")
            return target
        if kind in ("list", "tuple", "dict", "object"):
            return self._fill_container(node, target, where)
        if node.get("id") is not None:
            self.objects[node["id"]] = target
        if kind == "optimizer":
            cls = _optimizer_class(node["class"])
            if type(target) is not cls:
                raise CheckpointError(
                    f"{where} is a {_kind_of(target)}, but the checkpoint holds a {cls.__name__}"
                )
            for k, v in node["hyper"].items():
                setattr(target, k, v)
            self.pending.append((target, node["state"]))
            return target
        saved = self._value(node)
        current = target.value if kind == "param" and isinstance(target, Param) else target
        if kind == "param" and not isinstance(target, Param):
            raise CheckpointError(f"{where} is a {_kind_of(target)}, and the checkpoint a Param")
        if (
            not _is_array(current)
            or np.shape(current) != saved.shape
            or current.dtype != saved.dtype
        ):
            raise CheckpointError(
                f"{where}: the checkpoint holds shape {saved.shape} {saved.dtype}, but this is "
                f"{_kind_of(current)} of shape {np.shape(current)} "
                f"{getattr(current, 'dtype', '')}; load into a model of the saved sizes"
            )
        new = _copy_into(current, saved)
        if kind == "param":
            target.value = new
            if "opt" in node:
                if target.opt is None:
                    target.opt = self.build(node["opt"])
                else:
                    self.fill(node["opt"], target.opt, f"{where}.opt")
            return target
        return new

    def _fill_container(self, node: dict[str, Any], target: Any, where: str) -> Any:
        kind = node["kind"]
        if "id" in node:
            self.objects[node["id"]] = target
        if kind in ("list", "tuple"):
            if not isinstance(target, (list, tuple)) or len(target) != len(node["items"]):
                got = (
                    f"{len(target)} items"
                    if isinstance(target, (list, tuple))
                    else _kind_of(target)
                )
                raise CheckpointError(
                    f"{where}: the checkpoint holds a {kind} of {len(node['items'])} items, "
                    f"this is {got}"
                )
            items = [
                self.fill(x, t, f"{where}[{i}]")
                for i, (x, t) in enumerate(zip(node["items"], target))
            ]
            if isinstance(target, tuple):
                return tuple(items)
            target[:] = items
            return target
        if kind == "dict":
            keys, current = node["keys"], target if isinstance(target, dict) else None
        else:
            keys, current = list(node["fields"]), getattr(target, "__dict__", None)
        what = "key" if kind == "dict" else "field"
        if current is None:
            raise CheckpointError(
                f"{where}: the checkpoint holds a {kind}, this is {_kind_of(target)}"
            )
        odd = [k for k in keys if k not in current] + [k for k in current if k not in keys]
        if odd:
            side = "the checkpoint" if odd[0] in keys else "this structure"
            raise CheckpointError(f"{where}: {what} {odd[0]!r} is only in {side}")
        items = node["items"] if kind == "dict" else node["fields"].values()
        for k, x in zip(keys, items):
            current[k] = self.fill(
                x, current[k], f"{where}[{k!r}]" if kind == "dict" else f"{where}.{k}"
            )
        return target

    def finish(self) -> None:
        """Give each optimizer its state, tied to the Params built or filled."""
        for opt, state in self.pending:
            pairs = []
            for param_id, encoded in state:
                w = self.objects[param_id]
                ref = getattr(w, "value", w)
                pairs.append((w, {k: _like(self.build(x), ref) for k, x in encoded.items()}))
            opt.set_states(pairs)


def _like(a: Any, ref: Any) -> Any:
    """``a`` (numpy) as an array of ``ref``'s backend; numbers and numpy arrays as they are."""
    if isinstance(ref, np.ndarray) or not isinstance(a, np.ndarray):
        return a
    return sys.modules[type(ref).__module__.split(".")[0]].asarray(a)


def _copy_into(current: Any, saved: np.ndarray) -> Any:
    """Copy ``saved`` into ``current`` in place when it can be written, else a new array."""
    if isinstance(current, np.ndarray):
        if current.flags.writeable:
            np.copyto(current, saved)
            return current
        return saved.copy()
    return _like(saved, current)
