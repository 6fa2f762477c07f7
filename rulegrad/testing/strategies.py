"""Hypothesis strategies for gradient checks: shapes, arrays, and inputs drawn from a `Domain`.

A method's `Domain` names a *kind* per positional argument (`KINDS`) and how the array
arguments' shapes relate (`SHAPES`); `draw_case` turns it into concrete arguments,
keyword arguments and a dtype, labelling every draw so a shrunk failure reads well.

Float values come from a grid per kind (`Grid`): the elements of one array are distinct
and spaced, the arguments are offset from each other (no accidental ties in ``maximum``,
no nearly equal elements for ``std`` to cancel in float32). Each array's grid is scaled by
a magnitude drawn from ``Grid.scales`` (several decades, inside the kind's domain). Ranks
go up to 4, and broadcasting arguments are drawn for ``shapes="broadcast"``. A domain's
``avoid`` points (kinks) are never drawn, but their neighbourhoods are, on either side
(`NEAR`); a domain with ``ties=True`` (a selection rule) gets deliberate two-way ties
(`tie`).

Examples:
    >>> import rulegrad as rg
    >>> from hypothesis import find
    >>> case = find(inputs(rg.Domain(args=("positive", "int"))), lambda c: True)
    >>> [type(a).__name__ for a in case.args], case.kinds
    (['ndarray', 'ndarray'], ('positive', 'int'))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..core import Domain
from .vspace import vspace_of

__all__ = [
    "KINDS", "SHAPES", "FLOAT_DTYPES", "OFFSETS", "AVOID_MARGIN", "NEAR", "Kind", "Grid",
    "Case", "choose", "shapes", "arrays", "kwarg_values", "tie", "draw_case", "inputs",
]  # fmt: skip

#: The dtypes float arguments are drawn in; float64 first, so failures shrink to it.
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
#: Grid offset of argument i's values (`Grid`): distinct, so arguments never tie.
OFFSETS = tuple((0.5 + 0.382 * i) % 1.0 for i in range(16))
#: Drawn values stay at least this far from a declared ``avoid`` point: a hundred times
#: the finite-difference steps (`gradcheck.STEPS`), so no step straddles the kink.
AVOID_MARGIN = 1e-3
#: Distances from an ``avoid`` point of the values drawn near it: from `AVOID_MARGIN`
#: up to about 0.17, by factors of 1.25, on either side (48 values: enough for the
#: distinct elements of the largest array drawn).
NEAR = tuple(AVOID_MARGIN * 1.25**k for k in range(24))
#: Largest rank and side of the drawn arrays; 4-d arrays have sides of at most
#: `SIDE_4D`, so an array has at most 27 elements and the checks stay fast.
MAX_DIMS, MAX_SIDE, SIDE_4D = 4, 3, 2

Shape = tuple[int, ...]
Draw = Callable[[st.SearchStrategy, str], Any]


@dataclass(frozen=True)
class Grid:
    """Float values ``scale * value(k + offset)`` for integers ``k`` in ``[lo, hi]``,
    distinct per array.

    Drawing integers and spacing the values keeps the elements of an array apart (no
    ties, no cancellation between nearly equal elements), and ``offset``, which differs
    per argument (`OFFSETS`), keeps the values of different arguments apart. ``k``
    shrinks to 0, so ``value(offset)`` is the simplest value. ``scale`` is drawn per
    array from ``scales`` (the first is the simplest): magnitudes over several decades,
    each keeping the values inside the kind's domain.
    """

    lo: int
    hi: int
    value: Callable[[Any], Any]
    scales: tuple[float, ...] = (1.0,)


@dataclass(frozen=True)
class Kind:
    """What one argument kind in ``Domain(args=...)`` stands for.

    Attributes:
        strategy: ``(shape, dtype) -> SearchStrategy``. For array kinds ``shape`` is the
            argument's own shape (from `SHAPES`); for the others it is argument 0's shape.
        grid: for elementwise float kinds, the `Grid` of values instead of a strategy
            (``avoid`` points are then left out).
        differentiable: whether the argument's gradient is checked (its rule must be
            None otherwise).
        array: whether the argument takes part in the shape relation of ``Domain.shapes``.
        min_dims: for non-array kinds, the rank argument 0 needs (1 for an axis).
        complex: whether values are complex (complex64 when float32 is drawn).
        doc: one line for the docs.
    """

    strategy: Callable[[Shape, np.dtype], st.SearchStrategy] | None = None
    grid: Grid | None = None
    differentiable: bool = True
    array: bool = True
    min_dims: int = 0
    complex: bool = False
    doc: str = ""


def _square(make: Callable[[np.ndarray], np.ndarray]) -> Callable[..., st.SearchStrategy]:
    """Matrices (stacks of them) built from a drawn real matrix ``m``."""

    def strategy(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
        if len(shape) < 2 or shape[-1] != shape[-2]:
            return st.nothing()  # declare shapes="square" with this kind
        return hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)).map(make)

    return strategy


def _spd(m: np.ndarray) -> np.ndarray:
    """``m m^T / n + I / 2``: symmetric with eigenvalues at least 1/2."""
    n = m.shape[-1]
    return m @ np.swapaxes(m, -1, -2) / n + 0.5 * np.eye(n)


def _invertible(m: np.ndarray) -> np.ndarray:
    """``3/2 I + m / (2n)``: eigenvalues in the disc of radius 1/2 around 3/2."""
    n = m.shape[-1]
    return 1.5 * np.eye(n) + m / (2 * n)


def _complex(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    """``x + iy`` with ``x`` and ``y`` on the "real" grid, at different offsets."""

    @st.composite  # not .map: Hypothesis would print the mapping's source, not the values
    def values(draw: Any) -> np.ndarray:
        return draw(arrays("real", shape, argnum=0)) + 1j * draw(arrays("real", shape, argnum=1))

    return values()


# ---- non-differentiable kinds ----
def _ints(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    return hnp.arrays(np.int64, shape, elements=st.integers(-3, 3))


def _bools(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    return hnp.arrays(np.bool_, shape, elements=st.booleans())


def choose(options: Sequence[Any]) -> st.SearchStrategy[Any]:
    """One of ``options``; failures shrink to the first.

    ``st.sampled_from``, whose small choice spaces Hypothesis enumerates without repeats:
    drawing the structure of an input (ranks, sides, axes, flags) from such choices covers
    the combinations far better, over the few examples of a generated check, than
    Hypothesis's shape strategies, which favour 0-d arrays and sides of 1.

    Examples:
        >>> from hypothesis import find
        >>> find(choose([None, 0, 1]), lambda v: v is not None)
        0
    """
    options = list(options)
    return st.sampled_from(options) if options else st.nothing()


def _fit(axis: int, ndim: int) -> int:
    """An axis drawn for rank 3 moved into range for ``ndim`` (keeping its sign)."""
    return axis % ndim if axis >= 0 else -((-axis - 1) % ndim) - 1


def _fitted(options: Sequence[Any], shape: Shape) -> st.SearchStrategy[Any]:
    """Axes (None, ints, tuples of ints) from a fixed list, fitted to ``shape``'s rank.

    The list is the same for every shape, so Hypothesis spreads its choices evenly over
    it; a list depending on the rank would leave most examples at its first option.
    """
    ndim = len(shape)

    @st.composite  # returns the fitted value, which is what Hypothesis then prints
    def fitted(draw: Any) -> Any:
        a = draw(choose(options))
        if a is None or ndim == 0:
            return None if a is None or isinstance(a, int) else ()
        if isinstance(a, int):
            return _fit(a, ndim)
        return tuple(dict.fromkeys(_fit(i, ndim) % ndim for i in a))

    return fitted()


#: The axes drawn for rank-3 arrays, fitted to the actual rank (`_fitted`).
AXIS = (0, 1, 2, -1, -2, -3)
AXES = ((), (0,), (-1,), (0, 1), (1, 2), (0, -1), (0, 1, 2))


def _axis(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    return _fitted(AXIS, shape) if shape else st.nothing()


def _axes(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    return _fitted(AXES, shape)


def _perm(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    return st.permutations(range(len(shape))).map(tuple)


def _reshape(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    """A shape with as many elements as ``shape``: its prime factors dealt out to new axes."""
    size, factors, p = math.prod(shape), [], 2
    rest = size
    while rest > 1:
        while rest % p == 0:
            factors.append(p)
            rest //= p
        p += 1

    @st.composite
    def reshaped(draw: Any) -> Shape:
        ndim = draw(st.integers(1 if factors else 0, MAX_DIMS))
        dims = [1] * ndim
        for f in factors:
            dims[draw(st.integers(0, ndim - 1))] *= f
        if ndim and draw(st.booleans()):
            dims[draw(st.integers(0, ndim - 1))] = -1  # let numpy infer one axis
        return tuple(dims)

    return reshaped()


def _broadcast_target(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    return hnp.broadcastable_shapes(shape, max_dims=MAX_DIMS, max_side=MAX_SIDE).map(
        lambda s: np.broadcast_shapes(shape, s)
    )


def _index(shape: Shape, dtype: np.dtype) -> st.SearchStrategy:
    basic = hnp.basic_indices(shape, allow_ellipsis=True)
    if not shape or 0 in shape:
        return basic
    return st.one_of(basic, hnp.integer_array_indices(shape))


#: The magnitudes the float kinds are scaled by (`Grid.scales`): a rule wrong only for
#: large or tiny values is caught. Up to |x| = 20 (exp stays finite in float32, and
#: float32 rules that cancel, such as log_ndtr's, keep their second order in tolerance).
MAGNITUDES = (1.0, 10.0, 0.01)
#: The magnitudes of kinds whose lower bound keeps away from a pole at 0 (``positive``,
#: ``nonzero``): only up, or the draws would leave the domain the kind declares.
LARGER = (1.0, 10.0)

#: Every kind a `Domain` may name, by name. Add your own: ``KINDS["mykind"] = Kind(...)``.
KINDS: dict[str, Kind] = {
    "real": Kind(grid=Grid(-40, 40, lambda t: 0.05 * t, MAGNITUDES),
                 doc="a float in [-2, 2], times 1, 10 or 0.01"),
    "positive": Kind(grid=Grid(-16, 40, lambda t: 1.0 + 0.05 * t, LARGER),
                     doc="a float in [0.2, 3], times 1 or 10 (log, sqrt, ...)"),
    "nonzero": Kind(grid=Grid(-35, 34, lambda t: np.sign(t) * (0.25 + 0.05 * np.abs(t)), LARGER),
                    doc="a float with 0.25 <= |x| <= 2, times 1 or 10"),
    "unit": Kind(grid=Grid(-16, 15, lambda t: 0.5 + 0.025 * t),
                 doc="a float in [0.1, 0.9]: inside the open interval (0, 1)"),
    "complex": Kind(_complex, complex=True, doc="a complex number, both parts in [-2, 2]"),
    "spd": Kind(_square(_spd), doc="symmetric positive definite matrices (shapes='square')"),
    "invertible": Kind(_square(_invertible), doc="well-conditioned matrices (shapes='square')"),
    "int": Kind(_ints, differentiable=False, doc="an integer array in [-3, 3] (no gradient)"),
    "bool": Kind(_bools, differentiable=False, doc="a boolean array (no gradient)"),
    "axis": Kind(_axis, differentiable=False, array=False, min_dims=1,
                 doc="a valid axis of argument 0 (an int, negative allowed)"),
    "axes": Kind(_axes, differentiable=False, array=False,
                 doc="a tuple of distinct axes of argument 0"),
    "perm": Kind(_perm, differentiable=False, array=False,
                 doc="a permutation of argument 0's axes (transpose)"),
    "shape": Kind(_reshape, differentiable=False, array=False,
                  doc="a shape with argument 0's size, maybe with a -1 (reshape)"),
    "broadcast_shape": Kind(_broadcast_target, differentiable=False, array=False,
                            doc="a shape argument 0 broadcasts to (broadcast_to)"),
    "index": Kind(_index, differentiable=False, array=False,
                  doc="an index into argument 0: ints, slices, ..., integer arrays"),
}  # fmt: skip


# ---- shapes: how the array arguments' shapes relate ----
# Ranks and sides are drawn with `choose` (see there); they shrink to 0-d, sides of 1.
def _shape(draw: Any, min_dims: int) -> Shape:
    ndim = draw(choose(range(min_dims, MAX_DIMS + 1)))
    side = SIDE_4D if ndim >= 4 else MAX_SIDE
    return tuple(draw(choose(range(1, side + 1))) for _ in range(ndim))


def _broadcast(n: int, min_dims: int) -> st.SearchStrategy:
    """A broadcast shape, and per argument its trailing axes with some stretched from 1."""

    @st.composite
    def broadcastable(draw: Any) -> tuple[Shape, ...]:
        full = _shape(draw, min_dims)
        if n == 1:
            return (full,)
        out = []
        for _ in range(n):  # each keeps the trailing axes, some stretched from 1
            drop = draw(choose([0, 0, *range(1, len(full) - min_dims + 1)]))
            sides = [1 if draw(choose([False, False, True])) else k for k in full[drop:]]
            out.append(tuple(sides))
        return tuple(out)

    return broadcastable()


def _same(n: int, min_dims: int) -> st.SearchStrategy:
    @st.composite
    def same(draw: Any) -> tuple[Shape, ...]:
        return (_shape(draw, min_dims),) * n

    return same()


def _matmul(n: int, min_dims: int) -> st.SearchStrategy:
    if n != 2:
        raise ValueError(f'shapes="matmul" needs 2 array arguments, got {n}')
    return hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=2, max_side=MAX_SIDE
    ).map(lambda r: r.input_shapes)


def _square_shapes(n: int, min_dims: int) -> st.SearchStrategy:
    @st.composite
    def square(draw: Any) -> tuple[Shape, ...]:
        batch = draw(choose([(), (2,), (1,)]))
        side = draw(choose(range(1, MAX_SIDE + 1)))
        return (batch + (side, side),) * n

    return square()


def _scalar(n: int, min_dims: int) -> st.SearchStrategy:
    return st.just(((),) * n) if min_dims == 0 else st.nothing()


#: ``Domain.shapes`` name -> ``(number of array arguments, min_dims) -> strategy of shapes``.
SHAPES: dict[str, Callable[[int, int], st.SearchStrategy]] = {
    "broadcast": _broadcast,  # mutually broadcastable, 0-d and size-1 axes included
    "same": _same,  # one shape for all, at least 0-d
    "matmul": _matmul,  # matmul-compatible pairs: 1-d operands and batches included
    "square": _square_shapes,  # (batch..., n, n), the same for all
    "scalar": _scalar,  # 0-d arrays
}


def shapes(mode: str, n: int, min_dims: int = 0) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Shapes for ``n`` array arguments related as ``mode`` says (a `SHAPES` name).

    Examples:
        >>> from hypothesis import find
        >>> find(shapes("matmul", 2), lambda s: len(s[0]) == 1 and len(s[1]) == 3)
        ((1,), (1, 1, 1))
    """
    if mode not in SHAPES:
        raise ValueError(f"unknown Domain.shapes {mode!r}; known: {', '.join(SHAPES)}")
    return SHAPES[mode](n, min_dims)


