"""The derivative toolbox (rulegrad/toolbox.py) and the reference cases in forward mode."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


def rosenbrock(x):
    """The Rosenbrock function in any number of dimensions."""
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    """Its gradient, by hand."""
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x):
    """Its Hessian, by hand: tridiagonal."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
        h[i + 1, i + 1] += 200
    return h


def f2(x, y):
    """AutoDiffSource's two-output example: a product and a scaled sum."""
    return x * y, np.sin(x) + 2 * y


def wide(x):
    """A map from 3 inputs to 1000 outputs."""
    k = np.linspace(0.0, 1.0, 1000)
    return np.sin(k * x[0]) * x[1] + k**2 * x[2] ** 2


def test_autograd_readme_example_in_forward_mode():
    """sum(abs2(x)) at [1,2,3]: value 14, forward-mode gradient [2,4,6] (AutoGrad.jl)."""
    x = np.array([1.0, 2.0, 3.0])
    out, t = rg.jvp(lambda x: np.sum(np.abs(x) ** 2), (x,), (np.array([0.0, 1.0, 0.0]),))
    assert out == 14 and t == 4
    np.testing.assert_array_equal(rg.jacobian(lambda x: np.sum(x**2), mode="fwd")(x), [2, 4, 6])


def test_rosenbrock_gradient_in_forward_mode():
    """The forward-mode Jacobian of Rosenbrock is its hand-written gradient."""
    x = np.random.default_rng(1).uniform(-1, 1, 6)
    np.testing.assert_allclose(rg.jacobian(rosenbrock, mode="fwd")(x), rosenbrock_grad(x))


def test_rosenbrock_hessian_against_the_closed_form():
    """hessian (forward over reverse) of Rosenbrock is the hand-written tridiagonal matrix."""
    x = np.random.default_rng(2).uniform(-1, 1, 5)
    np.testing.assert_allclose(rg.hessian(rosenbrock)(x), rosenbrock_hessian(x), rtol=1e-12)
    v = np.arange(5.0)
    np.testing.assert_allclose(rg.hvp(rosenbrock, x, v), rosenbrock_hessian(x) @ v, rtol=1e-12)


