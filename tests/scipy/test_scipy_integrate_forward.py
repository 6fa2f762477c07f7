"""rulegrad.scipy.integrate in forward mode: odeint and solve_ivp have native forward rules
(forward sensitivity) that agree with central differences of scipy's own solvers and with
the adjoint; second derivatives through them are a clear RuleError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import rulegrad as rg

scipy_integrate = pytest.importorskip("scipy.integrate")
from rulegrad.scipy import integrate as rgi  # noqa: E402

TIGHT = {"rtol": 1e-10, "atol": 1e-10}
T = np.array([0.0, 0.4, 1.1, 1.5])
Y0 = np.array([1.0, 0.5])
A = np.array([2.0, 0.3])
B = 0.7


def forced(y: Any, t: Any, a: Any, b: Any) -> Any:
    """A nonlinear oscillator with a time-dependent force (so the first time point matters)."""
    return np.stack([y[1], -a[0] * y[0] - a[1] * y[1] ** 3 + b * np.sin(2.0 * t)])


def forced_ivp(t: Any, y: Any, a: Any, b: Any) -> Any:
    return forced(y, t, a, b)


def solve(y0: Any, t: Any, a: Any, b: Any) -> Any:
    """The odeint solution (len(t), 2) with the forcing's arguments in args=."""
    return rgi.odeint(forced, y0, t, args=(a, b), **TIGHT)


def solve_ivp_y(y0: Any, t0: Any, t_eval: Any, a: Any, b: Any) -> Any:
    """solve_ivp's ``sol.y`` (2, len(t_eval)) from ``t0`` to 2.0."""
    sol = rgi.solve_ivp(forced_ivp, (t0, 2.0), y0, t_eval=t_eval, args=(a, b), **TIGHT)
    return sol.y


def central(f: Callable[..., Any], primals: tuple, tangents: tuple, eps: float = 1e-6) -> Any:
    """The directional derivative of ``f`` at ``primals`` along ``tangents`` by central
    differences (None: a zero tangent), on scipy's own solvers (rulegrad's fall through
    outside any derivative)."""

    def at(sign: float) -> Any:
        moved = [
            x if d is None else x + sign * eps * np.asarray(d) for x, d in zip(primals, tangents)
        ]
        return np.asarray(f(*moved))

    return (at(1.0) - at(-1.0)) / (2 * eps)


PRIMALS = (Y0, T, A, B)
ALONG = {
    "y0": (np.array([0.3, -1.0]), None, None, None),
    "args": (None, None, np.array([1.0, -0.4]), 0.5),
    "later times": (None, np.array([0.0, 0.2, 0.1, -0.3]), None, None),
    "t0": (None, np.array([0.3, 0.0, 0.0, 0.0]), None, None),
    "all": (np.array([0.3, -1.0]), np.array([0.2, 0.1, -0.1, 0.3]), np.array([1.0, -0.4]), 0.5),
}


@pytest.mark.parametrize("which", list(ALONG))
def test_odeint_jvp_matches_central_differences(which: str) -> None:
    """rg.jvp through odeint along y0, args, the later times, t0 and all at once agrees with
    central differences, in the primal's shape and dtype, with the primal's values."""
    tangents = ALONG[which]
    out, tout = rg.jvp(solve, PRIMALS, tangents)
    np.testing.assert_allclose(out, solve(*PRIMALS), rtol=1e-12)
    assert tout.shape == out.shape == (4, 2) and tout.dtype == np.float64
    np.testing.assert_allclose(tout, central(solve, PRIMALS, tangents), rtol=1e-6, atol=1e-7)


IVP_PRIMALS = (Y0, 0.1, np.array([0.4, 1.1, 1.5]), A, B)
IVP_ALONG = {
    "y0": (np.array([0.3, -1.0]), None, None, None, None),
    "args": (None, None, None, np.array([1.0, -0.4]), 0.5),
    "t_eval": (None, None, np.array([0.2, 0.1, -0.3]), None, None),
    "t0": (None, 0.3, None, None, None),
    "all": (np.array([0.3, -1.0]), 0.3, np.array([0.2, 0.1, -0.3]), np.array([1.0, -0.4]), 0.5),
}