def arrays(
    kind: str,
    shape: Shape,
    dtype: Any = np.float64,
    *,
    avoid: Sequence[float] = (),
    argnum: int = 0,
) -> st.SearchStrategy[Any]:
    """Arrays of one kind (a `KINDS` name) and shape; float kinds in ``dtype``.

    Examples:
        >>> from hypothesis import find
        >>> x = find(arrays("positive", (2, 3), np.float32), lambda x: True)
        >>> x.shape, x.dtype, bool(np.all(x > 0)), len(np.unique(x))
        ((2, 3), dtype('float32'), True, 6)
    """
    spec = KINDS[kind]
    dtype = np.result_type(dtype, np.complex64) if spec.complex else np.dtype(dtype)
    if spec.grid is None:
        base = spec.strategy(shape, dtype)
        return base.map(partial(np.array, dtype=dtype)) if spec.differentiable else base
    grid, offset, avoid = spec.grid, OFFSETS[argnum % len(OFFSETS)], tuple(avoid)
    scaled = {s: partial(_scaled, value=grid.value, scale=s) for s in grid.scales}
    ints = {}
    for s, value in scaled.items():
        ks = st.integers(grid.lo, grid.hi)
        if avoid:
            ks = ks.filter(partial(_far, value=value, offset=offset, avoid=avoid))
        ints[s] = hnp.arrays(np.int64, shape, elements=ks, unique=True)
    if avoid:  # each element at a distance NEAR[k // 2] from one of the points, either side
        codes = st.integers(0, 2 * len(NEAR) * len(avoid) - 1)
        near = partial(_near, avoid=avoid, offset=offset)
        near_ints = hnp.arrays(np.int64, shape, elements=codes.filter(near), unique=True)

    @st.composite  # not .map: Hypothesis would print the mapping's source, not the values
    def values(draw: Any) -> np.ndarray:
        if avoid and draw(choose([False, True])):
            return np.array(_near_value(draw(near_ints), avoid, offset), dtype=dtype)
        scale = draw(choose(grid.scales))
        return np.array(scaled[scale](draw(ints[scale]) + offset), dtype=dtype)

    return values()


