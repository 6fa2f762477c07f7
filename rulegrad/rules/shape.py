"""Shape and indexing: reshaping, axes, joining and splitting, repeating, flips, triangles, sort,
pad, astype, copy, and indexing of every kind (repeated integer indices add up).

``np.array([a, b])`` of tracked values cannot be intercepted (numpy converts each element
first); ``np.stack([a, b])`` builds the same array and is recorded, also for 0-d values.
Not here: in-place functions (put, place, fill_diagonal, ``x[i] = v``: the core raises
InPlaceError; so do concatenate, stack and take given ``out=``), pad modes that mix values
(linear_ramp, mean, median, maximum, minimum, reflect_type="odd"; forward mode has all but
median, maximum and minimum, the linear ones).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..core import LINEAR, Domain, Tracked, implements, primitive, unbroadcast, value
from ..core.errors import NoRuleError
from ..core.primitive import passthrough
from ._util import cast_like, cast_to, dtype_of, no_out

REAL = Domain(args=("real",))


def _matrix(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape or (3, 4))


def _back(dy: Any, y: Any, a: Any, *args: Any, **kwargs: Any) -> Any:
    """The rule of functions that only rearrange: reshape dy to the input's shape."""
    return np.reshape(dy, np.shape(a))


def _index_order(a: Any, order: Any) -> str:
    """The index order, ``"C"`` or ``"F"``, that numpy's ``order`` reads ``a`` in.

    ``"A"`` means ``"F"`` when ``a`` is Fortran-contiguous and not C-contiguous, else ``"C"``
    (numpy's rule); ``None`` means ``"C"``. ``"K"`` (memory order) is not an index order.
    """
    order = "C" if order is None else str(order).upper()
    if order == "A":
        flags = getattr(value(a), "flags", None)
        fortran = flags is not None and flags.f_contiguous and not flags.c_contiguous
        return "F" if fortran else "C"
    if order not in ("C", "F"):
        raise ValueError(f"order must be one of 'C', 'F', 'A' (or 'K' for ravel), not {order!r}")
    return order


def _reshape_dx(dy: Any, y: Any, a: Any, shape: Any = None, order: Any = "C", **kwargs: Any) -> Any:
    """Reshape dy back to a's shape, reading and writing in the same index order."""
    return np.reshape(dy, np.shape(a), order=_index_order(a, order))


def _memory_order(a: Any) -> np.ndarray:
    """For ``ravel(a, order="K")``: the C-order flat index of each element it reads.

    An index array laid out in memory like ``a`` and raveled the same way says which.
    """
    a = np.asarray(value(a))
    where = np.empty_like(a, dtype=np.intp, order="K")
    where[...] = np.reshape(np.arange(a.size), a.shape)
    return np.ravel(where, order="K")


def _ravel_dx(dy: Any, y: Any, a: Any, order: Any = "C") -> Any:
    """Put each element of dy back where ravel read it from, in ravel's order."""
    if order is not None and str(order).upper() == "K":
        return np.reshape(dy[np.argsort(_memory_order(a))], np.shape(a))
    return np.reshape(dy, np.shape(a), order=_index_order(a, order))


# ---- reshaping (the gradient is reshaped back) ----
primitive(
    np.reshape,
    _reshape_dx,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng), (2, 6)), {})),
)
primitive(np.ravel, _ravel_dx, jvp=LINEAR, domain=REAL)
primitive(
    np.expand_dims, _back, None, jvp=LINEAR, domain=Domain(args=("real",), kwargs={"axis": (0, -1)})
)
primitive(
    np.squeeze,
    _back,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng, 3, 1, 4),), {})),
)
primitive(
    np.broadcast_to,
    lambda dy, y, array, shape, **kw: unbroadcast(dy, array),
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng, 3, 1), (2, 3, 4)), {})),
)
primitive(np.copy, passthrough, jvp=LINEAR, domain=REAL)


def _astype_rule(dy: Any, y: Any, x: Any, dtype: Any, **kwargs: Any) -> Any:
    """``dy`` cast back to x's dtype; none through a cast to integers or booleans (a step
    function: its gradient is zero wherever it has one)."""
    return cast_like(dy, x) if np.dtype(dtype).kind in "fc" else None


