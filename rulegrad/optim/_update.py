"""Knet's ``update!`` and ``optimizers`` over nested lists, tuples and dicts of parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._optimizers import SGD, Optimizer, array_of, checked_grad

__all__ = ["optimizers", "update"]


def _is_leaf(w: Any) -> bool:
    return hasattr(w, "value") or hasattr(w, "dtype")


def _child(opt: Any, key: Any, where: str) -> Any:
    """The optimizer for ``w[key]``: one shared optimizer (or None) applies at every depth."""
    if not isinstance(opt, (list, tuple, dict)):
        return opt
    try:
        return opt[key]
    except (IndexError, KeyError):
        raise ValueError(f"no optimizer for {where}: opt has no entry {key!r} there") from None


def _leaves(w: Any, g: Any, opt: Any, where: str) -> Iterator[tuple[Any, Any, Any, str]]:
    """Yield ``(param, grad, opt, where)`` for each leaf of ``w`` that has a gradient."""
    if g is None:
        return
    if _is_leaf(w):
        yield w, g, opt, where
    elif isinstance(w, dict):
        if not isinstance(g, dict):
            raise TypeError(f"{where} is a dict, but its gradient is a {type(g).__name__}")
        extra = [k for k in g if k not in w]
        if extra:
            raise ValueError(f"the gradient of {where} has keys {extra} that {where} lacks")
        for k in w:  # g may lack keys: those parameters get no gradient, as in Knet
            yield from _leaves(w[k], g.get(k), _child(opt, k, where), f"{where}[{k!r}]")
    elif isinstance(w, (list, tuple)):
        if not isinstance(g, (list, tuple)) or len(g) != len(w):
            got = f"{len(g)} entries" if isinstance(g, (list, tuple)) else type(g).__name__
            raise ValueError(f"{where} has {len(w)} entries, but its gradient has {got}")
        for i, (wi, gi) in enumerate(zip(w, g, strict=True)):
            yield from _leaves(wi, gi, _child(opt, i, where), f"{where}[{i}]")
    else:
        raise TypeError(
            f"cannot update {where}: a {type(w).__name__} is not an array, an object with"
            " .value, or a list, tuple or dict of them"
        )


def update(w: Any, g: Any, opt: Any = None, **kw: float) -> None:
    """Update parameters in place from their gradients (Knet's ``update!``).

    Args:
        w: A float array, a parameter-like object (``.value`` holds the array), or a list,
            tuple or dict nesting them.
        g: Gradients of the same structure. ``None`` anywhere means no gradient: that part
            is skipped; a dict of gradients may also leave keys out.
        opt: One optimizer for every leaf, keeping each leaf's state inside it; or a structure
            of optimizers matching ``w``, as made by :func:`optimizers`. Where it is ``None``,
            a leaf's own ``opt`` attribute is used if set, else ``SGD(**kw)``.
        **kw: Hyperparameters of that default SGD (``lr``, ``gclip``).

    Examples:
        >>> w = {"a": np.ones(2), "b": [np.zeros(1), np.ones(1)]}
        >>> g = {"a": np.ones(2), "b": [None, np.ones(1)]}
        >>> update(w, g, lr=0.5)
        >>> w
        {'a': array([0.5, 0.5]), 'b': [array([0.]), array([0.5])]}
    """
    if kw and opt is not None:
        raise TypeError("pass either an optimizer or SGD's keywords (lr, gclip), not both")
    default = None
    for leaf, gi, o, where in _leaves(w, g, opt, "w"):
        if o is None:
            o = getattr(leaf, "opt", None)
        if o is None:
            default = SGD(**kw) if default is None else default
            o = default
        if not isinstance(o, Optimizer):
            raise TypeError(f"the optimizer for {where} is a {type(o).__name__}, not an Optimizer")
        checked_grad(array_of(leaf), gi, where)  # name the leaf in any error
        o.step(leaf, gi)


def optimizers(
    model: Any, opt_type: type[Optimizer] = SGD, *, attach: bool = False, **kw: float
) -> Any:
    """Return a fresh ``opt_type(**kw)`` for each float array in ``model`` (Knet's ``optimizers``).

    Args:
        model: A parameter, array, or list, tuple or dict nesting them.
        opt_type: The optimizer class, e.g. ``Adam``.
        attach: Also store each new optimizer in the ``opt`` attribute of parameter-like
            leaves whose ``opt`` is None; a leaf whose ``opt`` is set keeps it, and it is
            returned in its place, so training can stop and resume without losing state.
        **kw: Hyperparameters for ``opt_type``.

    Returns:
        The same structure with an optimizer at each float leaf and ``None`` elsewhere;
        pass it as ``opt`` to :func:`update`.

    Examples:
        >>> optimizers({"w": np.zeros(2), "n": np.zeros(2, int)}, SGD, lr=0.01)
        {'w': SGD(lr=0.01, gclip=0.0), 'n': None}
    """
    if isinstance(model, dict):
        return {k: optimizers(v, opt_type, attach=attach, **kw) for k, v in model.items()}
    if isinstance(model, (list, tuple)):
        opts = [optimizers(v, opt_type, attach=attach, **kw) for v in model]
        return opts if isinstance(model, list) else tuple(opts)
    x = array_of(model)
    if not (hasattr(x, "dtype") and np.issubdtype(x.dtype, np.floating)):
        return None
    if attach and hasattr(model, "opt"):
        if model.opt is None:
            model.opt = opt_type(**kw)
        return model.opt
    return opt_type(**kw)