def _scaled(t: Any, value: Callable[[Any], Any], scale: float) -> Any:
    return scale * value(t)


def _far(k: int, value: Callable[[Any], Any], offset: float, avoid: tuple[float, ...]) -> bool:
    return all(abs(float(value(k + offset)) - p) >= AVOID_MARGIN for p in avoid)


def _near_value(code: Any, avoid: tuple[float, ...], offset: float) -> Any:
    """The values `arrays` draws near ``avoid`` for integer codes: ``code % 2`` picks the
    side, ``code // 2`` the distance (`NEAR`, stretched by up to 10% per argument) and the
    point. Distinct codes give distinct values."""
    code = np.asarray(code)
    side = np.where(code % 2 == 1, 1.0, -1.0)
    k, point = (code // 2) % len(NEAR), code // (2 * len(NEAR))
    return np.asarray(avoid)[point] + side * np.asarray(NEAR)[k] * (1 + 0.1 * offset)


def _near(code: int, avoid: tuple[float, ...], offset: float) -> bool:
    """Whether the value of ``code`` (`_near_value`) is `AVOID_MARGIN` from every point."""
    x = float(_near_value(code, avoid, offset))
    return all(abs(x - p) >= AVOID_MARGIN for p in avoid)


def kwarg_values(values: Sequence[Any], shape0: Shape) -> st.SearchStrategy[Any]:
    """One keyword argument's values: literals sampled, non-array kind names drawn.

    ``"axis"`` draws None or a valid axis of argument 0; ``"axes"`` None or a tuple of
    its axes; another non-array kind name (``"perm"``, ``"shape"``, ...) draws that kind.

    Examples:
        >>> from hypothesis import find
        >>> find(kwarg_values(("axis",), (2, 3)), lambda a: a is not None and a < 0)
        -1
    """
    choices: list[Any] = []  # finite options, chosen about equally often
    others = []
    for v in values:
        spec = KINDS.get(v) if isinstance(v, str) else None
        if v == "axis":  # None last: Hypothesis favours the first option a little
            others.append(_fitted((*AXIS, None), shape0))
        elif v == "axes":
            others.append(_fitted((*AXIS, *AXES[3:], None), shape0))
        elif spec is not None and not spec.array:
            others.append(spec.strategy(shape0, np.dtype(np.float64)))
        else:
            choices.append(v)
    if not others:
        return choose(choices)
    return st.one_of(choose(choices), *others) if choices else st.one_of(*others)


@dataclass(frozen=True)
class Case:
    """One drawn input for a method's check.

    Attributes:
        args: the positional arguments.
        kwargs: the keyword arguments.
        kinds: a `KINDS` name per positional argument (None: a fixed, non-differentiable
            value from ``Domain.sample``; another name, such as ``"sparse"``, for a value
            of a declared vector space, whose gradient is checked).
        dtype: the float dtype drawn for the float arguments.
        seed: a seed for the check's random directions and output weights.
        tied: whether deliberate ties were drawn (`tie`): the function has a kink there,
            which a selection rule must handle as central differences do.
    """

    args: tuple
    kwargs: Mapping[str, Any]
    kinds: tuple[str | None, ...]
    dtype: np.dtype
    seed: int
    tied: bool = False


def _cast(x: Any, dtype: np.dtype) -> Any:
    """Float (complex) arrays in ``dtype`` (its complex twin), and values of a vector space
    (`rulegrad.testing.vspace`) with such entries; other values unchanged."""
    space = vspace_of(x)
    if space is not None:
        entries = space.vector(x)
        if entries.dtype.kind not in "fc":
            return x
        complex_ = entries.dtype.kind == "c"
        return space.build(
            x, entries.astype(np.result_type(dtype, np.complex64) if complex_ else dtype)
        )
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind == "f":
        return x.astype(dtype)
    if kind == "c":
        return x.astype(np.result_type(dtype, np.complex64))
    return x


def _sampled_kind(x: Any) -> str | None:
    space = vspace_of(x)
    if space is not None:
        return space.name or "vspace"
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    return "real" if kind in ("f", "c") or isinstance(x, float) else None


def _axes_of(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple of them) as a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted({a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}))