def _astype_jvp(dx: Any, y: Any, x: Any, dtype: Any, **kwargs: Any) -> Any:
    """The tangent cast to ``dtype`` as numpy casts ``x`` (its real part for a real dtype);
    none through a cast to integers or booleans."""
    kind = np.dtype(dtype).kind
    if kind not in "fc":
        return None
    if kind == "f" and dtype_of(dx).kind == "c":
        dx = np.real(dx)
    return _astype(dx, dtype)


@primitive(
    _astype_rule,
    None,
    jvp=_astype_jvp,
    of=np.ndarray.astype,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng), "float64"), {})),
)
def _astype(x: Any, dtype: Any, **kwargs: Any) -> Any:
    """``x.astype(dtype)``; the gradient is cast back to x's dtype (autograd's convention)."""
    return x.astype(dtype, **kwargs)


def _astype_function(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    """numpy 2's function form, ``np.astype(x, dtype)``: the method's rule."""
    return _astype(x, dtype, copy=copy)


if hasattr(np, "astype"):
    implements(np.astype)(_astype_function)


def _at_least(ndim: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape numpy's atleast_{ndim}d gives: (1,) -> (1, n) -> (1, n, 1)."""
    if len(shape) >= ndim:
        return shape
    if ndim == 3 and len(shape) == 2:
        return (*shape, 1)
    if ndim == 3:
        return (1, *(shape or (1,)), 1)
    return (1,) * (ndim - len(shape)) + shape


def _atleast(ndim: int) -> Any:
    def atleast(*arys: Any) -> Any:
        out = tuple(np.reshape(a, _at_least(ndim, np.shape(a))) for a in arys)
        return out[0] if len(out) == 1 else out

    atleast.__name__ = f"atleast_{ndim}d"
    return atleast


implements(np.atleast_1d)(_atleast(1))
implements(np.atleast_2d)(_atleast(2))
implements(np.atleast_3d)(_atleast(3))


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(np.broadcast_to(a, shape) for a in args)


# ---- axes ----
def _transpose_dx(dy: Any, y: Any, a: Any, axes: Any = None) -> Any:
    """Transpose back with the inverse permutation (negative axes counted from the end)."""
    if axes is None:
        return np.transpose(dy)
    n = np.ndim(a)
    return np.transpose(dy, tuple(np.argsort([int(ax) % n for ax in axes]).tolist()))


primitive(np.transpose, _transpose_dx, None, jvp=LINEAR, domain=REAL)
primitive(
    np.swapaxes,
    lambda dy, y, a, axis1, axis2: np.swapaxes(dy, axis1, axis2),
    None,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng), 0, -1), {})),
)
primitive(
    np.moveaxis,
    lambda dy, y, a, source, destination: np.moveaxis(dy, destination, source),
    None,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng, 2, 3, 4), 0, -1), {})),
)


@implements(np.rollaxis)
def _rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    n = np.ndim(a)
    axis, start = axis % n, start % (n + 1)
    return np.moveaxis(a, axis, start - 1 if start > axis else start)


# ---- order ----
def _roll_dx(dy: Any, y: Any, a: Any, shift: Any, axis: Any = None) -> Any:
    """Roll back by the opposite shift."""
    back = -shift if isinstance(shift, (int, np.integer)) else tuple(-s for s in shift)
    return np.roll(dy, back, axis)


primitive(np.flip, lambda dy, y, m, axis=None: np.flip(dy, axis), jvp=LINEAR, domain=REAL)
primitive(
    np.roll,
    _roll_dx,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng), 2), {"axis": 1})),
)
implements(np.fliplr)(lambda m: np.flip(m, 1))
implements(np.flipud)(lambda m: np.flip(m, 0))


@implements(np.rot90)
def _rot90(m: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    """numpy's rot90, written with flip and transpose."""
    k %= 4
    perm = list(range(np.ndim(m)))
    perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
    if k == 0:
        return m
    if k == 2:
        return np.flip(np.flip(m, axes[0]), axes[1])
    if k == 1:
        return np.transpose(np.flip(m, axes[1]), perm)
    return np.flip(np.transpose(m, perm), axes[1])


@implements(np.sort)
def _sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, **kwargs: Any) -> Any:
    """The values in order: each gets the gradient of the position it moved to."""
    if axis is None:
        a, axis = np.ravel(a), -1
    return np.take_along_axis(a, np.argsort(a, axis=axis, kind=kind, **kwargs), axis=axis)


