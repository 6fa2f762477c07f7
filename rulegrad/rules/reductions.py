"""Reductions: sum mean prod var std max min cumsum cumprod (axis, keepdims, ddof), and more.

max/min (and amax/amin) split the gradient equally between tied maxima, as autograd
does: ``np.max([1, 3, 3])`` sends half of ``dy`` to each 3. median, average, ptp and the
nan* reductions are built from these (they need no rule of their own); var and std with
numpy 2's ``mean=`` too. ``out=`` with tracked values raises InPlaceError in those built
here. Not here: ``where=`` on anything but sum and mean.

A Python list of tracked values (``np.mean([a, b])``, ``np.std([a, b])``,
``np.linalg.norm([a, b])``) cannot be recorded: numpy dispatches these functions on the
list itself, which has no ``__array_function__``, and converts it to a plain array before
any protocol sees its elements, so rulegrad raises NoRuleError there. ``np.stack([a, b])``
builds the same array and is recorded (``np.mean(np.stack([a, b]))``). Functions whose
dispatch looks inside the list (concatenate, stack, select, block) take lists as they are.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..core import LINEAR, Domain, implements, plain, primitive, value
from ..core.primitive import PRIMITIVES
from ._util import (
    axes_of,
    cast_like,
    dtype_of,
    expand,
    eye,
    filled,
    is_complex,
    no_out,
    rows_reduced,
    spread,
)

AXES = {"axis": ("axis",), "keepdims": (False, True)}
REDUCE = Domain(args=("real",), kwargs=AXES)
EXTREMES = Domain(args=("real",), kwargs=AXES, ties=True)  # checked at deliberate ties too
DDOF = Domain(args=("real",), kwargs={**AXES, "ddof": (0, 1)})
ACCUMULATE = Domain(args=("real",), kwargs={"axis": ("axis",)})
TABLE = 32  # cumprod's rule divides by the input only along longer axes


def _count(x: Any, y: Any) -> int:
    """How many elements of ``x`` went into each element of the reduction ``y``."""
    return np.size(x) // max(np.size(y), 1) if np.size(x) else 1


# ---- sums and means ----
def _whole(dy: Any, a: Any, axis: Any, where: Any) -> bool:
    """Whether a reduction's rule has the common case: all of a plain array reduced, and an
    output gradient of its dtype (the gradient is then one filled array)."""
    return (
        axis is None
        and where is True
        and a.__class__ is np.ndarray
        and isinstance(dy, (np.ndarray, np.generic))  # a numpy scalar too: a scalar's sum
        and dy.dtype == a.dtype
    )


def _sum_dx(
    dy: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
) -> Any:
    """Every element gets the gradient of the sum it went into (0 where ``where`` is False)."""
    if _whole(dy, a, axis, where):
        return filled(a, dy)
    g = spread(cast_like(dy, a), a, axis, keepdims)
    return g if where is True else g * where


@primitive(_sum_dx, domain=REDUCE, of=np.sum, jvp=LINEAR)
def _sum(a: Any, *args: Any, **kwargs: Any) -> Any:
    """np.sum, without its Python overhead for a float32/float64 array (the same
    ``np.add.reduce``); anything else (float16, dtype=, out=, initial=, where=) is np.sum."""
    total = _add_reduce(a, args, kwargs)
    return np.sum(a, *args, **kwargs) if total is None else total


def _add_reduce(a: Any, args: tuple, kwargs: dict) -> Any:
    """The sum np.sum(a, *args, **kwargs) computes, as one ``np.add.reduce``, when the call
    is a `_plain_reduction`; else None."""
    plain = _plain_reduction(a, args, kwargs)
    return None if plain is None else np.add.reduce(a, axis=plain[0], keepdims=plain[1])


def _plain_reduction(a: Any, args: tuple, kwargs: dict) -> tuple[Any, bool] | None:
    """``(axis, keepdims)`` of a reduction called as ``f(a, *args, **kwargs)`` when ``a`` is a
    non-empty float32 or float64 ndarray and the arguments are at most ``axis`` (by position
    or name) and ``keepdims``: a call one ``ufunc.reduce`` can make. Else None."""
    if (
        a.__class__ is np.ndarray
        and a.dtype.char in "fd"
        and a.size
        and len(args) <= 1
        and kwargs.keys() <= _AXIS_KEEPDIMS
        and not (args and "axis" in kwargs)
    ):
        return (args[0] if args else kwargs.get("axis")), kwargs.get("keepdims", False)
    return None


_AXIS_KEEPDIMS = {"axis", "keepdims"}


def _mean_dx(
    dy: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    where: Any = True,
) -> Any:
    """The sum's gradient divided by the number of elements averaged."""
    if _whole(dy, a, axis, where) and a.size:
        return filled(a, dy / a.size)
    if where is True:
        # divide the (small) output gradient, then spread it: one full-size array, not two
        return spread(cast_like(dy, a) / _count(a, y), a, axis, keepdims)
    n = np.sum(np.broadcast_to(where, np.shape(a)), axis=axis, keepdims=True)
    return spread(cast_like(dy, a), a, axis, keepdims) * (where / n).astype(dtype_of(a))


