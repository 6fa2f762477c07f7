"""Helpers shared by the rule files: dtypes, axes, and undoing a reduction's shape change.

Everything here works on plain arrays and on tracked values alike (it calls numpy
functions and reads ``.dtype``/``np.shape``), so rules built from it differentiate again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import value
from ..core.errors import InPlaceError

__all__ = [
    "eye", "dtype_of", "is_complex", "conj", "any_set", "used", "rows_reduced", "cast_like",
    "axes_of", "expand", "spread", "filled", "zero", "no_out", "cast_to",
]  # fmt: skip


def dtype_of(x: Any) -> np.dtype:
    """The dtype of an array, tracked value, numpy scalar or Python number.

    Examples:
        >>> dtype_of(np.zeros(2, np.float32)), dtype_of(1.5)
        (dtype('float32'), dtype('float64'))
    """
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.result_type(x)


def eye(n: int, like: Any, dtype: Any = None) -> Any:
    """An ``n`` x ``n`` identity made by the array library of ``like`` (numpy, cupy, ...).

    Rules that build masks or identities use it so a GPU array meets a GPU mask.

    Examples:
        >>> eye(2, np.zeros(3), dtype=bool)
        array([[ True, False],
               [False,  True]])
    """
    raw = value(like)
    if not hasattr(raw, "__array_function__"):
        return np.eye(n, dtype=dtype)
    return np.eye(n, dtype=dtype, like=raw)


def is_complex(x: Any) -> bool:
    """Whether ``x`` holds complex numbers."""
    return dtype_of(x).kind == "c"


def conj(x: Any) -> Any:
    """``conj(x)`` for a complex ``x``; a real ``x`` as it is (nothing recorded)."""
    return np.conj(x) if is_complex(x) else x


def any_set(x: Any) -> Any:
    """Whether any element of ``x`` is nonzero (True): for a numpy array one
    ``np.logical_or.reduce``, where ``ndarray.any`` and ``np.any`` run Python code first.

    Examples:
        >>> bool(any_set(np.array([0.0, 2.0]))), bool(any_set(np.zeros(3)))
        (True, False)
    """
    if x.__class__ is np.ndarray:
        return np.logical_or.reduce(x, axis=None)
    return np.any(x)


def used(dy: Any) -> Any:
    """Whether the output gradient ``dy`` of one element of a tuple output may be nonzero.

    The backward pass gives an element no one used a zero broadcast from one number: its
    strides are all 0, so it holds one value however large it looks, and only that one is
    read. Anything else is `any_set`.

    Examples:
        >>> bool(used(np.broadcast_to(np.float32(0.0), (2000, 3000))))  # one read
        False
        >>> bool(used(np.array([0.0, 2.0])))
        True
    """
    if dy.__class__ is np.ndarray and dy.size and not any(dy.strides):
        return dy.flat[0] != 0
    return any_set(dy)


def rows_reduced(ufunc: np.ufunc, x: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """``ufunc.reduce(x, axis=1)`` for a 2-D numpy array; short rows (32 or fewer) go down the
    columns of the transposed copy, where numpy reduces short rows slowly (100 x 10: 6.5 us
    against 1.7). Only for reductions that do not depend on the order (maximum, minimum): a
    sum would round differently.

    Examples:
        >>> rows_reduced(np.maximum, np.array([[1.0, 3.0], [4.0, 2.0]]), keepdims=True)
        array([[3.],
               [4.]])
    """
    if x.shape[1] > 32:
        return ufunc.reduce(x, axis=1, keepdims=keepdims)
    r = ufunc.reduce(np.ascontiguousarray(x.T), axis=0)
    return r[:, None] if keepdims else r


def cast_like(g: Any, x: Any) -> Any:
    """``g`` in the floating dtype of ``x`` (its real part if ``x`` is real), else unchanged.

    For rules of functions whose output dtype differs from their input's (``astype``,
    ``float_power``, ``sum(dtype=...)``): the gradient keeps the argument's dtype.

    Examples:
        >>> cast_like(np.ones(2), np.zeros(2, np.float32)).dtype
        dtype('float32')
    """
    want, have = dtype_of(x), dtype_of(g)
    if want.kind not in "fc" or have == want:
        return g
    if have.kind == "c" and want.kind != "c":
        g = np.real(g)
    return g.astype(want) if hasattr(g, "astype") else np.asarray(g, dtype=want)


def axes_of(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple, negative allowed) as sorted non-negative ints.

    Examples:
        >>> axes_of(None, 3), axes_of(-1, 3), axes_of((2, 0), 3)
        ((0, 1, 2), (2,), (0, 2))
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(int(a) % max(ndim, 1) for a in axis))


def expand(dy: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Reshape a reduction's output (or its gradient) so it broadcasts against ``x`` again.

    Examples:
        >>> expand(np.ones(3), np.zeros((2, 3)), axis=0).shape
        (1, 3)
    """
    ndim = np.ndim(x)
    if keepdims or np.ndim(dy) == ndim:
        return dy
    shape = list(np.shape(x))
    for ax in axes_of(axis, ndim):
        shape[ax] = 1
    return np.reshape(dy, shape)