@implements(np.partition)
def _partition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    if axis is None:
        a, axis = np.ravel(a), -1
    return np.take_along_axis(a, np.argpartition(a, kth, axis=axis), axis=axis)


# ---- repetition ----
def _repeat_dx(dy: Any, y: Any, a: Any, repeats: Any, axis: Any = None) -> Any:
    """Sum the copies: by a reshape for a single count, by scattering for a list of counts."""
    if axis is None:
        return np.reshape(_repeat_dx(dy, y, np.ravel(a), repeats, 0), np.shape(a))
    ax = axis % np.ndim(a)
    shape = np.shape(a)
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:
        r = int(np.ravel(repeats)[0]) if np.ndim(repeats) else int(repeats)
        return np.sum(np.reshape(dy, shape[:ax] + (shape[ax], r) + shape[ax + 1 :]), axis=ax + 1)
    source = np.repeat(np.arange(shape[ax]), repeats)
    return untake(dy, a, (slice(None),) * ax + (source,))


def _tile_dx(dy: Any, y: Any, A: Any, reps: Any) -> Any:
    """Split each axis into (copies, size) and sum the copies."""
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    shape = np.shape(A)
    n = max(len(reps), len(shape))
    reps, full = (1,) * (n - len(reps)) + reps, (1,) * (n - len(shape)) + shape
    split = [v for r, s in zip(reps, full) for v in (r, s)]
    summed = np.sum(np.reshape(dy, split), axis=tuple(range(0, 2 * n, 2)))
    return np.reshape(summed, shape)


primitive(
    np.repeat,
    _repeat_dx,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng), 2), {"axis": 1})),
)
primitive(
    np.tile,
    _tile_dx,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=lambda rng: ((_matrix(rng), (2, 1, 3)), {})),
)


# ---- triangles and diagonals ----
def _diagonal_dx(dy: Any, y: Any, a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """Scatter dy onto the diagonal of zeros shaped like a."""
    n = np.shape(dy)[-1]
    rows = np.arange(n) + max(-offset, 0)
    cols = np.arange(n) + max(offset, 0)
    moved = np.moveaxis(a, (axis1, axis2), (-2, -1))
    return np.moveaxis(untake(dy, moved, (Ellipsis, rows, cols)), (-2, -1), (axis1, axis2))


def _diag_dx(dy: Any, y: Any, v: Any, k: int = 0) -> Any:
    """diag builds a matrix from a vector (gradient: its diagonal) or reads one (scatter back)."""
    return np.diagonal(dy, k) if np.ndim(v) == 1 else _diagonal_dx(dy, y, v, k)


primitive(np.triu, lambda dy, y, m, k=0: np.triu(dy, k), jvp=LINEAR, domain=REAL)
primitive(np.tril, lambda dy, y, m, k=0: np.tril(dy, k), jvp=LINEAR, domain=REAL)
primitive(np.diagonal, _diagonal_dx, jvp=LINEAR, domain=REAL)
primitive(np.diag, _diag_dx, jvp=LINEAR, domain=REAL)
implements(np.diagflat)(lambda v, k=0: np.diag(np.ravel(v), k))


# ---- padding: each output is a copy of one input element (or the constant) ----
_COPY_MODES = ("constant", "empty", "edge", "reflect", "symmetric", "wrap")


def _pad_dx(
    dy: Any, y: Any, array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any
) -> Any:
    """Cut the padding off, or, for copying modes, add each copy back where it came from.

    Padding an array of flat indices the same way says which element each output copies.
    """
    shape = np.shape(array)
    if mode in ("constant", "empty"):
        width = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
        return dy[tuple(slice(lo, lo + n) for (lo, _), n in zip(width, shape))]
    if mode not in _COPY_MODES or kwargs.get("reflect_type", "even") != "even":
        raise NoRuleError(
            f"np.pad(mode={mode!r}, {kwargs}) has no gradient rule: its outputs mix several "
            f"inputs. Modes with a rule: {', '.join(_COPY_MODES)} (reflect_type='even')."
        )
    source = np.pad(np.reshape(np.arange(np.size(array)), shape), pad_width, mode=mode, **kwargs)
    return np.reshape(untake(np.ravel(dy), np.ravel(array), np.ravel(source)), shape)


def _pad_jvp(
    dx: Any, y: Any, array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any
) -> Any:
    """np.pad of the tangent: padded with zeros where the padding is a constant, and the
    same way as the array by the modes that are linear in it (copies, means, ramps to 0)."""
    if mode in ("constant", "empty"):
        return np.pad(dx, pad_width)
    if mode not in _LINEAR_MODES:
        raise NoRuleError(
            f"np.pad(mode={mode!r}) has no forward rule: it is not linear in the array. "
            f"Modes with one: constant, empty, {', '.join(_LINEAR_MODES)}."
        )
    if mode == "linear_ramp":
        kwargs = {**kwargs, "end_values": 0}
    return np.pad(dx, pad_width, mode=mode, **kwargs)


_LINEAR_MODES = ("edge", "reflect", "symmetric", "wrap", "mean", "linear_ramp")

primitive(
    np.pad,
    _pad_dx,
    None,
    jvp=_pad_jvp,
    domain=Domain(
        args=("real",), sample=lambda rng: ((_matrix(rng), ((1, 2), (0, 3))), {"mode": "reflect"})
    ),
)


# ---- indexing: getitem and its adjoint, which scatters (adding repeated indices) ----
def _basic(index: Any) -> bool:
    """Whether ``index`` picks each element at most once (no integer arrays)."""
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)):
            continue
        if getattr(p, "dtype", None) == np.bool_ and len(parts) == 1:
            continue
        return False
    return True