@primitive(_mean_dx, domain=REDUCE, of=np.mean, jvp=LINEAR)
def _mean(a: Any, *args: Any, **kwargs: Any) -> Any:
    """np.mean, without its Python overhead (3.7 us -> 0.8 us) for a float32/float64 array.

    The same sum (``np.add.reduce``, pairwise) divided by the same count, so the same bits;
    anything else (float16, which numpy sums in float32, dtype=, out=, where=) is np.mean.
    """
    total = _add_reduce(a, args, kwargs)
    if total is None:
        return np.mean(a, *args, **kwargs)
    return total / (a.size // max(total.size, 1))


# ---- products ----
def _others(a: Any, axis: Any) -> Any:
    """For each element, the product of the others along ``axis``, without dividing."""
    axes = axes_of(axis, np.ndim(a))
    front = [i for i in range(np.ndim(a)) if i not in axes]
    moved = np.transpose(a, front + list(axes))
    flat = np.reshape(moved, np.shape(moved)[: len(front)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = np.reshape(left * right, np.shape(moved))
    return np.transpose(others, np.argsort(front + list(axes)))


def _prod_dx(
    dy: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """dy times the product of the other elements (no division: exact at and near zeros)."""
    return expand(dy, a, axis, keepdims) * _prod_weights(a, axis, kwargs)


def _prod_weights(a: Any, axis: Any, kwargs: dict) -> Any:
    """d prod / d a: the product of the other elements (those ``where=`` takes), times
    ``initial=``; 0 for the elements ``where=`` leaves out."""
    where, initial = kwargs.get("where", True), kwargs.get("initial")
    w = _others(a if where is True else np.where(where, a, 1), axis)
    w = w if initial is None else w * initial
    return w if where is True else w * where


def _prod_jvp(
    dx: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """The sum of dx times the product of the other elements."""
    return np.sum(dx * _prod_weights(a, axis, kwargs), axis=axis, keepdims=keepdims)


primitive(np.prod, _prod_dx, jvp=_prod_jvp, domain=REDUCE)


# ---- spread: var and std (complex input: |x - mean|^2, as autograd) ----
def _centered(a: Any, axis: Any) -> Any:
    """``a`` minus its mean (conjugated for complex ``a``)."""
    d = a - np.mean(a, axis=axis, keepdims=True)
    return np.conj(d) if is_complex(a) else d


def _var_dx(
    dy: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """2 (x - mean) / (n - ddof) times the gradient of the variance it went into (NaN when
    n - ddof <= 0, where the variance is NaN or inf)."""
    free = _count(a, y) - kwargs.get("correction", ddof)
    return expand(dy, a, axis, keepdims) * _centered(a, axis) * (2 / free if free > 0 else _NAN)


def _std_dx(
    dy: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """(x - mean) / ((n - ddof) std): the variance's rule through the square root; 0 for a
    single element (std is then constant), NaN when n - ddof <= 0 (std is NaN or inf)."""
    n = _count(a, y)
    free = n - kwargs.get("correction", ddof)
    if free <= 0 or n <= 1:
        g = cast_like(np.zeros_like(spread(dy, a, axis, keepdims)), a)
        return g if free > 0 else g + _NAN
    return expand(dy / y, a, axis, keepdims) * _centered(a, axis) / free


def _spread_jvp(dx: Any, a: Any, axis: Any, keepdims: bool) -> Any:
    """sum((x - mean) dx) along ``axis`` (its real part for complex ``a``: |x - mean|^2
    moves by 2 Re(conj(x - mean) dx), and the mean's own move sums to 0 against x - mean)."""
    t = np.sum(_centered(a, axis) * dx, axis=axis, keepdims=keepdims)
    return np.real(t) if is_complex(t) else t


def _var_jvp(
    dx: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """2 sum((x - mean) dx) / (n - ddof) (NaN when n - ddof <= 0, as the rule)."""
    free = _count(a, y) - kwargs.get("correction", ddof)
    return _spread_jvp(dx, a, axis, keepdims) * (2 / free if free > 0 else _NAN)


def _std_jvp(
    dx: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """sum((x - mean) dx) / ((n - ddof) std): the variance's through the square root; 0 for
    a single element, NaN when n - ddof <= 0 (as the rule)."""
    n = _count(a, y)
    free = n - kwargs.get("correction", ddof)
    if free <= 0 or n <= 1:
        return y * 0 if free > 0 else y * 0 + _NAN
    return _spread_jvp(dx, a, axis, keepdims) / (free * y)


_NAN = float("nan")
primitive(np.var, _var_dx, jvp=_var_jvp, domain=DDOF)


def _spread_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Values spread out: near-constant inputs make std's second derivative ill-conditioned."""
    axis = [None, 0, 1, -1, (0, 1)][rng.integers(5)]
    kwargs = {"axis": axis, "keepdims": bool(rng.integers(2)), "ddof": int(rng.integers(2))}
    return (rng.standard_normal((3, 4)),), kwargs


primitive(np.std, _std_dx, jvp=_std_jvp, domain=Domain(args=("real",), sample=_spread_sample))


def _about(func: Any) -> Any:
    """``func`` (np.var or np.std) taking numpy 2's ``mean=``: with it, the spread about
    that mean, built from primitives (the mean gets a gradient too); with ``where=``, the
    spread about the mean of the elements it takes, likewise; else the primitive. (The
    primitive itself cannot take a tracked ``mean=``: numpy would hand the call back to
    rulegrad for ever.)"""
    prim = PRIMITIVES[func]

    def spread_about(a: Any, *args: Any, mean: Any = None, **kwargs: Any) -> Any:
        where = kwargs.get("where", True)
        if mean is None and where is not True:
            axis = args[0] if args else kwargs.get("axis")
            mean = np.mean(a, axis=axis, keepdims=True, where=where)
        if mean is None:
            return prim(a, *args, **kwargs)
        var = _var_about(a, mean, *args, **kwargs)
        return np.sqrt(var) if func is np.std else var

    spread_about.__name__ = spread_about.__qualname__ = f"_{func.__name__}_about"
    return spread_about


def _var_about(
    a: Any,
    mean: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where: Any = True,
    correction: Any = None,
) -> Any:
    """sum(|a - mean|^2) / (n - ddof), numpy's variance about a given mean."""
    no_out("np.var", out)
    ddof = ddof if correction is None else correction
    d = a - mean
    square = np.real(d * np.conj(d)) if is_complex(d) else d * d
    if where is True:
        n = math.prod(np.shape(square)[ax] for ax in axes_of(axis, np.ndim(square)))
    else:
        n = np.sum(np.broadcast_to(where, np.shape(a)), axis=axis, keepdims=keepdims)
    free = max(n - ddof, 0) if where is True else np.maximum(n - ddof, 0).astype(square.dtype)
    var = np.sum(square, axis=axis, keepdims=keepdims, where=where) / free
    return var if dtype is None else var.astype(dtype)


implements(np.var)(_about(np.var))
implements(np.std)(_about(np.std))


# ---- extremes: ties share the gradient equally ----
def _extreme_dx(
    dy: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """dy divided equally between the elements equal to the maximum (or minimum)."""
    return expand(dy, a, axis, keepdims) * _share(y, a, axis, keepdims, kwargs)


def _share(y: Any, a: Any, axis: Any, keepdims: bool, kwargs: dict) -> Any:
    """Each element's share of the maximum (or minimum): 1 / (the number of elements equal
    to it) for those, 0 for the others (and for the ones ``where=`` leaves out)."""
    hit = a == expand(y, a, axis, keepdims)
    if kwargs.get("where", True) is not True:
        hit = hit & kwargs["where"]
    count = np.sum(hit, axis=axis, keepdims=True)
    share = hit if np.max(count, initial=0) <= 1 else (hit / np.maximum(count, 1))
    return share.astype(dtype_of(a))


def _extreme_jvp(
    dx: Any,
    y: Any,
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """The mean of dx over the elements equal to the maximum (or minimum): central
    differences at a tie give that mean too."""
    return np.sum(dx * _share(y, a, axis, keepdims, kwargs), axis=axis, keepdims=keepdims)


def _extreme(func: Any, ufunc: np.ufunc) -> Any:
    """``func`` (np.max, ...) as one ``ufunc.reduce`` for a float32/float64 array, without its
    Python overhead, and down the columns of the transposed copy for short rows (100 x 10,
    axis 1: 8.3 us -> 2.0); anything else (initial=, where=, out=, integers) is ``func``."""

    def extreme(a: Any, *args: Any, **kwargs: Any) -> Any:
        plain = _plain_reduction(a, args, kwargs)
        if plain is None:
            return func(a, *args, **kwargs)
        axis, keepdims = plain
        if a.ndim == 2 and axis in (1, -1):
            return rows_reduced(ufunc, a, keepdims)  # (exact in any order, unlike a sum)
        return ufunc.reduce(a, axis=axis, keepdims=keepdims)

    extreme.__name__ = extreme.__qualname__ = f"_{func.__name__}"
    extreme.__doc__ = f"np.{func.__name__}, faster for float arrays (see `_extreme`)."
    return extreme


for _u, _names in ((np.maximum, (np.max, np.amax)), (np.minimum, (np.min, np.amin))):
    for _f in _names:
        primitive(_extreme_dx, jvp=_extreme_jvp, domain=EXTREMES, of=_f)(_extreme(_f, _u))


# ---- running sums and products ----
def _cumsum_dx(
    dy: Any, y: Any, a: Any, axis: Any = None, dtype: Any = None, out: Any = None
) -> Any:
    """A running sum from the other end: each element feeds every later output."""
    if axis is None:  # numpy flattened a first
        g = np.reshape(np.flip(np.cumsum(np.flip(dy))), np.shape(a))
    else:
        g = np.flip(np.cumsum(np.flip(dy, axis), axis), axis)
    return cast_like(g, a)


def _cumprod_dx(
    dy: Any, y: Any, a: Any, axis: Any = None, dtype: Any = None, out: Any = None
) -> Any:
    """The sum over later outputs j of dy_j times the running product up to j with a_i left
    out: from an n x n table per row (exact, also at zeros) for axes of up to `TABLE`
    elements, else in O(n) (`_cumprod_long`)."""
    x, g, ax = (np.ravel(a), np.ravel(dy), 0) if axis is None else (a, dy, axis)
    n = np.shape(x)[ax]
    x, g = np.moveaxis(x, ax, -1), np.moveaxis(g, ax, -1)
    if n > TABLE:
        yl = np.moveaxis(np.ravel(y) if axis is None else y, ax, -1)
        dx = _cumprod_long(g, yl, x)
    else:
        diag = eye(n, x, dtype=bool)
        left_out = np.cumprod(np.where(diag, 1, np.expand_dims(x, -2)), axis=-1)
        later = np.triu(np.ones_like(diag))
        dx = np.sum(np.where(later, left_out * np.expand_dims(g, -2), 0), axis=-1)
    return np.reshape(dx, np.shape(a)) if axis is None else np.moveaxis(dx, -1, ax)


def _revcumsum(x: Any) -> Any:
    """Sums from each position to the end of the last axis."""
    return np.flip(np.cumsum(np.flip(x, -1), -1), -1)


def _cumprod_long(g: Any, y: Any, x: Any) -> Any:
    """cumprod's gradient along the last axis in O(n) time and memory.

    dx_i = y_{i-1} S_i with S_i = sum_{j >= i} g_j prod_{i < k <= j} x_k. Before a row's
    first zero z, y_{i-1} S_i = sum_{j >= i} g_j y_j / x_i (x_i is not 0). At z it is
    y_{z-1} sum_{j >= z} g_j c_j, with c the running product of what follows z. After z,
    y_{i-1} is 0, so only S_i's value counts (a second derivative, through y_{i-1}, needs
    it): it is taken within each stretch between zeros, on plain values.
    """
    zero = value(x) == 0
    if not zero.any():
        return _revcumsum(g * y) / x
    seen = np.cumsum(zero, axis=-1)
    before, at = seen == 0, zero & (seen == 1)
    del seen  # (names are dropped as soon as they are used: the peak stays a few rows)
    rest = _stretches(value(g), value(x), zero)
    c = np.cumprod(np.where(before | at, 1, x), axis=-1)
    rest = np.where(at, np.sum(np.where(before, 0, g * c), axis=-1, keepdims=True), rest)
    del c
    rest = rest * np.concatenate([np.ones_like(y[..., :1]), y[..., :-1]], axis=-1)
    return np.where(before, _revcumsum(g * y) / np.where(before, x, 1), rest)


def _stretches(g: np.ndarray, x: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """S_i = sum_{j >= i} g_j prod_{i < k <= j} x_k within each stretch that a zero starts
    (plain values, in place to keep memory low; finite, 0 where they are not)."""
    n = x.shape[-1]
    pos = np.arange(n, like=x)  # (on x's array library)
    last = np.where(zero, pos, -1)
    np.maximum.accumulate(last, axis=-1, out=last)  # the zero at or before each position
    part = np.where(zero, 1, x)
    np.cumprod(part, axis=-1, out=part)
    base = np.take_along_axis(part, np.maximum(last, 0), -1)
    base[last < 0] = 1
    del last
    part /= base  # prod_{last zero < k <= j} x_k
    del base
    s = g * part
    np.cumsum(s[..., ::-1], axis=-1, out=s[..., ::-1])  # sums to the end of the row
    nxt = np.where(zero, pos, n)
    np.minimum.accumulate(nxt[..., ::-1], axis=-1, out=nxt[..., ::-1])  # next zero at or after
    ends = np.take_along_axis(s, np.minimum(nxt[..., 1:], n - 1), -1)
    ends[nxt[..., 1:] == n] = 0
    del nxt
    s[..., :-1] -= ends  # minus the sums from the next stretch on
    del ends
    with np.errstate(all="ignore"):
        s /= part
    s[~np.isfinite(s)] = 0
    return s


def _cumprod_jvp(
    dx: Any, y: Any, a: Any, axis: Any = None, dtype: Any = None, out: Any = None
) -> Any:
    """dy_j = sum_{i <= j} dx_i prod_{k <= j, k != i} x_k: y_j cumsum(dx / x)_j before a
    row's first zero z; from z on, only i = z has a nonzero product, dx_z times the running
    product with x_z taken as 1 (which a second zero makes 0). Exact at zeros."""
    x, t, ax = (np.ravel(a), np.ravel(dx), 0) if axis is None else (a, dx, axis)
    zero = value(x) == 0
    if not zero.any():
        return y * np.cumsum(t / x, axis=ax)
    seen = np.cumsum(zero, axis=ax)
    before, at = seen == 0, zero & (seen == 1)
    c = np.cumprod(np.where(at, 1, x), axis=ax)
    lead = np.sum(np.where(at, t, 0), axis=ax, keepdims=True)
    run = np.cumsum(np.where(before, t / np.where(before, x, 1), 0), axis=ax)
    return c * np.where(before, run, lead)


primitive(np.cumsum, _cumsum_dx, jvp=LINEAR, domain=ACCUMULATE)
primitive(np.cumprod, _cumprod_dx, jvp=_cumprod_jvp, domain=ACCUMULATE)


# ---- built from the above: no rules of their own ----
def _along_last(a: Any, axis: Any) -> tuple[Any, tuple[int, ...]]:
    """``a`` with the ``axis`` axes moved to the end and merged into one."""
    axes = axes_of(axis, np.ndim(a))
    front = [i for i in range(np.ndim(a)) if i not in axes]
    moved = np.transpose(a, front + list(axes))
    return np.reshape(moved, np.shape(moved)[: len(front)] + (-1,)), axes


def _keep(r: Any, a: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    return (
        np.reshape(r, [1 if i in axes else n for i, n in enumerate(np.shape(a))]) if keepdims else r
    )


@implements(np.median)
def _median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    """The mean of the middle one or two sorted values: they get the gradient."""
    no_out("np.median", out)
    flat, axes = _along_last(a, axis)
    n = np.shape(flat)[-1]
    middle = np.sort(flat, axis=-1)[..., (n - 1) // 2 : n // 2 + 1]
    return _keep(np.mean(middle, axis=-1), a, axes, keepdims)


@implements(np.average)
def _average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False
) -> Any:
    """sum(a * w) / sum(w); weights of another shape than ``a``'s lie along ``axis``."""
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        scale = np.full_like(avg, _count(a, avg)) if returned else None
    else:
        w = _weights_along(weights, a, axis)
        scale = np.sum(w, axis=axis, keepdims=keepdims)
        if np.any(value(scale) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(a * w, axis=axis, keepdims=keepdims) / scale
    return (avg, np.broadcast_to(scale, np.shape(avg))) if returned else avg


def _weights_along(w: Any, a: Any, axis: Any) -> Any:
    """np.average's weights, shaped to broadcast against ``a`` (numpy's checks and errors)."""
    shape, nd = np.shape(a), np.ndim(a)
    if np.shape(w) == shape:
        return w
    if axis is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    axes = tuple(int(ax) % max(nd, 1) for ax in ((axis,) if np.ndim(axis) == 0 else axis))
    if np.shape(w) != tuple(shape[ax] for ax in axes):
        raise ValueError(
            "Shape of weights must be consistent with shape of a along specified axis."
        )
    w = np.transpose(w, np.argsort(axes)) if len(axes) > 1 else w
    w = np.reshape(w, [s if ax in axes else 1 for ax, s in enumerate(shape)])
    return np.broadcast_to(w, shape)


@implements(np.ptp)
def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    no_out("np.ptp", out)
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def _nan_as(a: Any, fill: float) -> Any:
    return np.where(np.isnan(a), fill, a)


def _dtype(dtype: Any) -> dict[str, Any]:
    """``dtype=`` to pass on to a primitive, when one was asked for (none keeps the fast
    paths, which take no dtype keyword)."""
    return {} if dtype is None else {"dtype": dtype}


@implements(np.nansum)
def _nansum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    no_out("np.nansum", out)
    return np.sum(_nan_as(a, 0), axis=axis, keepdims=keepdims, **_dtype(dtype), **kwargs)


@implements(np.nanmean)
def _nanmean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    no_out("np.nanmean", out)
    n = np.sum(~np.isnan(a), axis=axis, keepdims=keepdims)
    total = np.sum(_nan_as(a, 0), axis=axis, keepdims=keepdims, **_dtype(dtype))
    return total / n.astype(dtype_of(total))


@implements(np.nanprod)
def _nanprod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    no_out("np.nanprod", out)
    return np.prod(_nan_as(a, 1), axis=axis, keepdims=keepdims, **_dtype(dtype))


def _nan_extreme(func: Any, fill: float) -> Any:
    """np.nanmax or np.nanmin: ``func`` with NaNs replaced by ``fill``; an all-NaN slice
    gives NaN, with numpy's RuntimeWarning."""

    def nan_extreme(
        a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kwargs: Any
    ) -> Any:
        no_out(f"np.nan{func.__name__}", out)
        nan = np.isnan(a)
        r = func(np.where(nan, fill, a), axis=axis, keepdims=keepdims, **kwargs)
        empty = np.all(nan, axis=axis, keepdims=keepdims)
        if np.any(plain(empty)):  # (a warning only: not a read of the data `jit` replays)
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
        return np.where(empty, np.nan, r)

    nan_extreme.__name__ = nan_extreme.__qualname__ = f"_nan{func.__name__}"
    return nan_extreme


implements(np.nanmax)(_nan_extreme(np.max, -np.inf))
implements(np.nanmin)(_nan_extreme(np.min, np.inf))


@implements(np.nanvar)
def _nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    no_out("np.nanvar", out)
    n = np.sum(~np.isnan(a), axis=axis, keepdims=keepdims)
    d = _nan_as(a - np.nanmean(a, axis=axis, keepdims=True), 0)
    square = np.real(d * np.conj(d)) if is_complex(a) else d * d
    var = np.sum(square, axis=axis, keepdims=keepdims) / (n - ddof).astype(dtype_of(square))
    return var if dtype is None else var.astype(dtype)


@implements(np.nanstd)
def _nanstd(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    no_out("np.nanstd", out)
    std = np.sqrt(_nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims))
    return std if dtype is None else std.astype(dtype)


@implements(np.nancumsum)
def _nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    no_out("np.nancumsum", out)
    return np.cumsum(_nan_as(a, 0), axis=axis, **_dtype(dtype))


@implements(np.linspace)
def _linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    **kwargs: Any,
) -> Any:
    """start + (stop - start) * t for t from 0 to 1: start and stop get gradients."""
    div = num - 1 if endpoint else num
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    t = (np.arange(num) / max(div, 1)).reshape((num,) + (1,) * len(shape))
    ends = [v if isinstance(v, (int, float, complex)) else dtype_of(v) for v in (start, stop)]
    t = t.astype(np.result_type(*ends, 1.0))  # Python numbers do not widen float32 ends
    y = np.moveaxis(start + (stop - start) * t, 0, axis)
    y = y if dtype is None else y.astype(dtype)
    return (y, (stop - start) / div) if retstep else y


# ---- ufunc methods that are reductions in disguise ----
def _reduce(f: Any, name: str) -> Any:
    def reduce(
        array: Any,
        axis: Any = 0,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        **kwargs: Any,
    ) -> Any:
        return f(array, axis=axis, keepdims=keepdims, **_dtype(dtype), **kwargs)

    reduce.__name__ = f"{name}_reduce"
    return reduce


def _accumulate(f: Any, name: str) -> Any:
    def accumulate(array: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        return f(array, axis=axis, **_dtype(dtype))

    accumulate.__name__ = f"{name}_accumulate"
    return accumulate


for _ufunc, _f in (
    (np.add, np.sum),
    (np.multiply, np.prod),
    (np.maximum, np.max),
    (np.minimum, np.min),
):
    implements(_ufunc.reduce)(_reduce(_f, _ufunc.__name__))
for _ufunc, _f in ((np.add, np.cumsum), (np.multiply, np.cumprod)):
    implements(_ufunc.accumulate)(_accumulate(_f, _ufunc.__name__))
