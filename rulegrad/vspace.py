"""`VSpace`: how the gradient checks see values of a type as float vectors.

The type lives below both `rulegrad.testing` (which uses it, and re-exports it as
``rulegrad.testing.VSpace``) and `rulegrad.plugins` (whose ``rulegrad_register_vspaces``
hook returns it), so that neither imports the other. See `rulegrad.testing.vspace` for
how the checks use it and `rulegrad.testing.register_vspace` to declare one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core.box import plain

__all__ = ["VSpace"]


def _shape(x: Any) -> Any:
    return tuple(np.shape(x))


@dataclass(frozen=True)
class VSpace:
    """How values of some types are seen as float vectors by the gradient checks.

    Attributes:
        types: the types (and their subclasses) it applies to.
        flatten: ``x -> 1-d vector`` of the differentiable entries of ``x``.
        unflatten: ``(like, v) -> value`` like ``like`` holding the entries ``v`` (in
            ``v``'s dtype); must not modify ``like``.
        structure: ``x -> comparable value`` that a gradient shares with its argument
            (shape, sparsity pattern, ...); compared with ``==``. Default: the shape.
        name: a label for messages; also a kind name for `Domain` args (any name not in
            `rulegrad.testing.KINDS` marks a sampled argument of this space as
            differentiable).

    Examples:
        >>> space = VSpace((complex,), lambda z: np.array([z]), lambda like, v: complex(v[0]))
        >>> space.vector(2j), space.size(2j)
        (array([0.+2.j]), 1)
    """

    types: tuple[type, ...]
    flatten: Callable[[Any], Any]
    unflatten: Callable[[Any, np.ndarray], Any]
    structure: Callable[[Any], Any] | None = None
    name: str = ""

    def vector(self, x: Any) -> np.ndarray:
        """The entries of ``x`` as a 1-d numpy array (cupy and friends brought to the host)."""
        v = self.flatten(plain(x))
        if hasattr(v, "get") and not isinstance(v, np.ndarray):
            v = v.get()
        return np.asarray(v).reshape(-1)

    def build(self, like: Any, v: Any) -> Any:
        """A value like ``like`` holding the entries ``v`` (in ``v``'s dtype)."""
        return self.unflatten(plain(like), np.asarray(v).reshape(-1))

    def size(self, x: Any) -> int:
        """How many entries ``x`` has (the dimension of the space at ``x``)."""
        return int(self.vector(x).size)

    def key(self, x: Any) -> Any:
        """What must be equal between an argument and its gradient: the structure and size."""
        x = plain(x)
        shape = (self.structure or _shape)(x)
        return shape, self.size(x)

    def same(self, a: Any, b: Any) -> bool:
        """Whether ``a`` and ``b`` are values of this space with equal structure.

        Examples:
            >>> space = VSpace((np.ndarray,), np.ravel, lambda like, v: v.reshape(like.shape))
            >>> space.same(np.zeros(2), np.ones(2)), space.same(np.zeros(2), np.ones(3))
            (True, False)
        """
        if not (isinstance(plain(a), self.types) and isinstance(plain(b), self.types)):
            return False
        return bool(self.key(a) == self.key(b))

    def label(self) -> str:
        """The name for messages: ``name``, or the type names."""
        return self.name or "|".join(t.__name__ for t in self.types)