def _index_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A matrix and an index mixing a repeated integer array with a strided slice."""
    return (_matrix(rng, 4, 5), (np.array([0, 2, 2, 3]), slice(None, None, 2))), {}


def _untake_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A gradient for ``x[index]`` with a repeated integer array and a strided slice."""
    x, index = _index_sample(rng)[0]
    return (rng.standard_normal(np.shape(x[index])), x, index), {}


@primitive(
    lambda dy, y, g, x, index: dy[index],
    None,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real", "real"), sample=_untake_sample),
)
def untake(g: Any, x: Any, index: Any) -> Any:
    """Zeros shaped like ``x`` (dtype of ``g``) with ``g`` added at ``x[index]``.

    The adjoint of ``x[index]``: elements picked several times get the sum of their gradients.

    Examples:
        >>> untake(np.array([1.0, 2.0, 3.0]), np.zeros(3), [0, 0, 2])
        array([3., 0., 3.])
    """
    if isinstance(g, Tracked):  # a box of an outer tape (second order): record it there
        return untake(g, x, index)
    summed = _onehot_rows(g, x, index)
    if summed is not None:
        return summed
    out = np.zeros_like(x, dtype=g.dtype if hasattr(g, "dtype") else np.result_type(g))
    if _basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


#: `untake` sums rows picked by an integer array with a matrix product up to this many rows
ONEHOT_ROWS = 256


def _onehot_rows(g: Any, x: Any, index: Any) -> np.ndarray | None:
    """`untake` for an integer array ``index`` into the first axis of a float array of at
    most `ONEHOT_ROWS` rows (an embedding's gradient): one product of a one-hot matrix
    with ``g``, several times faster than ``np.add.at`` (20 ms -> 3 ms for 12800 picks of
    75 x 256); None for anything else, and where the one-hot matrix would be bigger than
    ``g``."""
    if not (
        index.__class__ is g.__class__ is np.ndarray
        and index.dtype.kind in "iu"
        and g.dtype.char in "fd"
        and np.ndim(x) >= 1
        and g.shape[: index.ndim] == index.shape
        and g.ndim == index.ndim + np.ndim(x) - 1
    ):
        return None
    rows, count = np.shape(x)[0], index.size
    width = g.size // max(count, 1)
    if rows > min(ONEHOT_ROWS, width):
        return None
    onehot = np.zeros((rows, count), g.dtype)
    onehot[index.ravel(), np.arange(count)] = 1  # (negative indices count from the end)
    return np.reshape(onehot @ np.reshape(g, (count, width)), np.shape(x))


primitive(
    operator.getitem,
    lambda dy, y, x, index: untake(dy, x, index),
    None,
    jvp=LINEAR,
    domain=Domain(args=("real",), sample=_index_sample),
)


