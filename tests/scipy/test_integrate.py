"""rulegrad.scipy.integrate: odeint and solve_ivp differentiated by the adjoint method agree
with central differences of scipy's own solvers (rtol=1e-10) and with HIPS autograd."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import rulegrad as rg

scipy_integrate = pytest.importorskip("scipy.integrate")
from rulegrad.scipy import integrate as rgi  # noqa: E402

TIGHT = {"rtol": 1e-10, "atol": 1e-10}
T = np.array([0.0, 0.4, 1.1, 1.5])
Y0 = np.array([1.0, 0.5])
W = np.array([[0.3, -1.2], [0.7, 0.4], [-0.5, 1.1], [1.3, 0.2]])  # weights of the loss


def forced(y: np.ndarray, t: float, a: np.ndarray, b: float) -> np.ndarray:
    """A nonlinear oscillator with a time-dependent force (so the first time point matters)."""
    return np.stack([y[1], -a[0] * y[0] - a[1] * y[1] ** 3 + b * np.sin(2.0 * t)])


A = np.array([2.0, 0.3])
B = 0.7


def central(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """The gradient of ``f`` at ``x`` by central differences."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g


def loss_plain(y0: np.ndarray, t: np.ndarray, a: np.ndarray, b: float) -> float:
    ys = scipy_integrate.odeint(forced, y0, t, args=(a, b), **TIGHT)
    return float(np.sum(W * ys))


def test_odeint_gradients_match_central_differences() -> None:
    """Gradients w.r.t. y0, every time point and both args (a Param and a computed value)."""
    y0, t, a, c = rg.Param(Y0.copy()), rg.Param(T.copy()), rg.Param(A.copy()), rg.Param(B / 2)
    J = rg.diff(lambda: np.sum(W * rgi.odeint(forced, y0, t, args=(a, 2.0 * c), **TIGHT)))
    assert np.isclose(rg.value(J), loss_plain(Y0, T, A, B), rtol=1e-9)
    expect = {
        y0: central(lambda v: loss_plain(v, T, A, B), Y0),
        t: central(lambda v: loss_plain(Y0, v, A, B), T),
        a: central(lambda v: loss_plain(Y0, T, v, B), A),
        c: central(lambda v: loss_plain(Y0, T, A, 2.0 * float(v)), np.array(B / 2)),
    }
    for p, g in expect.items():
        assert rg.grad(J, p).shape == np.shape(p.value)
        np.testing.assert_allclose(rg.grad(J, p), g, rtol=1e-6, atol=1e-7)


def test_odeint_closed_over_params_get_gradients() -> None:
    """Params the dynamics function reads from its closure get their gradients too."""
    a, b = rg.Param(A.copy()), rg.Param(B)

    def closed(y: np.ndarray, t: float) -> np.ndarray:
        return forced(y, t, a, b)

    J = rg.diff(lambda: np.sum(W * rgi.odeint(closed, Y0, T, **TIGHT)))
    np.testing.assert_allclose(
        rg.grad(J, a), central(lambda v: loss_plain(Y0, T, v, B), A), rtol=1e-6, atol=1e-7
    )
    gb = central(lambda v: loss_plain(Y0, T, A, float(v)), np.array(B))
    np.testing.assert_allclose(rg.grad(J, b), gb, rtol=1e-6, atol=1e-7)


