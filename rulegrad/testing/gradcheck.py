"""Numeric gradient checks: reverse mode against central differences along random directions.

For a function ``f`` and a random output weighting ``u``, the scalar ``S(x) = sum(u * f(x))``
is differentiated by rulegrad and, along random directions ``v``, by central differences
in float64: ``<grad S(x), v>`` must match ``(S(x + eps v) - S(x - eps v)) / (2 eps)``.
Second order applies the same check to ``x -> <grad S(x), w>``, which needs the backward
pass itself to be differentiable. (autograd's ``check_grads`` and JAX's ``check_grads``
do the same; comparing along directions keeps the cost at a few evaluations.)

The analytic side may be computed in float32 while the differences always use float64;
`TOLERANCES` says how close the two must be for each dtype and order. A mismatch at a
point where ``f`` is not smooth (a kink straddled by the step, a tie in ``maximum``) is
told apart from a wrong rule by the second difference, which is ``2 |analytic - numeric|``
at a kink and ``O(eps)`` for a smooth function: it raises `NotSmoothError`.

Arguments and outputs of types that are not numpy arrays (scipy.sparse matrices, say)
are checked through their declared vector space (`rulegrad.testing.vspace`): directions
and differences act on their flattened entries, and their gradients must be values of
the same space with the same structure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Param, diff, grad, jvp, params, value
from ..core.box import Tracked, describe
from ..core.errors import GradCheckError
from .vspace import VSpace, vspace_of

__all__ = ["checkgrad", "numeric_check", "tolerance", "TOLERANCES", "NotSmoothError"]

#: Relative tolerance by dtype of the analytic gradient and order of the check. The finite
#: differences are float64 throughout; float32 rules carry their own rounding.
TOLERANCES: dict[str, dict[int, float]] = {
    "float64": {1: 1e-5, 2: 1e-4},
    "float32": {1: 2e-3, 2: 1e-2},
    "float16": {1: 3e-2, 2: 1e-1},
}

#: Finite-difference steps by order (the second order differentiates a float64 gradient).
STEPS = {1: 1e-6, 2: 1e-5}


class NotSmoothError(GradCheckError):
    """The checked function is not differentiable at the point (a kink or a jump nearby)."""


def tolerance(dtype: Any, order: int = 1) -> float:
    """The relative tolerance for gradients of this dtype at this order (`TOLERANCES`).

    Examples:
        >>> tolerance(np.float32), tolerance("float64", order=2)
        (0.002, 0.0001)
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "c":  # as precise as its real and imaginary parts
        dtype = np.finfo(dtype).dtype
    table = TOLERANCES.get(dtype.name, TOLERANCES["float64"])
    return table[min(order, max(table))]


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaves(v)]
    return [x]