def _along(shape: tuple[int, ...], indices: Any, axis: int) -> tuple[Any, ...]:
    """The integer-array index equivalent to ``take_along_axis(., indices, axis)``."""
    ndim = len(shape)
    index = []
    for i in range(ndim):
        if i == axis % ndim:
            index.append(indices)
        else:
            index.append(
                np.reshape(np.arange(shape[i]), [-1 if j == i else 1 for j in range(ndim)])
            )
    return tuple(index)


def _take_along_axis_dx(dy: Any, y: Any, arr: Any, indices: Any, axis: Any = -1) -> Any:
    """Scatter-add dy back to the positions it was taken from."""
    if axis is None:
        return np.reshape(untake(dy, np.ravel(arr), indices), np.shape(arr))
    return untake(dy, arr, _along(np.shape(arr), indices, axis))


def _along_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (_matrix(rng), rng.integers(0, 4, (3, 6))), {"axis": 1}


primitive(
    np.take_along_axis,
    _take_along_axis_dx,
    None,
    jvp=LINEAR,
    domain=Domain(args=("real", "int"), sample=_along_sample),
)


@implements(np.take)
def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    no_out("np.take", out)
    n = np.size(a) if axis is None else np.shape(a)[axis]
    if mode == "wrap":
        indices = np.mod(indices, n)
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    if axis is None:
        return np.ravel(a)[indices]
    return a[(slice(None),) * (axis % np.ndim(a)) + (indices,)]


@implements(np.nan_to_num)
def _nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    """Finite elements pass through (with their gradients); the others become constants."""
    fill = np.nan_to_num(value(x), copy=True, nan=nan, posinf=posinf, neginf=neginf)
    return np.where(np.isfinite(x), x, fill)


@implements(np.diff)
def _diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """Differences of neighbours along ``axis``, ``n`` times, by slicing."""
    ax = axis % np.ndim(a)

    def edge(v: Any) -> Any:
        """A scalar to prepend or append becomes a slab along ``axis``, in a's dtype."""
        if np.ndim(v) != 0:
            return v
        v = np.asarray(v, dtype_of(a)) if isinstance(v, (int, float, complex)) else v
        return np.broadcast_to(v, np.shape(a)[:ax] + (1,) + np.shape(a)[ax + 1 :])

    if prepend is not None or append is not None:
        before = [edge(prepend)] if prepend is not None else []
        after = [edge(append)] if append is not None else []
        a = concat(*before, a, *after, axis=ax)
    pre = (slice(None),) * ax
    for _ in range(n):
        a = a[(*pre, slice(1, None))] - a[(*pre, slice(None, -1))]
    return a


# ---- joining: everything goes through concat ----
def _concatenate_vjp(dy: Any, y: Any, *arrays: Any, axis: int = 0) -> tuple:
    """Each input gets its slice of dy along ``axis``."""
    ax = axis % np.ndim(y)
    ends = np.cumsum([np.shape(a)[ax] for a in arrays])
    pre = (slice(None),) * ax
    return tuple(dy[(*pre, slice(e - np.shape(a)[ax], e))] for a, e in zip(arrays, ends))


def _concatenate_jvp(dxs: tuple, y: Any, *arrays: Any, axis: int = 0) -> Any:
    """The pieces' tangents concatenated along ``axis`` (zeros for a piece without one):
    one concatenation for all of them."""
    dtype = dtype_of(y)
    parts = (np.zeros(np.shape(a), dtype) if t is None else t for t, a in zip(dxs, arrays))
    return concat(*parts, axis=axis)


@primitive(
    vjp=_concatenate_vjp,
    jvp=_concatenate_jvp,
    domain=Domain(args=("real", "real"), shapes="same"),
)
def concat(*arrays: Any, axis: int = 0) -> Any:
    """``np.concatenate(arrays, axis)`` with the arrays as separate arguments."""
    return np.concatenate(arrays, axis=axis)


