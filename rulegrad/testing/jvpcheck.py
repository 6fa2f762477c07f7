"""Generated forward-mode checks: every registered method's jvp, native or derived.

Like `rulegrad.testing.autotests` for the reverse rules, and from the same registry and
declared `Domain` s (so a third-party forward rule is checked with no test code): one
input is drawn per example, random tangents for its float arguments, and

* the output tangents have the outputs' shapes and dtypes (float32 stays float32);
* they match central differences in float64 along the tangents;
* the jvp is linear in the tangents: ``jvp(a t) == a jvp(t)``;
* it agrees with the reverse rules: ``<u, jvp(t)> == <vjp(u), t>`` for random ``u``.

Arguments that are values of another vector space (a sparse matrix) are held constant
here; their gradients are checked by the reverse checks.

Examples:
    >>> from rulegrad.core.primitive import PRIMITIVES
    >>> jvp_test(PRIMITIVES[np.sin].methods[0], max_examples=3)()  # passes: no exception
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from ..core import Method, jvp, vjp
from ..core.errors import GradCheckError, RuleError, RulegradError
from .autotests import (
    DomainError,
    _differentiable,
    _dot,
    _finite,
    _missing,
    _random_like,
    _same_rules,
    load_plugins,
    methods,
    profile,
)
from .gradcheck import _f64, _show, tolerance
from .strategies import draw_case
from .vspace import vspace_of

__all__ = ["check_jvp", "jvp_test", "jvp_tests"]


def _outs(y: Any) -> tuple:
    return y if isinstance(y, tuple) else (y,)


def check_jvp(method: Method, data: Any) -> None:
    """Check ``method``'s jvp at one input drawn from its domain (a generated test's body).

    Raises:
        DomainError: no domain, or inputs that do not reach this method.
        RuleError: an output tangent of the wrong shape or dtype.
        GradCheckError: a jvp that disagrees with central differences, is not linear in
            the tangents, or disagrees with the reverse rules.
    """
    if method.domain is None:
        raise DomainError(_missing(method))
    case = draw_case(lambda s, label: data.draw(s, label=label), method.domain)
    prim, args, kwargs = method.primitive, case.args, case.kwargs
    try:
        resolved = prim.resolve(tuple(type(a) for a in args))
        if resolved is not method and not _same_rules(resolved, method):
            reject()  # (the reverse checks report a domain reaching another method)
    except RulegradError:
        reject()
    diff = [i for i in _differentiable(method, case.kinds, args) if vspace_of(args[i]) is None]
    if not diff:
        reject()
    rng = np.random.default_rng(case.seed)
    xs = tuple(args[i] for i in diff)
    ts = tuple(_random_like(rng, x) for x in xs)

    def call(*xs_: Any) -> Any:
        full = list(args)
        for i, x in zip(diff, xs_):
            full[i] = x
        return prim(*full, **kwargs)

    what = f"{method!r} (registered by {method.origin}) at " + ", ".join(
        f"x{i} = {_show(a)}" for i, a in enumerate(args)
    )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            y = call(*xs)
        except RulegradError:
            raise
        except Exception:  # an invalid input for this function: the domain is too wide
            reject()
        if not all(_finite(o) for o in _outs(y)):
            reject()
        out, tout = jvp(call, xs, ts)
        _check_like(tout, y, what)
        _check_numeric(call, xs, ts, y, tout, case.dtype, what)
        _, tout2 = jvp(call, xs, tuple(2.5 * t for t in ts))
        rtol = tolerance(case.dtype)
        for a, b in zip(_outs(tout), _outs(tout2)):
            if _floating(a) and not np.allclose(2.5 * np.asarray(a), b, rtol=rtol, atol=rtol):
                raise GradCheckError(f"the jvp of {what} is not linear in the tangents")
        _check_transpose(call, xs, ts, y, tout, rtol, rng, what)


def _floating(v: Any) -> bool:
    return np.result_type(v).kind in "fc"


def _check_like(tout: Any, y: Any, what: str) -> None:
    for k, (t, o) in enumerate(zip(_outs(tout), _outs(y))):
        if not _floating(o):
            continue
        if np.shape(t) != np.shape(o) or np.result_type(t) != np.result_type(o):
            raise RuleError(
                f"the jvp of {what} gave output {k} the tangent {_show(t)} for an output "
                f"{_show(o)}: a tangent has its output's shape and dtype"
            )


def _check_numeric(
    call: Callable, xs: tuple, ts: tuple, y: Any, tout: Any, dtype: Any, what: str
) -> None:
    """Central differences in float64 along ``ts``, at two steps (a disagreement between
    the two means a kink nearby: the example is rejected, not failed)."""
    x64, t64 = [_f64(x) for x in xs], [_f64(t) for t in ts]

    def along(eps: float) -> list:
        try:
            plus = _outs(call(*(x + eps * t for x, t in zip(x64, t64))))
            minus = _outs(call(*(x - eps * t for x, t in zip(x64, t64))))
        except RulegradError:
            raise
        except Exception:  # a step left the function's domain (off dirichlet's simplex)
            reject()
        return [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus)]

    rtol = tolerance(dtype)
    for k, (num, num2, t, o) in enumerate(zip(along(1e-6), along(1e-4), _outs(tout), _outs(y))):
        if not _floating(o):
            continue
        scale = max(1.0, float(np.max(np.abs(num), initial=0.0)))
        if not np.allclose(num, num2, rtol=1e-3, atol=1e-3 * scale):
            reject()  # not smooth here
        # The differences' own rounding: a library function good to ~1e-13 of its value, over
        # the step, matters where J t is far smaller than the value (poch near 1e37, with
        # its two arguments' terms cancelling)
        noise = 1e3 * np.finfo(np.float64).eps * float(np.max(np.abs(o), initial=0.0)) / 1e-6
        if not np.allclose(np.asarray(t), num, rtol=rtol, atol=rtol * scale + noise):
            raise GradCheckError(
                f"the jvp of {what} gives output {k} the tangent {_show(t)}, but central "
                f"differences give {_show(num)}"
            )


def _check_transpose(
    call: Callable, xs: tuple, ts: tuple, y: Any, tout: Any, rtol: float, rng: Any, what: str
) -> None:
    """``<u, jvp(t)> == <vjp(u), t>`` for a random output weight ``u``."""
    us = [_random_like(rng, o) if _floating(o) else None for o in _outs(y)]
    _, back = vjp(call, *xs)
    grads = back(*us) if isinstance(y, tuple) else back(us[0])
    lhs = sum(float(_dot(u, t)) for u, t in zip(us, _outs(tout)) if u is not None)
    rhs = sum(float(_dot(g, t)) for g, t in zip(grads, ts) if g is not None)
    if not np.isclose(lhs, rhs, rtol=rtol, atol=rtol * max(1.0, abs(lhs))):
        raise GradCheckError(
            f"the jvp of {what} disagrees with its reverse rules: <u, jvp(t)> = {lhs:.6g} "
            f"but <vjp(u), t> = {rhs:.6g}"
        )


def jvp_test(method: Method, *, max_examples: int | None = None) -> Callable[[], None]:
    """A Hypothesis test of ``method``'s jvp: call it to run `check_jvp` on many inputs."""

    def check(data: Any) -> None:
        check_jvp(method, data)

    check._hypothesis_internal_add_digest = f"jvp {method!r}@{method.origin}".encode()  # type: ignore[attr-defined]
    base = profile()
    if max_examples is not None:
        base = settings(base, max_examples=max_examples)
    test = settings(base)(given(data=st.data())(check))

    def run() -> None:
        if method.domain is None:
            raise DomainError(_missing(method))
        test()

    run.__name__ = f"jvp[{method!r}]"
    return run


def _native(method: Method) -> bool:
    """Whether ``method`` has forward rules of its own (not only jvps derived from its vjp)."""
    return method.jvp is not None or any(rule is not None for rule in method.forward)


def jvp_tests(*packages: str, max_examples: int | None = None) -> Callable[..., None]:
    """A pytest test parametrized over the methods of ``packages`` (all if none), checking
    each one's jvp: ``test_jvps = jvp_tests("mypackage")`` in a test module."""
    import pytest

    load_plugins()
    # A derived jvp differentiates the reverse rules, which a domain of order 1 says cannot
    # be differentiated (odeint's adjoint): such a method is checked only with forward rules.
    found = [
        m
        for m in methods(*packages)
        if m.domain is not None and (m.domain.order > 1 or (m.domain.order and _native(m)))
    ]

    @pytest.mark.parametrize("method", found, ids=repr)
    def test_jvps(method: Method) -> None:
        """The jvp of each registered method passes the generated forward checks."""
        jvp_test(method, max_examples=max_examples)()

    return test_jvps