def _rebuild(x: Any, it: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return type(x)(_rebuild(v, it) for v in x)
    if isinstance(x, dict):
        return {k: _rebuild(v, it) for k, v in x.items()}
    return next(it)


def _widen(x: np.ndarray) -> np.ndarray:
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _f64(x: Any) -> Any:
    """``x`` in float64 (complex128): an array, or a value of its vector space."""
    space = vspace_of(x)
    if space is not None:
        return space.build(x, _widen(space.vector(x)))
    return _widen(np.asarray(value(x)))


def _numpy(x: Any) -> np.ndarray:
    """A plain value as a numpy array (cupy arrays come to the host)."""
    x = value(x)
    if hasattr(x, "get") and not isinstance(x, (np.ndarray, np.generic)):
        x = x.get()
    return np.asarray(x)


def _host(x: Any) -> np.ndarray:
    """A float64/complex128 numpy copy of a plain value."""
    x = _numpy(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _is_zero(g: Any) -> bool:
    """Whether ``g`` is the 0-d zero the core returns for an unused argument it cannot make
    zeros like (``np.zeros_like`` of a sparse matrix, say)."""
    return isinstance(g, np.ndarray) and g.shape == () and not np.any(g)


def _coords(space: VSpace, g: Any, x: Any) -> np.ndarray:
    """The entries of gradient ``g`` of argument ``x`` in ``x``'s vector space.

    Raises:
        GradCheckError: when ``g`` is not a value of the space with ``x``'s structure.
    """
    if _is_zero(g):
        return np.zeros(space.size(x))
    if not space.same(g, x):
        raise GradCheckError(
            f"the gradient of an argument {describe(value(x))} ({space.label()}) is "
            f"{describe(value(g))}: it must be a value of the same vector space with the same "
            f"structure (for a sparse matrix: its sparsity pattern), holding the derivative "
            f"of each entry"
        )
    return _widen(space.vector(g))


def _inner(v: Any, g: Any, x: Any = None) -> float:
    """The derivative along ``v`` given gradient ``g`` of argument ``x``: ``Re(sum(v * g))``.

    rulegrad's complex gradients follow autograd: ``g = dL/dx - i dL/dy`` for ``z = x + iy``,
    so ``Re(v * g) = v_x dL/dx + v_y dL/dy``; for real arrays this is ``sum(v * g)``. For an
    argument of a vector space ``v`` is a vector of its entries, and so is ``g``'s part.
    """
    space = vspace_of(x) if x is not None else None
    if space is not None:
        return float(np.real(np.sum(v * _coords(space, g, x))))
    return float(np.real(np.sum(_host(v) * _host(g))))


def _direction(rng: np.random.Generator, x: Any) -> np.ndarray:
    """A random standard normal direction shaped like ``x`` (complex for complex ``x``);
    for a value of a vector space, a vector of its entries."""
    space = vspace_of(x)
    shape = (space.size(x),) if space is not None else np.shape(x)
    v = rng.standard_normal(shape)
    if np.iscomplexobj(space.vector(x) if space is not None else value(x)):
        v = v + 1j * rng.standard_normal(shape)
    return v


def _weights(rng: np.random.Generator, y: Any) -> Any:
    """Random weights for output ``y``: `_direction`, as a value like ``y`` for a vector space."""
    v = _direction(rng, y)
    space = vspace_of(y)
    return space.build(y, v) if space is not None else v


def _weigh(y: Any, u: Any) -> Any:
    """``Re(sum(y * u))`` for output ``y`` and weights ``u`` like it; recorded when ``y`` is
    tracked (a vector space's type then needs rules of np.multiply and np.sum)."""
    space = vspace_of(y)
    if space is None:
        return np.real(np.sum(y * u))
    if isinstance(y, Tracked):
        return np.real(np.sum(np.multiply(y, u)))
    if not space.same(y, u):
        raise GradCheckError(
            f"an output {describe(value(y))} changed its structure ({space.label()}) as its "
            f"inputs moved by a finite-difference step, so it cannot be compared along them"
        )
    return float(np.real(np.sum(space.vector(y) * space.vector(u))))


def _like(x: Any, v: np.ndarray) -> Any:
    """Direction ``v`` as the same kind of array as ``x`` (numpy, or cupy through its API)."""
    if isinstance(x, (np.ndarray, np.generic, int, float, complex)):
        return v
    namespace = getattr(x, "__array_namespace__", None)
    return namespace().asarray(v) if namespace is not None else v


def _step(x: Any, d: Any) -> Any:
    """``x + d`` of the same type as ``x``: numpy turns 0-d array sums into scalars, which
    may dispatch to another method. For a value of a vector space ``d`` is a vector."""
    space = vspace_of(x)
    if space is not None:
        return space.build(x, space.vector(x) + d)
    y = x + _like(x, d)
    return np.asarray(y) if isinstance(x, np.ndarray) and not isinstance(y, np.ndarray) else y


def _show(x: Any, limit: int = 12) -> str:
    """A short rendering of a value for reports: the values themselves when small."""
    x = value(x)
    space = vspace_of(x)
    if space is not None:
        entries = space.vector(x)
        if entries.size > limit:
            return f"{describe(x)} with {entries.size} entries ({space.label()})"
        text = np.array2string(entries, precision=6, separator=", ")
        return f"{describe(x)} with entries {text} ({space.label()})"
    if isinstance(x, type) or not (hasattr(x, "shape") and hasattr(x, "dtype")):
        return repr(x)
    if np.size(x) <= limit:
        text = np.array2string(_numpy(x), precision=6, separator=", ")
        return f"{text} ({describe(x)})"
    return describe(x)


def _size(x: Any) -> int:
    """How many entries ``x`` has (of its vector space, if it has one)."""
    space = vspace_of(x)
    return space.size(x) if space is not None else int(np.size(value(x)))


def _grad_norm_dot(vs: Sequence[Any], gs: Sequence[Any], xs: Sequence[Any]) -> float:
    """``sum |v * g|``: the size ``<v, g>`` would have without cancellation."""
    total = 0.0
    for v, g, x in zip(vs, gs, xs):
        if g is None:
            continue
        space = vspace_of(x)
        g = _coords(space, g, x) if space is not None else _host(g)
        total += float(np.sum(np.abs(_host(v) * g)))
    return total


def _numeric_gradient(S: Callable[[list], Any], xs: list, i: int, eps: float) -> Any:
    """Central differences for every element of argument ``i`` (used in failure reports);
    ``dS/dx - i dS/dy`` for complex arguments, as rulegrad's gradients; a value like the
    argument for a value of a vector space."""
    space = vspace_of(xs[i])
    x = _widen(space.vector(xs[i])) if space is not None else _host(xs[i])
    steps = (1.0, 1j) if np.iscomplexobj(x) else (1.0,)
    out = np.zeros(x.shape, dtype=x.dtype)
    for j in np.ndindex(x.shape):
        for step in steps:
            e = np.zeros(x.shape, dtype=x.dtype)
            e[j] = eps * step
            plus = S([xx if k != i else _step(xx, e) for k, xx in enumerate(xs)])
            minus = S([xx if k != i else _step(xx, -e) for k, xx in enumerate(xs)])
            d = float(np.real(_host(plus) - _host(minus))) / (2 * eps)
            out[j] += d if step == 1.0 else -1j * d
    return space.build(xs[i], out) if space is not None else out


def numeric_check(
    S: Callable[[list], Any],
    G: Callable[[list], list],
    xs: list[Any],
    *,
    rng: np.random.Generator,
    directions: int = 3,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float | None = None,
    what: str = "f",
    names: Sequence[str] | None = None,
    context: str = "",
    kinks: bool = True,
) -> float:
    """Compare ``G(xs)`` (the analytic gradient of scalar ``S``) with central differences.

    Along each random direction ``v``, ``sum_i <v_i, G(xs)_i>`` must match
    ``(S(xs + eps v) - S(xs - eps v)) / (2 eps)`` within
    ``rtol * (max(|analytic|, |numeric|) + sum |v * g| / 10) + atol``.

    Args:
        S: a scalar function of a list of float64 arrays.
        G: its claimed gradient: a list like ``xs`` (``None`` entries count as zeros), of
            any float dtype (the tolerance ``rtol`` should suit it).
        xs: the point, float64 arrays.
        rng: where the random directions come from.
        directions: how many random directions to try.
        eps: the finite-difference step.
        rtol: the relative tolerance.
        atol: the absolute tolerance (default ``rtol / 1000 * (1 + |S(xs)|)``).
        what: what is checked, for messages (a primitive, a method, a function name).
        names: a name per argument for messages (default ``x0``, ``x1``, ...).
        context: more lines for a failure report (inputs the arguments depend on, say).
        kinks: whether a kink at ``xs`` excuses a mismatch (`NotSmoothError`). False
            where the point is a deliberate tie, at which the rule must agree with the
            central difference.

    Returns:
        The largest relative error seen.

    Raises:
        NotSmoothError: on a mismatch explained by a kink or jump of ``S`` at ``xs``.
        GradCheckError: on any other mismatch, reporting the analytic and numeric values,
            the relative error, the arguments at fault and the inputs.

    Examples:
        >>> S = lambda xs: np.sum(np.sin(xs[0]))
        >>> G = lambda xs: [np.cos(xs[0])]
        >>> numeric_check(S, G, [np.array([0.5, 1.0])], rng=np.random.default_rng(0)) < 1e-8
        True
        >>> numeric_check(S, lambda xs: [1.001 * np.cos(xs[0])], [np.array([0.5, 1.0])],
        ...               rng=np.random.default_rng(0), what="sin")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rulegrad.core.errors.GradCheckError: gradient check of sin failed ...
    """
    names = list(names) if names is not None else [f"x{i}" for i in range(len(xs))]
    g = list(G(xs))
    S0 = float(np.real(_host(S(xs))))
    noise = atol if atol is not None else rtol * 1e-3 * (1.0 + abs(S0))
    worst = 0.0
    for k in range(directions):
        vs = [_direction(rng, x) for x in xs]
        plus = float(np.real(_host(S([_step(x, eps * v) for x, v in zip(xs, vs)]))))
        minus = float(np.real(_host(S([_step(x, -eps * v) for x, v in zip(xs, vs)]))))
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(_inner(v, gi, x) for v, gi, x in zip(vs, g, xs) if gi is not None)
        size = _grad_norm_dot(vs, g, xs)
        diff_ = abs(analytic - numeric)
        err = diff_ / max(abs(analytic), abs(numeric), 0.1 * size, noise)
        worst = max(worst, err)
        if diff_ <= rtol * (max(abs(analytic), abs(numeric)) + 0.1 * size) + noise:
            continue
        curvature = abs(plus - 2 * S0 + minus) / eps
        if kinks and curvature >= diff_:
            raise NotSmoothError(
                f"{what} is not differentiable at this point along random direction {k}: "
                f"one-sided slopes differ by {curvature:.3g} (a kink or a jump within "
                f"{eps:g} of the point), so finite differences cannot check it here. "
                f"Check at another point, or declare the kink in Domain(avoid=...)."
            )
        raise GradCheckError(
            _Lazy(_report, S, g, xs, vs, names, k, analytic, numeric, err, rtol, eps, what, context)
        )
    return worst


class _Lazy:
    """A message computed when first shown: reports cost evaluations Hypothesis's shrinker,
    which only compares failures, never needs."""

    def __init__(self, make: Callable[..., str], *args: Any) -> None:
        self.make, self.args, self.text = make, args, None

    def __str__(self) -> str:
        if self.text is None:
            self.text = self.make(*self.args)
            self.args = ()
        return self.text

    __repr__ = __str__


def _report(
    S: Callable[[list], Any],
    g: list,
    xs: list,
    vs: list,
    names: list[str],
    k: int,
    analytic: float,
    numeric: float,
    err: float,
    rtol: float,
    eps: float,
    what: str,
    context: str,
) -> str:
    """The failure message: values, relative error, the arguments to blame, the inputs."""
    lines = [
        f"gradient check of {what} failed along random direction {k}:",
        f"  analytic <v, grad> = {analytic:.10g}, numeric (central difference, eps={eps:g}, "
        f"float64) = {numeric:.10g}",
        f"  relative error {err:.3g} (tolerance {rtol:g})",
    ]
    if len(xs) > 1:  # perturb one argument at a time to name the rule at fault
        for i, gi in enumerate(g):
            only = [v if j == i else np.zeros_like(v) for j, v in enumerate(vs)]
            p = S([_step(xx, eps * v) for xx, v in zip(xs, only)])
            m = S([_step(xx, -eps * v) for xx, v in zip(xs, only)])
            n_i = float(np.real(_host(p) - _host(m))) / (2 * eps)
            a_i = _inner(vs[i], gi, xs[i]) if gi is not None else 0.0
            e_i = abs(a_i - n_i) / max(abs(a_i), abs(n_i), 1e-12)
            verdict = "ok" if e_i <= rtol else "WRONG"  # (a nan is wrong)
            lines.append(
                f"  argument {i} ({names[i]}) alone: analytic {a_i:.10g}, numeric {n_i:.10g}, "
                f"relative error {e_i:.3g}: {verdict}"
            )
    lines.append("  inputs:")
    lines += [f"    {name} = {_show(x)}" for name, x in zip(names, xs)]
    if context:
        lines.append(context)
    if sum(_size(x) for x in xs) <= 24:  # small enough to show whole gradients
        lines.append("  gradients of sum(u * f) for the random weights u (analytic | numeric):")
        for i, (name, gi) in enumerate(zip(names, g)):
            num = _numeric_gradient(S, xs, i, eps)
            shown = "None" if gi is None else _show(gi)
            lines.append(f"    {name}: {shown} | {_show(num)}")
    return "\n".join(lines)


def checkgrad(
    f: Callable[..., Any],
    *args: Any,
    order: int = 1,
    directions: int = 3,
    eps: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    modes: Sequence[str] = ("rev",),
) -> float:
    """Check rulegrad's gradient of ``f`` against central differences in float64.

    With arguments, checks with respect to all of them (arrays, numbers, or
    lists/tuples/dicts of them, or values of a declared vector space such as a CSR
    matrix: see `rulegrad.testing.register_vspace`); with none, with respect to every
    Param ``f`` touches.
    ``f`` may return an array: it is weighted by a random array first.

    Args:
        f: the function to check.
        *args: the point to check at.
        order: 1 checks the gradient; 2 also checks the gradient of the gradient.
        directions: random directions per order.
        eps: finite-difference step (default `STEPS` by order).
        rtol: relative tolerance (default `TOLERANCES` for float64).
        seed: seed of the random directions and weights.
        modes: ``"rev"`` checks reverse mode (`grad`), ``"fwd"`` forward mode (`jvp`, to
            first order, along random tangents): ``modes=("rev", "fwd")`` checks both.

    Returns:
        The largest relative error seen.

    Raises:
        GradCheckError: when rulegrad and the finite differences disagree
            (`NotSmoothError` when ``f`` has a kink at the point).

    Examples:
        >>> import rulegrad as rg
        >>> rosenbrock = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        >>> rg.checkgrad(rosenbrock, np.array([0.5, -0.3, 1.2]), order=2) < 1e-5
        True
    """
    rng = np.random.default_rng(seed)
    if args:
        x0 = [_f64(leaf) for leaf in _leaves(args)]
        plist: list[Param] = []
    else:
        plist = params(diff(f))
        x0 = [_f64(p.value) for p in plist]

    def call(xs: list) -> Any:
        if not plist:
            return f(*_rebuild(args, iter(xs)))
        saved = [p.value for p in plist]
        for p, x in zip(plist, xs):
            p.value = x
        try:
            return f()
        finally:
            for p, v in zip(plist, saved):
                p.value = v

    u = _weights(rng, value(call(x0)))

    def S(xs: list) -> Any:
        return _weigh(call(xs), u)

    def G(xs: list) -> list:
        return list(grad(lambda *x: S(list(x)), argnums=tuple(range(len(xs))))(*xs))

    name = getattr(f, "__name__", None) or getattr(f, "name", "f")  # a Primitive has a name
    worst = 0.0
    if "fwd" in modes:
        worst = _forward_check(S, x0, rng, directions, eps or STEPS[1], rtol or 1e-5, name)
    if "rev" not in modes:
        return worst
    worst = max(worst, numeric_check(
        S, G, x0, rng=rng, directions=directions, eps=eps or STEPS[1],
        rtol=rtol or tolerance(np.float64, 1), what=name,
    ))  # fmt: skip
    if order >= 2:
        w = [_weights(rng, x) for x in x0]

        def S2(xs: list) -> Any:
            return sum(_weigh(gi, wi) for gi, wi in zip(G(xs), w) if not _is_zero(gi))

        def G2(xs: list) -> list:
            return list(grad(lambda *x: S2(list(x)), argnums=tuple(range(len(xs))))(*xs))

        worst = max(worst, numeric_check(
            S2, G2, x0, rng=rng, directions=directions, eps=eps or STEPS[2],
            rtol=rtol or tolerance(np.float64, 2), what=f"the gradient of {name}",
        ))  # fmt: skip
    return worst


def _forward_check(
    S: Callable[[list], Any], x0: list, rng: Any, directions: int, eps: float, rtol: float,
    name: str,
) -> float:  # fmt: skip
    """The forward-mode derivative (`jvp`) of ``S`` along random tangents against central
    differences; the largest relative error."""
    worst = 0.0
    for _ in range(directions):
        ds = [_weights(rng, x) for x in x0]
        t = value(jvp(lambda *xs: S(list(xs)), tuple(x0), tuple(ds))[1])
        plus = value(S([x + eps * d for x, d in zip(x0, ds)]))
        num = (plus - value(S([x - eps * d for x, d in zip(x0, ds)]))) / (2 * eps)
        err = float(abs(t - num) / max(1.0, abs(num)))
        if not err <= rtol:
            raise GradCheckError(
                f"forward mode (rg.jvp) of {name} along a random tangent gives {t:.10g}, "
                f"central differences give {num:.10g} (relative error {err:.2g} > {rtol:g})"
            )
        worst = max(worst, err)
    return worst