@implements(np.concatenate)
def _concatenate(
    arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    """np.concatenate; ``dtype=`` casts the result (the gradient is cast back)."""
    no_out("np.concatenate", out)
    arrays = list(arrays)
    flat = axis is None  # numpy flattens each array first
    y = concat(*(np.ravel(a) for a in arrays)) if flat else concat(*arrays, axis=axis)
    return cast_to(y, dtype, arrays, casting, "np.concatenate")


@implements(np.stack)
def _stack(
    arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    """Stack by concatenating along a new axis; works for lists of 0-d tracked values."""
    no_out("np.stack", out)
    arrays = list(arrays)
    y = concat(*(np.expand_dims(a, axis) for a in arrays), axis=axis)
    return cast_to(y, dtype, arrays, casting, "np.stack")


def _stacker(name: str, ndim: int, axis: int) -> Any:
    """np.hstack, np.vstack or np.dstack: concat of the arrays made at least ``ndim``-d,
    along ``axis`` (hstack: along the first for 1-d arrays)."""
    atleast = {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[ndim]

    def stacker(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
        arrays = [atleast(a) for a in tup]
        ax = 0 if name == "hstack" and np.ndim(arrays[0]) == 1 else axis
        return cast_to(concat(*arrays, axis=ax), dtype, arrays, casting, f"np.{name}")

    stacker.__name__ = stacker.__qualname__ = f"_{name}"
    return stacker


implements(np.hstack)(_stacker("hstack", 1, 1))
implements(np.vstack)(_stacker("vstack", 2, 0))
implements(np.dstack)(_stacker("dstack", 3, 2))


@implements(np.column_stack)
def _column_stack(tup: Any) -> Any:
    cols = [np.reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup]
    return concat(*cols, axis=1)


@implements(np.append)
def _append(arr: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        return concat(np.ravel(arr), np.ravel(values))
    return concat(arr, values, axis=axis)


# ---- splitting: slices, whose gradients concatenate back ----
@implements(np.array_split)
def _array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    n = np.shape(ary)[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *list(indices_or_sections), n]
    pre = (slice(None),) * (axis % np.ndim(ary))
    return [ary[(*pre, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:])]


@implements(np.split)
def _split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    if np.ndim(indices_or_sections) == 0 and np.shape(ary)[axis] % int(indices_or_sections):
        raise ValueError("array split does not result in an equal division")
    return _array_split(ary, indices_or_sections, axis)


implements(np.hsplit)(lambda ary, ios: _split(ary, ios, axis=1 if np.ndim(ary) > 1 else 0))
implements(np.vsplit)(lambda ary, ios: _split(ary, ios, axis=0))
implements(np.dsplit)(lambda ary, ios: _split(ary, ios, axis=2))

_NUMPY2 = {  # numpy >= 2.0 (unstack: 2.1)
    "matrix_transpose": lambda x, /: np.swapaxes(x, -1, -2),
    "unstack": lambda x, /, *, axis=0: tuple(np.moveaxis(x, axis, 0)),
}
for _name, _f in _NUMPY2.items():
    if hasattr(np, _name):
        implements(getattr(np, _name))(_f)


# ---- finite differences and choosing by condition: slices, where and scatters ----
def _spacing(h: Any, f: Any) -> Any:
    """One axis's spacing as np.gradient reads it: a scalar, or the differences of
    coordinates (one number when they are equally spaced), in f's precision; tracked
    spacings stay tracked (their differences are recorded)."""
    real = np.finfo(dtype_of(f)).dtype
    if isinstance(h, Tracked):
        return np.diff(h) if np.ndim(h) else h
    h = np.asarray(h)
    if h.ndim == 0:
        return float(h)
    d = np.diff(h.astype(np.float64) if h.dtype.kind in "iub" else h)
    return float(d[0]) if np.all(d == d[0]) else np.asarray(d, dtype=real, like=value(f))


@implements(np.gradient)
def _gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """numpy's second-order central differences (one-sided at the edges, to first or second
    order), spacing by spacing, built from slices and concatenated along each axis."""
    if dtype_of(f).kind not in "fc":
        f = f.astype(np.float64)
    nd = np.ndim(f)
    axes = tuple(range(nd)) if axis is None else tuple(np.atleast_1d(axis) % nd)
    if not varargs:
        hs: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        hs = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        hs = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    outs = [_gradient_along(f, int(ax), _spacing(h, f), edge_order) for ax, h in zip(axes, hs)]
    return outs[0] if len(outs) == 1 else tuple(outs)


def _gradient_along(f: Any, ax: int, h: Any, edge_order: int) -> Any:
    """np.gradient along one axis with spacing ``h`` (a number or the coordinates' steps)."""
    if np.shape(f)[ax] < edge_order + 1:
        raise ValueError(
            "Shape of array too small to calculate a numerical gradient, at least "
            "(edge_order + 1) elements are required."
        )
    pre = (slice(None),) * ax

    def at(lo: int | None, hi: int | None) -> Any:
        return f[(*pre, slice(lo, hi))]

    def along(c: Any) -> Any:  # step coefficients broadcast along the axis
        return c if np.ndim(c) == 0 else np.reshape(c, (-1,) + (1,) * (np.ndim(f) - ax - 1))

    if np.ndim(h) == 0:
        inner = (at(2, None) - at(None, -2)) / (2.0 * h)
        h0 = h1 = hn1 = hn = h
    else:
        d1, d2 = h[:-1], h[1:]
        a, b, c = -d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2))
        inner = along(a) * at(None, -2) + along(b) * at(1, -1) + along(c) * at(2, None)
        h0, h1, hn1, hn = h[0], h[1], h[-2], h[-1]
    if edge_order == 1:
        first = (at(1, 2) - at(0, 1)) / h0
        last = (at(-1, None) - at(-2, -1)) / hn
    else:
        first = (
            -(2.0 * h0 + h1) / (h0 * (h0 + h1)) * at(0, 1)
            + (h0 + h1) / (h0 * h1) * at(1, 2)
            - h0 / (h1 * (h0 + h1)) * at(2, 3)
        )
        last = (
            hn / (hn1 * (hn1 + hn)) * at(-3, -2)
            - (hn + hn1) / (hn1 * hn) * at(-2, -1)
            + (2.0 * hn + hn1) / (hn * (hn1 + hn)) * at(-1, None)
        )
    return concat(first, inner, last, axis=ax)


@implements(np.select)
def _select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """The first choice whose condition holds, else ``default``: np.where from the last
    condition to the first (conditions are constants)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = np.where(value(cond), choice, out)
    return out


@implements(np.real_if_close)
def _real_if_close(a: Any, tol: float = 100) -> Any:
    """The real part when every imaginary part is within ``tol`` (machine epsilons when
    ``tol > 1``) of zero, else ``a``: the choice is numpy's, made on the value."""
    if dtype_of(a).kind != "c":
        return a
    plain = value(a)
    if tol > 1:
        tol = np.finfo(plain.dtype).eps * tol
    return np.real(a) if np.all(np.abs(np.imag(plain)) < tol) else a


def _mask(cond: Any) -> Any:
    """A condition as a plain boolean array (an array stays on its device)."""
    c = value(cond)
    return c.astype(bool) if hasattr(c, "astype") else np.asarray(c, dtype=bool)


@implements(np.piecewise)
def _piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    """numpy's piecewise: each function runs on the elements its condition picks (and a
    later condition wins), its values scattered back with `untake` and chosen by np.where;
    the result has x's dtype. Conditions are constants; a function may close over Params."""
    shape = np.shape(x)
    if np.isscalar(condlist) or (
        not isinstance(condlist[0], (list, np.ndarray)) and np.ndim(x) != 0
    ):
        condlist = [condlist]
    conds = [np.broadcast_to(_mask(c), shape) for c in condlist]
    if len(conds) == len(funclist) - 1:
        conds.append(~np.any(np.stack(conds), axis=0) if conds else np.ones(shape, bool))
    elif len(conds) != len(funclist):
        raise ValueError(
            f"with {len(conds)} condition(s), either {len(conds)} or {len(conds) + 1} "
            "functions are expected"
        )
    if shape == ():  # (np.nonzero refuses 0-d arrays)
        y = _piecewise(
            np.reshape(x, (1,)), [np.reshape(c, (1,)) for c in conds], funclist, *args, **kw
        )
        return np.reshape(y, ())
    out: Any = np.zeros_like(value(x), dtype=dtype_of(x))
    for cond, func in zip(conds, funclist):
        if not callable(func):
            out = np.where(cond, func, out)
        elif np.any(cond):
            index = np.nonzero(cond)
            picked = func(x[index], *args, **kw)
            picked = (
                np.broadcast_to(picked, (int(np.sum(cond)),)) if np.ndim(picked) == 0 else picked
            )
            out = np.where(cond, untake(picked, out, index), out)
    return out if dtype_of(out) == dtype_of(x) else out.astype(dtype_of(x))