def test_two_output_f2_in_forward_mode():
    """jvp of f2 gives both output tangents: y dx + x dy and cos(x) dx + 2 dy."""
    x, y = np.array([0.5, 1.0]), np.array([2.0, -1.0])
    dx, dy = np.array([1.0, 0.5]), np.array([-1.0, 2.0])
    (p, s), (tp, ts) = rg.jvp(f2, (x, y), (dx, dy))
    np.testing.assert_allclose(p, x * y)
    np.testing.assert_allclose(tp, y * dx + x * dy)
    np.testing.assert_allclose(ts, np.cos(x) * dx + 2 * dy)


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_jacobian_of_3_inputs_1000_outputs_both_modes(mode):
    """jacobian of a 3 -> 1000 map is the same in every mode, and right."""
    x = np.array([0.3, -1.2, 0.7])
    k = np.linspace(0.0, 1.0, 1000)
    exact = np.stack([k * np.cos(k * x[0]) * x[1], np.sin(k * x[0]), 2 * k**2 * x[2]], axis=1)
    np.testing.assert_allclose(rg.jacobian(wide, mode=mode)(x), exact, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_jacobian_of_the_reverse_shape_and_argnums(mode):
    """A 1000 -> 3 map, and a tuple of argnums, give out.shape + x.shape Jacobians."""
    x = np.linspace(-1.0, 1.0, 1000)
    J = rg.jacobian(lambda x, w: np.array([1.0, 2.0, 3.0]) * np.sum(w * x**2), (0, 1), mode)
    jx, jw = J(x, 0.5)
    np.testing.assert_allclose(jx, np.outer([1.0, 2.0, 3.0], x))
    np.testing.assert_allclose(jw, [np.sum(x**2) * k for k in (1.0, 2.0, 3.0)])
    assert jw.shape == (3,)


def test_jacobian_mode_is_checked():
    """An unknown mode is an ArgumentError naming the modes."""
    with pytest.raises(rg.ArgumentError, match="fwd"):
        rg.jacobian(np.sin, mode="forward")


def test_elementwise_grad():
    """elementwise_grad(f)(x) is each output's derivative by its own input."""
    x = np.linspace(-2.0, 2.0, 7)
    np.testing.assert_allclose(rg.elementwise_grad(np.tanh)(x), 1 - np.tanh(x) ** 2)
    g = rg.elementwise_grad(lambda a, x: a * x**3, argnums=1)(2.0, x)
    np.testing.assert_allclose(g, 6 * x**2)


def test_elementwise_grad_takes_negative_and_tuple_argnums():
    """argnums=-1 is the last argument and a tuple gives a tuple, as for grad; one out of
    range is an ArgumentError (it called f with the arguments shuffled or crashed)."""
    x = np.array([1.0, 2.0, 3.0])
    f = lambda a, x: a * x**2  # noqa: E731
    np.testing.assert_allclose(rg.elementwise_grad(f, -1)(2.0, x), 4 * x)
    da, dx = rg.elementwise_grad(f, (0, -1))(2.0, x)
    assert da == np.sum(x**2)
    np.testing.assert_allclose(dx, 4 * x)
    for bad in (2, -3):
        with pytest.raises(rg.ArgumentError, match="out of range"):
            rg.elementwise_grad(f, bad)(2.0, x)
    with pytest.raises(rg.ArgumentError, match="out of range"):
        rg.jacobian(f, -3)(2.0, x)
    np.testing.assert_allclose(rg.jacobian(f, np.int64(1))(2.0, x), np.diag(4 * x))


def test_elementwise_grad_refuses_outputs_grad_refuses():
    """A complex, bool or tuple output is an OutputError, as in grad (a complex one gave
    zeros for x * 1j, and a comparison zeros, silently)."""
    x = np.array([1.0, 2.0])
    for f in (lambda x: x * 1j, lambda x: x > 1, lambda x: (x, x**2)):
        with pytest.raises(rg.OutputError, match="real float array"):
            rg.elementwise_grad(f)(x)
    np.testing.assert_allclose(rg.elementwise_grad(lambda x: np.abs(x * 1j))(x), [1.0, 1.0])


def test_value_and_grad_in_jax_order_with_argnums_and_aux():
    """value_and_grad returns (value, grad) and ((value, aux), grad) with has_aux."""
    f = lambda w, x: np.sum(w * x) ** 2  # noqa: E731
    v, g = rg.value_and_grad(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert v == 121.0
    np.testing.assert_allclose(g[0], [66.0, 88.0])
    np.testing.assert_allclose(g[1], [22.0, 44.0])
    (v, aux), g = rg.value_and_grad(lambda x: (x**2, {"x3": x**3}), has_aux=True)(2.0)
    assert (v, aux["x3"], g) == (4.0, 8.0, 4.0)


def test_hvp_takes_structures():
    """hvp works on a dict of arrays, as grad does."""
    f = lambda p: np.sum(p["a"] ** 2 * p["b"])  # noqa: E731
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    v = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    hv = rg.hvp(f, p, v)
    np.testing.assert_allclose(hv["a"], [2 * 3.0 * 1.0, 2 * 2.0 * 1.0])  # 2 b va + 2 a vb
    np.testing.assert_allclose(hv["b"], [2 * 1.0 * 1.0, 0.0])  # 2 a va


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jacobian_of_structures_in_and_out(mode):
    """A dict argument and a tuple output give, per output array, a dict of blocks."""

    def f(p):
        return p["w"] @ p["x"], np.sum(p["x"] ** 2)

    w, x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([0.5, -1.0])
    (jy, js) = rg.jacobian(f, mode=mode)({"w": w, "x": x})
    np.testing.assert_allclose(jy["x"], w)
    assert jy["w"].shape == (3, 3, 2)
    np.testing.assert_allclose(jy["w"][1], [[0.0, 0.0], [0.5, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(js["x"], 2 * x)
    np.testing.assert_allclose(js["w"], np.zeros((3, 2)))


def test_jacobian_rev_refuses_a_dict_output_and_fwd_takes_it():
    """mode='rev' says to use 'fwd' for a dict output; 'fwd' gives it in that structure."""
    f = lambda x: {"double": 2 * x, "square": x**2}  # noqa: E731
    with pytest.raises(rg.ArgumentError, match="mode='fwd'"):
        rg.jacobian(f, mode="rev")(np.ones(2))
    J = rg.jacobian(f, mode="fwd")(np.array([1.0, 3.0]))
    np.testing.assert_allclose(J["square"], np.diag([2.0, 6.0]))


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jacobian_nests_in_itself_and_in_diff(mode):
    """A Jacobian of a Jacobian (third-order tensor) and a Jacobian inside diff are
    tracked by the outer tapes: its columns are stacked as tracked values."""
    g = lambda x: np.stack([x[0] ** 3 * x[1], 2 * x[1]])  # noqa: E731
    x = np.array([1.0, 2.0])
    for outer in ("fwd", "rev"):
        H = rg.jacobian(rg.jacobian(g, mode=mode), mode=outer)(x)
        np.testing.assert_allclose(H[0], [[6 * x[0] * x[1], 3 * x[0] ** 2], [3 * x[0] ** 2, 0]])
        np.testing.assert_allclose(H[1], np.zeros((2, 2)))
    w = rg.Param(np.array([0.5, -1.0, 2.0]))
    J = rg.diff(lambda: np.sum(rg.jacobian(lambda x: w * x[0] ** 2 + x[1], mode=mode)(x)))
    assert rg.value(J) == 6.0
    np.testing.assert_allclose(rg.grad(J, w), [2.0, 2.0, 2.0])  # d/dw sum(2 w x0 + 1)
    J = rg.diff(lambda: np.sum(rg.hessian(lambda x: np.sum(w * x**3))(np.ones(3))))
    np.testing.assert_allclose(rg.grad(J, w), [6.0, 6.0, 6.0])


def test_jacobian_auto_takes_forward_mode_for_structures_rev_refuses():
    """mode='auto' on a dict or nested output with fewer outputs than inputs (where it
    would pick 'rev', which refuses them) takes 'fwd' instead of raising."""
    x = np.array([1.0, 2.0, 3.0])
    J = rg.jacobian(lambda x: {"s": np.sum(x**2)})(x)
    np.testing.assert_allclose(J["s"], 2 * x)
    J = rg.jacobian(lambda x: (np.sum(x), [np.prod(x)]))(x)
    np.testing.assert_allclose(J[1][0], [6.0, 3.0, 2.0])


def test_hessian_of_a_function_of_a_dict():
    """hessian takes structures: blocks H[a][b] of d2f / da db."""
    f = lambda p: np.sum(p["a"] ** 2 * p["b"])  # noqa: E731
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    H = rg.hessian(f)(p)
    np.testing.assert_allclose(H["a"]["a"], np.diag(2 * p["b"]))
    np.testing.assert_allclose(H["a"]["b"], np.diag(2 * p["a"]))
    np.testing.assert_allclose(H["b"]["b"], np.zeros((2, 2)))


def test_linearize_matches_jvp_and_central_differences():
    """linearize gives f's outputs and, per call, the jvp's output tangents (several
    outputs, structured arguments), agreeing with central differences."""

    def f(p, y):
        return p["a"] * y, np.sin(p["a"]) + 2 * np.exp(y) * p["b"]

    p, y = {"a": np.array([0.5, 1.0]), "b": np.array(0.3)}, np.array([2.0, -1.0])
    out, f_jvp = rg.linearize(f, p, y)
    np.testing.assert_allclose(out[1], f(p, y)[1])
    rng = np.random.default_rng(0)
    for _ in range(3):
        tp = {"a": rng.normal(size=2), "b": np.array(rng.normal())}
        ty = rng.normal(size=2)
        got = f_jvp(tp, ty)
        want = rg.jvp(f, (p, y), (tp, ty))[1]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12)
        h = 1e-6
        up = f({k: p[k] + h * tp[k] for k in p}, y + h * ty)
        down = f({k: p[k] - h * tp[k] for k in p}, y - h * ty)
        numeric = [(u - d) / (2 * h) for u, d in zip(up, down)]
        for g, n in zip(got, numeric):
            np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)


def test_linearize_runs_the_function_once():
    """f runs at linearize only: each f_jvp call pushes tangents through the recorded calls."""
    calls = []

    def f(x):
        calls.append(1)
        return np.tanh(x) * x

    x = np.array([0.1, 0.7])
    _, f_jvp = rg.linearize(f, x)
    a, b = f_jvp(np.array([1.0, 0.0])), f_jvp(np.array([0.0, 1.0]))
    assert len(calls) == 1
    d = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(a + b, d)


def test_linearize_of_a_method_with_a_derived_jvp(scratch_registry):
    """A primitive without forward rules gets its derived jvp through linearize too."""

    @rg.primitive(lambda dy, y, x: dy * 3 * x**2)
    def scratch_cube(x):
        return x**3

    _, f_jvp = rg.linearize(lambda x: scratch_cube(x) + x, 2.0)
    assert f_jvp(1.0) == 13.0 and f_jvp(2.0) == 26.0


def test_linearize_refuses_tangents_that_do_not_fit():
    """Wrong counts, structures and shapes of tangents raise jvp's ArgumentErrors."""
    _, f_jvp = rg.linearize(lambda a, b: a["x"] * b, {"x": np.ones(2)}, np.ones(2))
    with pytest.raises(rg.ArgumentError, match="one tangent per argument"):
        f_jvp({"x": np.ones(2)})
    with pytest.raises(rg.ArgumentError, match="structure"):
        f_jvp({"y": np.ones(2)}, np.ones(2))
    with pytest.raises(rg.ArgumentError, match="shape"):
        f_jvp({"x": np.ones(3)}, np.ones(2))
    with pytest.raises(rg.ArgumentError, match="a function first"):
        rg.linearize(np.ones(2), np.ones(2))


def test_linearize_keeps_float32_and_zero_tangents():
    """float32 tangents stay float32; None is a zero tangent; outputs that do not depend
    on the inputs get zeros."""
    x = np.ones(3, np.float32)
    _, f_jvp = rg.linearize(lambda x, y: (np.sin(x) * y, np.ones(2)), x, np.float32(2.0))
    t, zero = f_jvp(np.ones(3), None)
    assert t.dtype == np.float32
    np.testing.assert_allclose(t, 2 * np.cos(1.0), rtol=1e-6)
    np.testing.assert_array_equal(zero, np.zeros(2))


def test_linearize_is_transposed_by_reverse_mode():
    """Reverse mode through f_jvp (in the tangent) gives the vjp: <u, J t> = <J^T u, t>."""
    a = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    x = np.array([0.3, -0.2])
    f = lambda x: np.tanh(a @ x)  # noqa: E731
    _, f_jvp = rg.linearize(f, x)
    u = np.array([1.0, -2.0, 0.5])
    got = rg.grad(lambda t: np.sum(u * f_jvp(t)))(np.zeros(2))
    np.testing.assert_allclose(got, rg.vjp(f, x)[1](u)[0])


def test_linearize_keeps_the_primal_read_only_while_f_jvp_lives():
    """Writing into a primal that f_jvp still reads raises, rather than silently changing
    J t; dropping f_jvp gives the array back."""
    x = np.array([0.5, 1.0])
    _, f_jvp = rg.linearize(np.sin, x)
    with pytest.raises(ValueError, match="read-only"):
        x[0] = 2.0
    del f_jvp
    x[0] = 2.0