def test_odeint_matches_autograd() -> None:
    """Gradients w.r.t. y0, t and args agree with HIPS autograd's odeint rule."""
    autograd = pytest.importorskip("autograd")
    ag_np = pytest.importorskip("autograd.numpy")
    ag_odeint = pytest.importorskip("autograd.scipy.integrate").odeint
    ag_tuple = pytest.importorskip("autograd.builtins").tuple

    def ag_forced(y, t, a, b):
        return ag_np.array([y[1], -a[0] * y[0] - a[1] * y[1] ** 3 + b * ag_np.sin(2.0 * t)])

    def ag_loss(y0, t, a):
        return ag_np.sum(W * ag_odeint(ag_forced, y0, t, ag_tuple((a, B)), **TIGHT))

    expect = autograd.grad(ag_loss, argnum=(0, 1, 2))(Y0, T, A)
    got = rg.grad(
        lambda y0, t, a: np.sum(W * rgi.odeint(forced, y0, t, (a, B), **TIGHT)), (0, 1, 2)
    )
    for g, e in zip(got(Y0, T, A), expect):
        np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-8)


def test_odeint_tfirst_and_full_output() -> None:
    """tfirst=True takes func(t, y); full_output=True gives (tracked solution, infodict)."""
    a = rg.Param(A.copy())
    J = rg.diff(
        lambda: np.sum(W * rgi.odeint(lambda t, y: forced(y, t, a, B), Y0, T, tfirst=True, **TIGHT))
    )
    np.testing.assert_allclose(
        rg.grad(J, a), central(lambda v: loss_plain(Y0, T, v, B), A), rtol=1e-6, atol=1e-7
    )
    out = {}

    def f() -> object:
        ys, out["info"] = rgi.odeint(forced, rg.Param(Y0), T, (A, B), full_output=True)
        return np.sum(ys)

    rg.diff(f)
    assert "nfe" in out["info"]


def ivp_plain(y0: np.ndarray, t_eval: np.ndarray, t0: float, a: np.ndarray) -> float:
    sol = scipy_integrate.solve_ivp(
        lambda t, y: forced(y, t, a, B), (t0, 2.0), y0, t_eval=t_eval, method="DOP853", **TIGHT
    )
    return float(np.sum(W[1:] * sol.y.T))


def test_solve_ivp_gradients_match_central_differences() -> None:
    """sol.y is differentiable in y0, t_eval, t_span[0] and a closed-over Param."""
    y0, te, t0, a = rg.Param(Y0.copy()), rg.Param(T[1:].copy()), rg.Param(0.0), rg.Param(A)

    def loss() -> object:
        sol = rgi.solve_ivp(
            lambda t, y: forced(y, t, a, B), (t0, 2.0), y0, method="DOP853", t_eval=te, **TIGHT
        )
        return np.sum(W[1:] * sol.y.T)

    J = rg.diff(loss)
    assert np.isclose(rg.value(J), ivp_plain(Y0, T[1:], 0.0, A), rtol=1e-9)
    expect = {
        y0: central(lambda v: ivp_plain(v, T[1:], 0.0, A), Y0),
        te: central(lambda v: ivp_plain(Y0, v, 0.0, A), T[1:]),
        t0: central(lambda v: ivp_plain(Y0, T[1:], float(v), A), np.array(0.0)),
        a: central(lambda v: ivp_plain(Y0, T[1:], 0.0, v), A),
    }
    for p, g in expect.items():
        np.testing.assert_allclose(rg.grad(J, p), g, rtol=1e-6, atol=1e-7)


def test_solve_ivp_args_and_solver_times() -> None:
    """Without t_eval the solver's own times are constants; args= entries get gradients."""
    a = rg.Param(A.copy())
    J = rg.diff(lambda: np.sum(rgi.solve_ivp(forced_t, (0.0, 1.0), Y0, args=(a, B), **TIGHT).y))

    # the solver's times move with a: the gradient holds them fixed, as central
    # differences on the times of the unperturbed solve do
    sol = scipy_integrate.solve_ivp(forced_t, (0.0, 1.0), Y0, args=(A, B), **TIGHT)

    def fixed_times(v: np.ndarray) -> float:
        s = scipy_integrate.solve_ivp(forced_t, (0.0, 1.0), Y0, t_eval=sol.t, args=(v, B), **TIGHT)
        return float(np.sum(s.y))

    assert np.isclose(rg.value(J), np.sum(sol.y), rtol=1e-9)  # y0 at t0 included, as in scipy
    np.testing.assert_allclose(rg.grad(J, a), central(fixed_times, A), rtol=1e-6, atol=1e-7)


