"""Reduce a gradient to the shape of the argument it belongs to.

numpy broadcasting stretches an argument of shape ``(3, 1)`` against one of shape
``(2, 3, 4)``; the gradient that flows back has the broadcast shape and must be summed
over the stretched axes. The core does this once, for every rule (tinygrad and
AutoGrad.jl do the same), so rules are written as if no broadcasting happened.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import RuleError

__all__ = ["unbroadcast"]


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum ``g`` over the axes along which ``x`` was broadcast, so it has ``x``'s shape.

    Works on arrays and on tracked values alike (it only calls ``.sum`` and
    ``.reshape``), so it is recorded when a backward pass runs inside an outer ``diff``.

    Args:
        g: a gradient, shaped like the broadcast result.
        x: the argument the gradient belongs to (array, scalar or tracked value).

    Returns:
        ``g`` reduced to ``np.shape(x)``.

    Raises:
        RuleError: when ``g``'s shape cannot come from broadcasting ``x``.

    Examples:
        >>> unbroadcast(np.ones((2, 3)), np.zeros((1, 3)))
        array([[2., 2., 2.]])
        >>> float(unbroadcast(np.ones(4), 1.0))
        4.0
    """
    gshape, shape = getattr(g, "shape", None), getattr(x, "shape", None)
    if gshape is None or shape is None:  # Python numbers and lists
        gshape, shape = np.shape(g), np.shape(x)
    if _is_complex(g) and not _is_complex(x):
        g = np.real(g)  # a real input's gradient is the real part (see docs/primitives.md)
    return _cast_like(_reduce_to(g, gshape, shape), x)


def _reduce_to(g: Any, gshape: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """Sum ``g`` (of shape ``gshape``) over the axes broadcasting stretched to reach it."""
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead == 1 and gshape[1:] == shape:
        return g.sum(axis=0)  # the common case: a bias added to a batch of rows
    if lead == 0:  # as many axes: sum the stretched ones, keeping them
        axes = tuple(i for i, s in enumerate(shape) if s != gshape[i])
        if all(shape[i] == 1 for i in axes):
            return g.sum(axis=axes, keepdims=True)
    if lead < 0 or any(s != 1 and s != gs for s, gs in zip(shape, gshape[lead:])):
        raise RuleError(
            f"a gradient of shape {gshape} cannot belong to an argument of shape {shape}: "
            "the rule returned the wrong shape (broadcast reduction only sums stretched axes)"
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    )
    g = g.sum(axis=axes)
    return g.reshape(shape) if np.shape(g) != shape else g


def _cast_like(g: Any, x: Any) -> Any:
    """``g`` in ``x``'s float dtype: a float32 value next to float64 constants keeps float32
    gradients, and one next to an object array of numbers gets no object gradient. (After
    the reduction: the smaller array is cast, from the sums in float64.)"""
    gd, xd = getattr(g, "dtype", None), getattr(x, "dtype", None)
    if not (isinstance(g, (np.ndarray, np.generic)) and xd is not None and gd != xd):
        return g
    numbers = gd.kind == xd.kind == "f" or (gd.kind not in "fc" and xd.kind in "fc")
    return g.astype(xd) if numbers else g


def _is_complex(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)  # arrays and tracked values; np.iscomplexobj otherwise
    return dtype.kind == "c" if isinstance(dtype, np.dtype) else np.iscomplexobj(x)