def tie(args: Sequence[Any], floats: Sequence[int], axis: Any = None, top: bool = True) -> list:
    """``args`` with deliberate two-way ties, for a selection rule's check (``Domain.ties``).

    With two float arrays (``floats`` names their positions), the second takes the first's
    values wherever they meet under broadcasting (at the first such position): maximum's
    two arguments tie. With one, each slice along ``axis`` (all axes for None) gets its
    two largest elements equal (``top``; else its two smallest), and for slices of 4 or
    more both: max and min meet a tie. A two-way tie is where central differences agree
    with the rule of splitting the gradient equally; more would not.

    Examples:
        >>> tie([np.array([1.0, 2.0]), np.array([[3.0], [0.5]])], [0, 1])[1]
        array([[1.],
               [1.]])
        >>> tie([np.array([[1.0, 4.0, 2.0, 3.0]])], [0], axis=1)[0]
        array([[1., 4., 1., 4.]])
    """
    args = list(args)
    a = np.asarray(args[floats[0]])
    if len(floats) > 1:
        b = np.asarray(args[floats[1]])
        full = np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))
        met = full[(0,) * (full.ndim - b.ndim)]  # trailing axes, as b's
        met = met[tuple(slice(0, 1) if n == 1 else slice(None) for n in b.shape)]
        args[floats[1]] = np.array(met, dtype=b.dtype)
        return args
    axes = _axes_of(axis, a.ndim)
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    rows = moved.reshape(-1, math.prod(a.shape[i] for i in axes)).copy()
    if rows.shape[1] >= 2:
        order = np.argsort(rows, axis=1)
        r = np.arange(rows.shape[0])
        if top or rows.shape[1] >= 4:
            rows[r, order[:, -2]] = rows[r, order[:, -1]]
        if not top or rows.shape[1] >= 4:
            rows[r, order[:, 1]] = rows[r, order[:, 0]]
    back = np.argsort(rest + list(axes))
    args[floats[0]] = np.transpose(rows.reshape(moved.shape), back).astype(a.dtype)
    return args


