"""Numeric gradient checks: reverse mode against central differences along random directions.

For a function ``f`` and a random output weighting ``u``, the scalar ``S(x) = sum(u * f(x))``
is differentiated by rulegrad and, along random directions ``v``, by central differences
in float64: ``<grad S(x), v>`` must match ``(S(x + eps v) - S(x - eps v)) / (2 eps)``.
Second order applies the same check to ``x -> <grad S(x), w>``, which needs the backward
pass itself to be differentiable. (autograd's ``check_grads`` and JAX's ``check_grads``
do the same; comparing along directions keeps the cost at a few evaluations.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import Param, diff, grad, params, value
from ..core.box import describe
from ..core.errors import GradCheckError

__all__ = ["checkgrad", "numeric_check", "TOLERANCES"]

#: Relative tolerance by order of the check (all arithmetic is float64).
TOLERANCES = {1: 1e-5, 2: 1e-4}


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


def _f64(x: Any) -> Any:
    x = np.asarray(value(x))
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _inner(a: Any, b: Any) -> float:
    return float(np.real(np.sum(np.conj(np.asarray(value(a))) * np.asarray(b))))


def numeric_check(
    S: Callable[[list], Any],
    G: Callable[[list], list],
    xs: list[np.ndarray],
    *,
    rng: np.random.Generator,
    directions: int = 3,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    what: str = "f",
) -> float:
    """Compare ``G(xs)`` (the analytic gradient of scalar ``S``) with central differences.

    Args:
        S: a scalar function of a list of float64 arrays.
        G: its claimed gradient: a list like ``xs`` (``None`` entries count as zeros).
        xs: the point, float64 arrays.
        rng: where the random directions come from.
        directions: how many random directions to try.
        eps: the finite-difference step.
        rtol: the relative tolerance; the absolute one scales with ``|S|``.
        what: a name for messages.

    Returns:
        The largest relative error seen.

    Raises:
        GradCheckError: with the analytic and numeric values for the worst direction.
    """
    g = G(xs)
    scale = 1.0 + abs(float(np.real(S(xs))))
    worst = 0.0
    for k in range(directions):
        vs = [rng.standard_normal(np.shape(x)) for x in xs]
        plus = S([x + eps * v for x, v in zip(xs, vs)])
        minus = S([x - eps * v for x, v in zip(xs, vs)])
        numeric = float(np.real(plus - minus)) / (2 * eps)
        analytic = sum(_inner(v, gi) for v, gi in zip(vs, g) if gi is not None)
        err = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3 * scale)
        worst = max(worst, err)
        if abs(analytic - numeric) > rtol * max(abs(analytic), abs(numeric)) + 1e-7 * scale:
            raise GradCheckError(
                f"gradient check of {what} failed along random direction {k}: "
                f"analytic {analytic:.10g}, numeric {numeric:.10g}, relative error {err:.3g} "
                f"(tolerance {rtol:g}) at inputs ({', '.join(describe(x) for x in xs)})"
            )
    return worst


def checkgrad(
    f: Callable[..., Any],
    *args: Any,
    order: int = 1,
    directions: int = 3,
    eps: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> float:
    """Check rulegrad's gradient of ``f`` against central differences in float64.

    With arguments, checks with respect to all of them (arrays, numbers, or
    lists/tuples/dicts of them); with none, with respect to every Param ``f`` touches.
    ``f`` may return an array: it is weighted by a random array first.

    Args:
        f: the function to check.
        *args: the point to check at.
        order: 1 checks the gradient; 2 also checks the gradient of the gradient.
        directions: random directions per order.
        eps: finite-difference step (default 1e-6 first order, 1e-4 second).
        rtol: relative tolerance (default `TOLERANCES`).
        seed: seed of the random directions and weights.

    Returns:
        The largest relative error seen.

    Raises:
        GradCheckError: when rulegrad and the finite differences disagree.

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

    u = rng.standard_normal(np.shape(value(call(x0))))

    def S(xs: list) -> Any:
        return np.sum(call(xs) * u)

    def G(xs: list) -> list:
        return list(grad(lambda *x: S(list(x)), argnums=tuple(range(len(xs))))(*xs))

    name = getattr(f, "__name__", "f")
    worst = numeric_check(
        S, G, x0, rng=rng, directions=directions, eps=eps or 1e-6,
        rtol=rtol or TOLERANCES[1], what=name,
    )  # fmt: skip
    if order >= 2:
        w = [rng.standard_normal(np.shape(x)) for x in x0]

        def S2(xs: list) -> Any:
            return sum(np.sum(gi * wi) for gi, wi in zip(G(xs), w))

        def G2(xs: list) -> list:
            return list(grad(lambda *x: S2(list(x)), argnums=tuple(range(len(xs))))(*xs))

        worst = max(worst, numeric_check(
            S2, G2, x0, rng=rng, directions=directions, eps=eps or 1e-4,
            rtol=rtol or TOLERANCES[2], what=f"the gradient of {name}",
        ))  # fmt: skip
    return worst