def forced_t(t: float, y: np.ndarray, a: np.ndarray, b: float) -> np.ndarray:
    """`forced` in solve_ivp's argument order."""
    return forced(y, t, a, b)


def test_install_wraps_scipy_and_falls_through_outside_diff() -> None:
    """Once the scipy plugin has loaded the module, scipy.integrate.odeint is differentiable
    inside diff and scipy's own outside it; uninstall() restores scipy's, install() wraps it
    again."""
    original = rgi._scipy("odeint")
    assert scipy_integrate.odeint is not original  # (the plugin imported rgi: installed)
    rgi.uninstall()
    assert scipy_integrate.odeint is original
    rgi.install()
    assert scipy_integrate.odeint is not original
    k = rg.Param(0.5)
    J = rg.diff(lambda: scipy_integrate.odeint(lambda y, t: -k * y, [1.0], [0, 2], **TIGHT)[-1, 0])
    assert np.isclose(rg.grad(J, k), -2 * np.exp(-1.0), rtol=1e-8)
    ys = scipy_integrate.odeint(lambda y, t: -k * y, [1.0], [0, 2], **TIGHT)
    assert type(ys) is np.ndarray and np.isclose(ys[-1, 0], np.exp(-1.0), rtol=1e-8)
    sol = scipy_integrate.solve_ivp(lambda t, y: -k * y, (0, 2), [1.0], t_eval=[2.0], **TIGHT)
    assert np.isclose(sol.y[0, 0], np.exp(-1.0), rtol=1e-8)


def test_param_read_only_later_raises() -> None:
    """A Param the dynamics read only after the first call raises, not a silent zero."""
    k = rg.Param(0.5)

    def late(y: np.ndarray, t: float) -> np.ndarray:
        return -k * y if t > 0.5 else -0.5 * y

    J = rg.diff(lambda: rgi.odeint(late, rg.Param(np.array([1.0])), [0.0, 1.0], **TIGHT)[-1, 0])
    with pytest.raises(rg.RuleError, match="not at its first call"):
        rg.grad(J, k)


def test_second_order_raises() -> None:
    """Differentiating the adjoint gradient again is a RuleError, not a wrong number."""
    decay = rg.grad(
        lambda k: rgi.odeint(lambda y, t, k: -k * y, [1.0], [0, 1], (k,), **TIGHT)[-1, 0]
    )
    assert np.isclose(decay(0.5), -np.exp(-0.5), rtol=1e-8)
    with pytest.raises(rg.RuleError, match="first order"):
        rg.grad(decay)(0.5)


def test_closed_over_computed_value_raises() -> None:
    """A closure over a computed tracked value (not a Param) is an ArgumentError naming args=."""
    p = rg.Param(0.5)

    def loss() -> object:
        k = 2.0 * p
        return rgi.odeint(lambda y, t: -k * y, [1.0], [0.0, 1.0])[-1, 0]

    with pytest.raises(rg.ArgumentError, match="args="):
        rg.diff(loss)


def test_float32_keeps_its_dtype() -> None:
    """A float32 initial state gives a float32 solution and gradient."""
    y0 = rg.Param(Y0.astype(np.float32))
    J = rg.diff(lambda: np.sum(rgi.odeint(forced, y0, T, args=(A, B))))
    assert rg.value(J).dtype == np.float32 and rg.grad(J, y0).dtype == np.float32


def test_automatic_check_of_the_primitive() -> None:
    """The registered primitive passes rulegrad's generated gradient check (first order)."""
    from rulegrad.testing.autotests import method_test

    (method,) = rgi.ode_solution.methods
    method_test(method, max_examples=2)()