def draw_case(draw: Draw, domain: Domain) -> Case:
    """Draw one input for a method whose inputs ``domain`` describes.

    Args:
        draw: ``draw(strategy, label)``: ``data.draw`` of ``st.data()``, say.
        domain: the method's declared `Domain`.

    Returns:
        The drawn `Case`.

    Raises:
        ValueError: when the domain names an unknown kind or shape relation.
    """
    dtype = np.dtype(draw(choose(FLOAT_DTYPES), "dtype"))
    seed = draw(st.integers(0, 2**32 - 1), "seed")
    if domain.sample is not None:
        sample_seed = draw(st.integers(0, 2**32 - 1), "sample seed")
        args, kwargs = domain.sample(np.random.default_rng(sample_seed))
        args = tuple(_cast(a, dtype) for a in args)
        kinds = domain.args if len(domain.args) == len(args) else tuple(map(_sampled_kind, args))
        return Case(args, dict(kwargs), tuple(kinds), dtype, seed)
    kinds = tuple(domain.args)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown Domain kind(s) {unknown}; known: {', '.join(KINDS)}")
    arrays_at = [i for i, k in enumerate(kinds) if KINDS[k].array]
    min_dims = max([KINDS[k].min_dims for k in kinds if not KINDS[k].array], default=0)
    drawn = draw(shapes(domain.shapes, len(arrays_at), min_dims), "shapes")
    args: list[Any] = [None] * len(kinds)
    for i, shape in zip(arrays_at, drawn):
        strategy = arrays(kinds[i], shape, dtype, avoid=domain.avoid, argnum=i)
        args[i] = draw(strategy, f"x{i} ({kinds[i]})")
    shape0 = np.shape(args[arrays_at[0]]) if arrays_at else ()
    for i, k in enumerate(kinds):
        if not KINDS[k].array:
            args[i] = draw(KINDS[k].strategy(shape0, dtype), f"x{i} ({k})")
    kwargs = {
        name: draw(kwarg_values(values, shape0), f"{name}=")
        for name, values in domain.kwargs.items()
    }
    floats = [i for i in arrays_at if KINDS[kinds[i]].grid is not None][:2]
    tied = bool(domain.ties and floats) and draw(choose([False, True]), "ties")
    if tied:
        top = len(floats) > 1 or draw(choose([True, False]), "tie the largest")
        args = tie(args, floats, kwargs.get("axis"), top)
    return Case(tuple(args), kwargs, kinds, dtype, seed, tied)


def inputs(domain: Domain) -> st.SearchStrategy[Case]:
    """A strategy of `Case` for a `Domain` (unlabelled draws; see `draw_case`)."""

    @st.composite
    def case(draw: Any) -> Case:
        return draw_case(lambda strategy, label: draw(strategy), domain)

    return case()
