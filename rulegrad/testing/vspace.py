"""Vector spaces: how the gradient checks handle argument types that are not numpy arrays.

The checks perturb arguments, weigh outputs and take inner products with gradients. For
numpy arrays (and numbers) all three are plain arithmetic. Another type, such as a
scipy.sparse CSR matrix, says how its values map to float vectors by declaring a `VSpace`:

* ``flatten(x)``: the differentiable entries of ``x`` as a 1-d float (or complex) vector
  (a CSR matrix: its stored values, ``x.data``);
* ``unflatten(like, v)``: a value shaped like ``like`` holding the entries ``v``, in
  ``v``'s dtype (a CSR matrix: ``like``'s sparsity pattern with ``v`` as values);
* ``structure(x)`` (optional): what a gradient must share with its argument beyond
  the number of entries (a CSR matrix: its shape and pattern). Default: the shape.

With it, the checks treat an argument of that type as a point in ``R^n``: the random
directions, finite differences and inner products all act on ``flatten(x)``. The
gradient of such an argument must be a value of the same vector space with the same
structure (a CSR gradient with the argument's sparsity pattern, whose entries are the
derivatives of the stored values); a dense gradient for a sparse argument is an error,
not projected. Outputs of the type are weighed the same way.

Declare a vector space with `register_vspace` (at import of your rule module), or from a
plugin through the hook ``rulegrad_register_vspaces`` (`rulegrad.plugins.hookspecs`),
which the checks call the first time they meet a type they do not know.

Examples:
    >>> class Pair:  # a toy type: two floats
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> space = register_vspace(
    ...     Pair, lambda p: np.array([p.a, p.b]), lambda like, v: Pair(*v), name="pair"
    ... )
    >>> vspace_of(Pair(1.0, 2.0)) is space, vspace_of(np.zeros(2))
    (True, None)
    >>> space.vector(space.build(Pair(0.0, 0.0), np.array([3.0, 4.0])))
    array([3., 4.])
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..core.box import plain
from ..core.errors import RulegradError
from ..vspace import VSpace

__all__ = ["VSpace", "VSPACES", "register_vspace", "vspace_of", "HOOK"]

#: The plugin hook that returns vector spaces (see `rulegrad.plugins.hookspecs`).
HOOK = "rulegrad_register_vspaces"


#: The declared vector spaces, by type (a `VSpace` appears once per type it covers).
VSPACES: dict[type, VSpace] = {}

_lock = threading.RLock()
_found: dict[type, VSpace | None] = {}  # lookups by exact type, misses included
_asked: dict[int, Any] = {}  # the hook implementations already called, by id (kept alive)
#: Types that are never looked up: numpy's own and Python's numbers.
_PLAIN = (np.ndarray, np.generic, numbers.Number, list, tuple, dict, str, type(None))


def register_vspace(
    types: type | Iterable[type],
    flatten: Callable[[Any], Any],
    unflatten: Callable[[Any, np.ndarray], Any],
    *,
    structure: Callable[[Any], Any] | None = None,
    name: str = "",
) -> VSpace:
    """Declare how the gradient checks see values of ``types`` as float vectors.

    Args:
        types: a type or several; subclasses are covered too.
        flatten: ``x -> 1-d vector`` of the differentiable entries of ``x``.
        unflatten: ``(like, v) -> value`` with ``like``'s structure and the entries ``v``.
        structure: ``x -> comparable value`` a gradient must share with its argument
            (default: the shape).
        name: a label for messages and `Domain` args, such as ``"sparse"``.

    Returns:
        The `VSpace`, registered for each type (replacing an earlier one).

    Raises:
        TypeError: for numpy arrays and Python numbers, which the checks handle already.

    Examples:
        >>> class Scaled:
        ...     def __init__(self, w): self.w = w
        >>> register_vspace(Scaled, lambda s: s.w, lambda like, v: Scaled(v)).label()
        'Scaled'
    """
    types = (types,) if isinstance(types, type) else tuple(types)
    plain = [t.__name__ for t in types if issubclass(t, _PLAIN)]
    if plain:
        raise TypeError(f"the checks handle {', '.join(plain)} already; declare other types")
    space = VSpace(types, flatten, unflatten, structure, name)
    with _lock:
        for t in types:
            VSPACES[t] = space
        _found.clear()
    return space


def _from_plugins() -> bool:
    """Call the vector-space hook of plugins not asked yet; True when any answered."""
    try:
        from ..plugins import load, manager
    except ImportError:  # pragma: no cover  (pluggy missing)
        return False
    load()
    caller = getattr(manager().hook, HOOK, None)
    if caller is None:
        return False
    added = False
    for impl in caller.get_hookimpls():
        if id(impl) in _asked:
            continue
        _asked[id(impl)] = impl
        try:
            result = impl.function()
        except Exception as e:
            raise RulegradError(
                f"the {HOOK} hook of plugin {impl.plugin_name!r} raised {type(e).__name__}: {e}"
            ) from e
        for space in [] if result is None else [result] if isinstance(result, VSpace) else result:
            if not isinstance(space, VSpace):
                raise RulegradError(
                    f"the {HOOK} hook of plugin {impl.plugin_name!r} returned {space!r}, "
                    f"not a VSpace (make one with rulegrad.testing.VSpace or register_vspace)"
                )
            for t in space.types:
                VSPACES.setdefault(t, space)  # an explicit register_vspace wins
            added = True
    if added:
        _found.clear()
    return added


def _lookup(t: type) -> VSpace | None:
    for base in t.__mro__:
        if base in VSPACES:
            return VSPACES[base]
    return None


def vspace_of(x: Any) -> VSpace | None:
    """The vector space of a value's type, or None (numpy arrays, numbers, undeclared types).

    Tracked values are looked at through their plain value. A type not declared yet makes
    the checks ask the plugins' ``rulegrad_register_vspaces`` hooks once.

    Examples:
        >>> vspace_of(np.float32(1.0)) is None
        True
    """
    x = plain(x)
    t = type(x)
    if t in _found:
        return _found[t]
    if isinstance(x, _PLAIN):
        return None
    with _lock:
        space = _lookup(t)
        if space is None and _from_plugins():
            space = _lookup(t)
        _found[t] = space
    return space