def test_solve_ivp_refusals() -> None:
    """vectorized=True is an ArgumentError; a terminal event before t_eval's end a
    RulegradError naming the event: neither gives a partial gradient."""
    k = rg.Param(0.5)

    def decay(t: float, y: np.ndarray) -> np.ndarray:
        return -k * y

    with pytest.raises(rg.ArgumentError, match="vectorized"):
        rg.diff(lambda: np.sum(rgi.solve_ivp(decay, (0, 1), [1.0], vectorized=True).y))

    def low(t: float, y: np.ndarray) -> float:
        return y[0] - 0.9

    low.terminal = True
    with pytest.raises(rg.RulegradError, match="terminal event"):
        rg.diff(lambda: np.sum(rgi.solve_ivp(decay, (0, 1), [1.0], t_eval=[0.5, 1], events=low).y))


def test_odeint_backwards_in_time() -> None:
    """Decreasing time points (integrating backwards) get the right gradients too."""
    t_back = T[::-1] + 0.0
    y0, t = rg.Param(Y0.copy()), rg.Param(t_back.copy())
    J = rg.diff(lambda: np.sum(W * rgi.odeint(forced, y0, t, args=(A, B), **TIGHT)))
    g_y0 = central(lambda v: loss_plain(v, t_back, A, B), Y0)
    np.testing.assert_allclose(rg.grad(J, y0), g_y0, rtol=1e-6, atol=1e-7)
    g_t = central(lambda v: loss_plain(Y0, v, A, B), t_back)
    np.testing.assert_allclose(rg.grad(J, t), g_t, rtol=1e-6, atol=1e-7)


def test_dynamics_may_return_a_list() -> None:
    """A dynamics function returning a list of entries, as scipy allows, is differentiated."""
    a = rg.Param(A.copy())

    def as_list(y: np.ndarray, t: float) -> list:
        return [y[1], -a[0] * y[0] - a[1] * y[1] ** 3 + B * np.sin(2.0 * t)]

    J = rg.diff(lambda: np.sum(W * rgi.odeint(as_list, Y0, T, **TIGHT)))
    g = central(lambda v: loss_plain(Y0, T, v, B), A)
    np.testing.assert_allclose(rg.grad(J, a), g, rtol=1e-6, atol=1e-7)


def test_outside_diff_it_is_scipys_result() -> None:
    """Outside rg.diff, odeint and solve_ivp take Params as their arrays and return scipy's
    plain results."""
    ys = rgi.odeint(forced, rg.Param(Y0), T, args=(rg.Param(A), B), **TIGHT)
    assert type(ys) is np.ndarray
    np.testing.assert_array_equal(ys, scipy_integrate.odeint(forced, Y0, T, (A, B), **TIGHT))
    sol = rgi.solve_ivp(forced_t, (0, 1), rg.Param(Y0), t_eval=[0.5, 1.0], args=(rg.Param(A), B))
    assert type(sol.y) is np.ndarray and sol.y.shape == (2, 2)


@pytest.mark.parametrize("tol", ["atol", "rtol"])
def test_tolerances_per_state_entry(tol: str) -> None:
    """An rtol or atol array (one entry per state entry, as for a stiff system) serves the
    backward solve of the longer augmented state too, in odeint and solve_ivp."""
    tols = {**TIGHT, tol: np.array([1e-10, 1e-11])}
    g = central(lambda v: loss_plain(Y0, T, v, B), A)
    got = rg.grad(lambda a: np.sum(W * rgi.odeint(forced, Y0, T, args=(a, B), **tols)))(A)
    np.testing.assert_allclose(got, g, rtol=1e-6, atol=1e-7)

    def ivp(a: np.ndarray) -> object:
        sol = rgi.solve_ivp(forced_t, (0.0, 2.0), Y0, "DOP853", T[1:], args=(a, B), **tols)
        return np.sum(W[1:] * sol.y.T)

    g = central(lambda v: ivp_plain(Y0, T[1:], 0.0, v), A)
    np.testing.assert_allclose(rg.grad(ivp)(A), g, rtol=1e-6, atol=1e-7)
    y1 = rg.grad(lambda y0: rgi.solve_ivp(lambda t, y: -y, (0, 1), y0, atol=[1e-12]).y[0, -1])
    assert np.isclose(y1(np.array([2.0])), np.exp(-1.0), rtol=1e-3)


