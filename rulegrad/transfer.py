"""Moving models and data between backends: ``rg.to(x, "gpu")`` and ``rg.to(x, "cpu")``.

As in Knet, putting a model on the GPU is changing the array type of its parameters and
data; model code stays as it is, since rules dispatch on the array type.
"""

from __future__ import annotations

from types import FunctionType, ModuleType
from typing import Any

import numpy as np

from .core.box import Box, Param
from .plugins import Backend, load

__all__ = ["to"]

_ATOMS = (str, bytes, int, float, complex, bool, type(None), type, FunctionType, ModuleType)


def to(x: Any, backend: str | Backend) -> Any:
    """Move the arrays in ``x`` to ``backend`` (``"cpu"``, ``"gpu"``, or another one's name).

    Arrays of another backend are copied through host memory; arrays already there are
    returned as they are. ``x`` may be an array, a Param, or a list, tuple, dict or
    object holding them, at any depth:

    * a **Param** is moved in place (its ``.value``, and any arrays in its ``.opt``)
      and returned, so every structure and optimizer that holds it sees the move;
    * **lists, tuples and dicts** are rebuilt with their items moved;
    * **other objects** (a model's layers) are moved in place: each attribute is
      replaced by its moved value, and the object itself is returned, as PyTorch's
      ``Module.to`` does. ``copy.deepcopy`` first to keep the original.

    Numbers, strings, arrays that no backend owns (scipy.sparse matrices, say) and
    everything that holds no array come back unchanged; an object reached twice is
    moved once.

    Args:
        x: what to move.
        backend: the backend's name or the `Backend` itself.

    Returns:
        ``x`` on the backend: the same Params and objects, new containers and arrays.

    Raises:
        BackendUnavailableError: when the backend is unknown or cannot run here, with
            the reason (cupy not installed, no CUDA device, ...).
        TypeError: for a value being recorded by ``rg.diff`` (move before recording).

    Examples:
        >>> import rulegrad as rg
        >>> class Linear:
        ...     def __init__(self):
        ...         self.w, self.b = rg.Param(np.ones((2, 3))), rg.Param(np.zeros(2))
        >>> model = to([Linear(), {"scale": 2.0}], "cpu")  # rg.to
        >>> type(model[0].w.value).__name__, model[1]
        ('ndarray', {'scale': 2.0})
    """
    registry = load()
    target = backend if isinstance(backend, Backend) else registry.backend(backend)
    target.xp  # noqa: B018  (raises with the reason when the backend cannot run here)
    return _Mover(target, registry).move(x)


class _Mover:
    def __init__(self, target: Backend, registry: Any) -> None:
        self.target = target
        self.registry = registry
        self.done: dict[int, Any] = {}  # id -> moved value, for shared and cyclic references
        self.keep: list[Any] = []  # keeps the originals alive so their ids stay unique

    def move(self, x: Any) -> Any:
        if isinstance(x, _ATOMS):
            return x
        key = id(x)
        if key in self.done:
            return self.done[key]
        self.keep.append(x)
        if isinstance(x, Box):
            raise TypeError(
                "rg.to got a value recorded by rg.diff; move the Params and data before "
                "calling rg.diff (a move is not a recorded operation)"
            )
        if isinstance(x, Param):
            self.done[key] = x
            x.value = self.array(x.value)
            if x.opt is not None:
                x.opt = self.move(x.opt)
            return x
        owner = self.registry.backend_of(x)
        if owner is not None:
            moved = self.done[key] = self.array(x, owner)
            return moved
        if isinstance(x, (list, tuple)):
            items = [self.move(v) for v in x]
            moved = type(x)(*items) if hasattr(type(x), "_fields") else type(x)(items)
        elif isinstance(x, dict):
            moved = x.copy()  # keeps the type of dict subclasses (defaultdict, ...)
            for k, v in x.items():
                moved[k] = self.move(v)
        elif hasattr(x, "__dict__") and not isinstance(x, np.dtype):
            self.done[key] = x  # before its attributes: they may point back at it
            for name, v in list(vars(x).items()):
                new = self.move(v)
                if new is not v:
                    setattr(x, name, new)
            return x
        else:
            moved = x
        self.done[key] = moved
        return moved

    def array(self, a: Any, owner: Backend | None = None) -> Any:
        owner = owner or self.registry.backend_of(a)
        if owner is None or owner is self.target:
            return a  # already there, or no backend's (a scipy.sparse matrix, say): left as is
        return self.target.from_host(owner.to_host(a))