def spread(dy: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """A reduction's gradient copied to every element of ``x`` it came from: a new array for
    a numpy array (one fill costs less than ``np.broadcast_to``'s Python code), else a
    broadcast view.

    Examples:
        >>> spread(np.array([1.0, 2.0]), np.zeros((2, 3)), axis=1)
        array([[1., 1., 1.],
               [2., 2., 2.]])
    """
    g = expand(dy, x, axis, keepdims)
    if x.__class__ is np.ndarray and isinstance(g, (np.ndarray, np.generic)):
        return filled(x, g)
    return np.broadcast_to(g, np.shape(x))


def filled(x: np.ndarray, v: Any) -> np.ndarray:
    """A new array of numpy array ``x``'s shape holding numpy value ``v`` (broadcast) in
    ``v``'s dtype: one fill, where ``np.full`` and ``np.broadcast_to`` are Python code, and
    writable, unlike a broadcast view.

    Examples:
        >>> filled(np.zeros((2, 2)), np.array([[0.5]], np.float32))
        array([[0.5, 0.5],
               [0.5, 0.5]], dtype=float32)
    """
    out = np.empty(x.shape, v.dtype)
    out[...] = v
    return out


def zero(dy: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
    """The rule of an argument whose derivative is zero almost everywhere."""
    return np.zeros_like(dy)


def no_out(name: str, out: Any) -> None:
    """Refuse an ``out=`` buffer given to ``name`` with tracked arguments, as the core
    refuses it for ufuncs: writing the result into a plain array would drop it from the tape
    (and a later write into the buffer would change what the tape holds).

    Examples:
        >>> no_out("np.dot", None)  # no buffer: nothing to say
        >>> try:
        ...     no_out("np.dot", np.zeros(2))
        ... except InPlaceError as e:
        ...     print(str(e)[:60])
        np.dot(..., out=...) of tracked values writes into a plain a
    """
    if out is not None:
        raise InPlaceError(
            f"{name}(..., out=...) of tracked values writes into a plain array, which a tape "
            f"cannot record; drop out= and use the value returned (y = {name}(...), not "
            f"{name}(..., out=y))."
        )


def cast_to(y: Any, dtype: Any, inputs: Any, casting: str, name: str) -> Any:
    """``y`` cast to ``dtype`` (None: unchanged) as a function's ``dtype=`` does, after
    numpy's check that each input may be cast under ``casting``. The cast is recorded, so
    the gradient is cast back to each input's dtype.

    Examples:
        >>> cast_to(np.ones(2), np.float32, [np.ones(2)], "same_kind", "np.stack").dtype
        dtype('float32')
    """
    if dtype is None:
        return y
    dtype = np.dtype(dtype)
    for x in inputs:
        if not np.can_cast(dtype_of(x), dtype, casting):
            raise TypeError(
                f"{name}: Cannot cast array data from {dtype_of(x)!r} to {dtype!r} according "
                f"to the rule {casting!r}"
            )
    return y if dtype_of(y) == dtype else y.astype(dtype)