def test_solve_ivp_args_as_a_list() -> None:
    """solve_ivp unpacks args= given as a list, as scipy does."""

    def loss(k: object) -> object:
        sol = rgi.solve_ivp(lambda t, y, k, b: -k * y + b, (0, 1), [1.0], args=[k, 0.1], **TIGHT)
        return sol.y[0, -1]

    # y(1) = b/k + (1 - b/k) exp(-k)
    expect = central(lambda k: 0.1 / k + (1 - 0.1 / k) * np.exp(-k), np.array(0.5))
    assert np.isclose(rg.grad(loss)(0.5), expect, rtol=1e-6)


def test_complex_systems_are_refused_not_cut_to_real() -> None:
    """A complex y0, args= entry or Param read is an ArgumentError naming it (the rules
    solve real systems; the imaginary part was dropped with a ComplexWarning); a complex
    solve that nothing tracked reaches is scipy's, inside a diff too."""
    k = rg.Param(0.5)

    def rotate(t: float, y: np.ndarray, c: object = 1.0) -> object:
        return -1j * k * c * y

    def y1(y0: object, args: tuple = ()) -> object:
        return rgi.solve_ivp(rotate, (0, 1), y0, t_eval=[1.0], args=args or None, **TIGHT).y

    with pytest.raises(rg.ArgumentError, match="real systems only, and y0 is complex"):
        rg.diff(lambda: np.real(y1(np.array([1.0 + 0j]))[0, 0]))
    with pytest.raises(rg.ArgumentError, match="an args= entry is complex"):
        rg.diff(lambda: np.real(y1(np.array([1.0]), (k * (1 + 1j),))[0, 0]))
    c = rg.Param(np.array(0.5 + 0.1j))
    with pytest.raises(rg.ArgumentError, match="a Param the dynamics read is complex"):
        rg.diff(lambda: np.sum(rgi.odeint(lambda y, t: -np.real(c) * y, [1.0], [0, 1.0])))
    out = {}

    def loss() -> object:
        out["y"] = rgi.solve_ivp(lambda t, y: -1j * y, (0, 1), [1.0 + 0j], t_eval=[1.0], **TIGHT).y
        return 2.0 * k

    rg.diff(loss)
    assert np.isclose(out["y"][0, 0], np.exp(-1j), rtol=1e-8)


def test_solve_ivp_without_t_eval_ends_at_t_span() -> None:
    """Without t_eval the solver's times are constants, but the first and last are
    t_span's: sol.y[:, -1] = y(t_span[1]) moves with it (by f there), sol.y[:, 0] = y0 moves
    with neither end; in reverse and forward mode."""

    def end(t0: object, t1: object, which: int = -1) -> object:
        return rgi.solve_ivp(forced_t, (t0, t1), Y0, "DOP853", args=(A, B), **TIGHT).y[0, which]

    def plain(t0: float, t1: float) -> float:
        sol = scipy_integrate.solve_ivp(forced_t, (t0, t1), Y0, "DOP853", args=(A, B), **TIGHT)
        return float(sol.y[0, -1])

    expect = [
        central(lambda v: plain(float(v), 1.5), np.array(0.2)),
        central(lambda v: plain(0.2, float(v)), np.array(1.5)),
    ]
    np.testing.assert_allclose(rg.grad(end, (0, 1))(0.2, 1.5), expect, rtol=1e-6, atol=1e-7)
    assert rg.grad(end, (0, 1))(0.2, 1.5, 0) == (0.0, 0.0)
    _, tangent = rg.jvp(end, (0.2, 1.5), (0.3, -0.7))
    assert np.isclose(tangent, 0.3 * expect[0] - 0.7 * expect[1], rtol=1e-6)
    assert rg.jvp(end, (0.2, 1.5, 0), (0.3, -0.7, None))[1] == 0.0