@pytest.mark.parametrize("which", list(IVP_ALONG))
def test_solve_ivp_jvp_matches_central_differences(which: str) -> None:
    """rg.jvp through solve_ivp's sol.y along y0, args, t_eval, t_span[0] and all at once
    agrees with central differences."""
    tangents = IVP_ALONG[which]
    out, tout = rg.jvp(solve_ivp_y, IVP_PRIMALS, tangents)
    assert tout.shape == out.shape == (2, 3) and tout.dtype == np.float64
    expect = central(solve_ivp_y, IVP_PRIMALS, tangents)
    np.testing.assert_allclose(tout, expect, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("method", ["RK45", "LSODA"])
def test_solve_ivp_jvp_with_other_solvers(method: str) -> None:
    """The sensitivity solve uses the primal's method: an explicit and an implicit one."""

    def f(y0: Any, a: Any) -> Any:
        sol = rgi.solve_ivp(forced_ivp, (0.0, 1.5), y0, method, [0.5, 1.5], args=(a, B), **TIGHT)
        return sol.y

    tangents = (np.array([0.3, -1.0]), np.array([1.0, -0.4]))
    _, tout = rg.jvp(f, (Y0, A), tangents)
    np.testing.assert_allclose(tout, central(f, (Y0, A), tangents), rtol=1e-5, atol=1e-6)


def test_forward_jacobian_equals_the_adjoint() -> None:
    """rg.jacobian(mode="fwd") of the final state in the parameters equals mode="rev"."""

    def final(p: Any) -> Any:
        return rgi.odeint(forced, Y0, T, args=(p[:2], p[2]), **TIGHT)[-1]

    p = np.array([2.0, 0.3, 0.7])
    fwd = rg.jacobian(final, mode="fwd")(p)
    rev = rg.jacobian(final, mode="rev")(p)
    assert fwd.shape == (2, 3)
    np.testing.assert_allclose(fwd, rev, rtol=1e-6, atol=1e-8)


def test_linearize_through_odeint() -> None:
    """rg.linearize's f_jvp walks the recorded solve with the forward rules."""
    out, f_jvp = rg.linearize(solve, *PRIMALS)
    tangents = ALONG["all"]
    np.testing.assert_allclose(f_jvp(*tangents), rg.jvp(solve, PRIMALS, tangents)[1], rtol=1e-9)


def test_float32_stays_float32() -> None:
    """A float32 initial state and tangent give a float32 solution and tangent."""
    y0 = Y0.astype(np.float32)
    out, tout = rg.jvp(lambda y: rgi.odeint(forced, y, T, args=(A, B)), (y0,), (np.ones(2),))
    assert out.dtype == tout.dtype == np.float32
    expect = central(lambda y: solve(y, T, A, B), (Y0,), (np.ones(2),))
    np.testing.assert_allclose(tout, expect, rtol=1e-4, atol=1e-5)


def test_closed_over_param_is_a_constant() -> None:
    """A Param the dynamics close over has a zero tangent in forward mode; the other tangents
    are still right, and a diff around the jvp still tracks the Param."""
    a = rg.Param(A.copy())

    def closed(y0: Any) -> Any:
        return rgi.odeint(lambda y, t: forced(y, t, a, B), y0, T, **TIGHT)

    tangent = np.array([0.3, -1.0])
    _, tout = rg.jvp(closed, (Y0,), (tangent,))
    expect = central(lambda y: solve(y, T, A, B), (Y0,), (tangent,))
    np.testing.assert_allclose(tout, expect, rtol=1e-6, atol=1e-7)


def test_the_generated_jvp_check_runs_on_ode_solution() -> None:
    """The registered primitive has native forward rules, so the generated jvp check runs
    on it (central differences, linearity, and agreement with the adjoint)."""
    from rulegrad.testing.jvpcheck import _native, jvp_test

    (method,) = rgi.ode_solution.methods
    assert _native(method)
    jvp_test(method, max_examples=2)()


def decay_at_one(k: Any) -> Any:
    return rgi.odeint(lambda y, t, k: -k * y, np.array([1.0]), [0.0, 1.0], (k,), **TIGHT)[-1, 0]


@pytest.mark.parametrize(
    ("second", "says"),
    [
        (lambda: rg.jvp(lambda k: rg.jvp(decay_at_one, (k,), (1.0,))[1], (0.5,), (1.0,)),
         "jvp of a jvp"),
        (lambda: rg.grad(lambda k: rg.jvp(decay_at_one, (k,), (1.0,))[1])(0.5),
         "gradient of a jvp"),
        (lambda: rg.hessian(decay_at_one)(0.5), "jvp of a gradient"),
        (lambda: rg.grad(rg.grad(decay_at_one))(0.5), "gradient of a gradient"),
    ],
    ids=["jvp-of-jvp", "grad-of-jvp", "hessian", "grad-of-grad"],
)  # fmt: skip
def test_second_derivatives_say_first_order_only(second: Callable[[], Any], says: str) -> None:
    """Each nesting of two derivatives through odeint is a RuleError that says its
    derivatives are first order only and names the combination asked for."""
    with pytest.raises(rg.RuleError, match="first order only") as caught:
        second()
    assert says in str(caught.value)


def test_many_computed_args_take_one_sensitivity_solve() -> None:
    """Forty computed args entries with tangents: one forward rule call (all tangents at
    once) gives the derivative of y(1) = exp(-sum(k)), as reverse mode does."""
    count = 40

    def many(*ks: Any) -> Any:
        def f(y: Any, t: Any, *k: Any) -> Any:
            return -sum(k) * y

        return rgi.odeint(f, np.array([1.0]), [0.0, 1.0], args=ks, **TIGHT)[-1, 0]

    ks = tuple(np.full(1, 0.01) for _ in range(count))
    dks = tuple(np.full(1, 1.0 + i / count) for i in range(count))
    solves = []
    sensitivity = rgi._sensitivity
    try:
        rgi._sensitivity = lambda *a, **k: solves.append(1) or sensitivity(*a, **k)
        _, t = rg.jvp(many, ks, dks)
    finally:
        rgi._sensitivity = sensitivity
    expected = -np.exp(-0.01 * count) * sum(float(d[0]) for d in dks)
    assert len(solves) == 1 and np.isclose(t, expected, rtol=1e-7)
    assert np.isclose(rg.grad(many)(*ks)[0], -np.exp(-0.01 * count), rtol=1e-8)


def test_repeated_times_and_the_solvers_own_times() -> None:
    """Repeated time points (odeint), and solve_ivp without t_eval, whose first reported
    time repeats t_span[0]: the sensitivity solve takes each time once."""
    t = np.array([0.0, 0.7, 0.7, 1.5])
    tangents = (np.array([0.3, -1.0]), np.array([0.2, 0.1, 0.1, 0.3]), np.array([1.0, -0.4]), 0.5)
    _, tout = rg.jvp(solve, (Y0, t, A, B), tangents)
    np.testing.assert_allclose(tout, central(solve, (Y0, t, A, B), tangents), rtol=1e-6, atol=1e-7)

    def own(y0: Any) -> Any:
        return rgi.solve_ivp(lambda t, y: -y, (0.0, 1.0), y0, rtol=1e-10, atol=1e-12).y

    out, tout = rg.jvp(own, (np.array([2.0]),), (np.array([1.0]),))
    np.testing.assert_allclose(tout, out / 2.0, rtol=1e-8)  # y = y0 exp(-t): linear in y0


def test_tolerances_per_state_entry() -> None:
    """An atol array (one entry per state entry) serves the sensitivity solve of the doubled
    state too, in odeint and solve_ivp."""
    tols = {"rtol": 1e-10, "atol": np.array([1e-10, 1e-11])}
    along = (np.array([0.3, -1.0]), None, np.array([1.0, -0.4]), 0.5)

    def ode(y0: Any, t: Any, a: Any, b: Any) -> Any:
        return rgi.odeint(forced, y0, t, args=(a, b), **tols)

    _, tout = rg.jvp(ode, PRIMALS, along)
    np.testing.assert_allclose(tout, central(ode, PRIMALS, along), rtol=1e-6, atol=1e-7)

    def ivp(y0: Any, a: Any, b: Any) -> Any:
        return rgi.solve_ivp(forced_ivp, (0.0, 2.0), y0, t_eval=T[1:], args=(a, b), **tols).y

    primals, along = (Y0, A, B), (along[0], along[2], along[3])
    _, tout = rg.jvp(ivp, primals, along)
    np.testing.assert_allclose(tout, central(ivp, primals, along), rtol=1e-6, atol=1e-7)