def robertson(t: float, y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Robertson's stiff chemical kinetics, in solve_ivp's argument order."""
    fast = k[1] * y[1] ** 2
    return np.stack(
        [-k[0] * y[0] + k[2] * y[1] * y[2], k[0] * y[0] - fast - k[2] * y[1] * y[2], fast]
    )


def test_stiff_robertson_in_reverse_mode() -> None:
    """Robertson's stiff kinetics: the adjoint, read along a forward solution, gives the
    gradient in the rate constants (the state run backwards blew up: odeint warned and
    returned garbage, solve_ivp failed), as forward mode and central differences do."""
    k, y0, t = np.array([0.04, 3e7, 1e4]), np.array([1.0, 0.0, 0.0]), np.array([0, 1, 10, 40.0])
    w, tols = np.array([0.3, 1e4, -0.2]), {"rtol": 1e-8, "atol": np.array([1e-12, 1e-16, 1e-12])}

    def ivp(k: object) -> object:
        return np.sum(w @ rgi.solve_ivp(robertson, (0, 40), y0, "BDF", t[1:], args=(k,), **tols).y)

    def ode(k: object) -> object:
        return np.sum(w @ rgi.odeint(lambda y, t, k: robertson(t, y, k), y0, t, (k,), **tols).T)

    def plain(k: np.ndarray) -> float:
        ys = scipy_integrate.odeint(lambda y, t: robertson(t, y, k), y0, t, rtol=1e-10, atol=1e-16)
        return float(np.sum(w @ ys.T))

    steps = 1e-4 * k
    expect = [(plain(k + h * e) - plain(k - h * e)) / (2 * h) for h, e in zip(steps, np.eye(3))]
    for f in (ivp, ode):
        np.testing.assert_allclose(rg.grad(f)(k), expect, rtol=2e-4)
    along = np.array([0.0, 1e6, 0.0])
    assert np.isclose(rg.jvp(ode, (k,), (along,))[1], 1e6 * expect[1], rtol=1e-4)


def test_reverse_mode_through_a_decay_is_accurate() -> None:
    """A fast decay feeding a slow state: the gradient in the decay rate matches the closed
    form (with the state integrated backwards, exp(a T) = exp(50) amplified the solver's
    error, and the gradient came out 200 times too large at a = 5, 1e11 at a = 10)."""
    T = 5.0

    def closed(a: float) -> float:  # y0' = -a y0, y1' = -y1 / 2 + y0, y(0) = (1, 1)
        return (1 - 1 / (0.5 - a)) * np.exp(-T / 2) + np.exp(-a * T) / (0.5 - a)

    def dynamics(y: object, t: object, a: object) -> object:
        return np.stack([-a * y[0], -0.5 * y[1] + y[0]])

    y0, tols = np.ones(2), {"rtol": 1e-9, "atol": 1e-12}

    def ode(a: object) -> object:
        return rgi.odeint(dynamics, y0, [0.0, T], args=(a,), **tols)[-1, 1]

    def ivp(a: object) -> object:
        f = lambda t, y, a: dynamics(y, t, a)  # noqa: E731
        return rgi.solve_ivp(f, (0, T), y0, t_eval=[T], args=(a,), **tols).y[1, 0]

    for a in (5.0, 10.0):
        expect = (closed(a + 1e-6) - closed(a - 1e-6)) / 2e-6
        np.testing.assert_allclose([rg.grad(ode)(a), rg.grad(ivp)(a)], [expect] * 2, rtol=1e-5)
