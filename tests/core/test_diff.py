"""diff, grad (both forms), gradloss, vjp, params: the public reverse-mode API."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import rulegrad as rg


def test_grad_of_unused_param_is_none() -> None:
    """A Param the function never touched has no gradient."""
    a, b = rg.Param(np.ones(2)), rg.Param(np.ones(2))
    J = rg.diff(lambda: np.sum(a * 3))
    assert rg.grad(J, b) is None
    np.testing.assert_array_equal(rg.grad(J, a), [3.0, 3.0])


def test_diff_of_constant_function() -> None:
    """A function that touches no Param still returns a Result with no gradients."""
    p = rg.Param(1.0)
    J = rg.diff(lambda: 5.0)
    assert rg.value(J) == 5.0
    assert rg.grad(J, p) is None


def test_diff_passes_arguments() -> None:
    """diff(f, *args, **kw) calls f with them."""
    w = rg.Param(np.array([2.0]))
    J = rg.diff(lambda x, scale=1.0: np.sum(w * x) * scale, np.array([3.0]), scale=2.0)
    assert rg.value(J) == 12.0
    np.testing.assert_array_equal(rg.grad(J, w), [6.0])


def test_gradient_accumulates_over_uses() -> None:
    """A value used several times gets the sum of its gradients."""
    x = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: np.sum(x * x + x + np.sin(x)))
    np.testing.assert_allclose(rg.grad(J, x), 2 * x.value + 1 + np.cos(x.value))


def test_gradients_summed_in_place_stay_correct() -> None:
    """A value used many times has its gradient summed into one array the walk owns; the
    gradients rules hand on unchanged (x + y gives dy to both) and the caller's output
    gradient are never written through, so every gradient stays right."""
    rng = np.random.default_rng(0)
    w = rg.Param(rng.standard_normal(3))
    v = rg.Param(rng.standard_normal(3))

    def f() -> object:
        total = 0.0
        h = v
        for _ in range(4):  # w at every step; add's rule hands h's gradient on unchanged
            h = h + w + w
            total = total + np.sum(h * h)
        return total + np.sum(w + v)

    J = rg.diff(f)
    hs = [v.value + 2 * k * w.value for k in range(1, 5)]  # h_k = v + 2k w
    want_w = sum(4 * k * h for k, h in zip(range(1, 5), hs)) + 1
    np.testing.assert_allclose(rg.grad(J, w), want_w)
    np.testing.assert_allclose(rg.grad(J, v), sum(2 * h for h in hs) + 1)
    dy = np.array([1.0, 2.0, 3.0])
    _, pullback = rg.vjp(lambda a: a + a + a + a, np.arange(3.0))
    (first,) = pullback(dy)
    (again,) = pullback(dy)  # a second walk over the same tape
    np.testing.assert_array_equal(first, [4.0, 8.0, 12.0])
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(dy, [1.0, 2.0, 3.0])  # the caller's dy is untouched
    x = rng.standard_normal(4)
    assert rg.checkgrad(lambda a: np.sum((a + a) * (a + a) + a * 2.0), x) < 1e-6


def test_broadcast_gradients_are_reduced() -> None:
    """Gradients of broadcast arguments come back with the argument's shape."""
    w = rg.Param(np.ones((3, 1)))
    b = rg.Param(np.ones(4))
    s = rg.Param(2.0)
    J = rg.diff(lambda: np.sum((w * np.ones((2, 3, 4)) + b) * s))
    assert rg.grad(J, w).shape == (3, 1)
    np.testing.assert_array_equal(rg.grad(J, w), np.full((3, 1), 16.0))
    np.testing.assert_array_equal(rg.grad(J, b), np.full(4, 12.0))
    assert rg.grad(J, s) == pytest.approx(48.0)


def test_python_and_numpy_scalars_as_inputs() -> None:
    """Python floats, ints and numpy scalars work where arrays do."""
    assert rg.grad(lambda x: x**3)(2.0) == pytest.approx(12.0)
    assert rg.grad(lambda x: x**3)(2) == pytest.approx(12.0)
    g = rg.grad(lambda x: x * x)(np.float32(3.0))
    assert g == pytest.approx(6.0) and g.dtype == np.float32


def test_structured_arguments_keep_their_structure() -> None:
    """Gradients of list, tuple and dict arguments come back in the same structure."""

    def loss(w: dict) -> object:
        return np.sum(w["layers"][0] * w["layers"][1][0]) + w["bias"] ** 2

    w = {"layers": [np.ones(2), (np.array([1.0, 2.0]),)], "bias": 3.0}
    g = rg.grad(loss)(w)
    assert set(g) == {"layers", "bias"}
    np.testing.assert_array_equal(g["layers"][0], [1.0, 2.0])
    assert isinstance(g["layers"][1], tuple)
    np.testing.assert_array_equal(g["layers"][1][0], [1.0, 1.0])
    assert g["bias"] == 6.0


def test_argnums_tuple_gives_tuple_of_gradients() -> None:
    """grad(f, argnums=(0, 1)) returns one gradient per chosen argument."""
    da, db = rg.grad(lambda a, b, c: np.sum(a * b * c), argnums=(0, 1))(2.0, 3.0, 4.0)
    assert (da, db) == (12.0, 8.0)


def test_gradloss_returns_gradient_and_loss() -> None:
    """gradloss gives Knet's (gradient, loss) pair."""
    g, loss = rg.gradloss(lambda x: np.sum(x**2))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert loss == 5.0


def test_vjp_of_vector_function() -> None:
    """vjp pulls back an output gradient of a non-scalar function."""
    x = np.array([1.0, 2.0, 3.0])
    out, back = rg.vjp(np.exp, x)
    np.testing.assert_allclose(out, np.exp(x))
    (dx,) = back(np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(dx, [np.e, 0.0, 2 * np.exp(3.0)])
    with pytest.raises(ValueError, match="takes 1 output gradient"):
        back(np.ones(3), np.ones(3))


def test_params_finds_nested_params_once() -> None:
    """params walks objects, lists, tuples and dicts and lists each Param once."""
    p, q = rg.Param(1.0), rg.Param(np.ones(2))

    class Model:
        def __init__(self) -> None:
            self.layers = [{"w": p}, (q, p)]
            self.name = "m"

    assert rg.params(Model()) == [p, q]
    J = rg.diff(lambda: p * 2.0)
    assert rg.params(J) == [p]


def test_float32_in_float32_gradient_out() -> None:
    """A float32 Param gets a float32 gradient through a small network."""
    rng = np.random.default_rng(0)
    w = rg.Param(rng.standard_normal((4, 3)).astype(np.float32))
    b = rg.Param(np.zeros(4, np.float32))
    x = rng.standard_normal((3, 5)).astype(np.float32)
    J = rg.diff(lambda: np.mean(np.tanh(w @ x + b[:, None]) ** 2 / 2.0))
    assert rg.value(J).dtype == np.float32
    assert rg.grad(J, w).dtype == np.float32
    assert rg.grad(J, b).dtype == np.float32


def test_hessian_vector_product_through_nested_diff() -> None:
    """grad of (grad . v) gives the Hessian-vector product, with Params."""
    w = rg.Param(np.array([0.5, -1.0, 2.0]))
    v = np.array([1.0, 2.0, -1.0])

    def f() -> object:
        return np.sum(w**3) + np.sum(w) ** 2

    J = rg.diff(lambda: np.sum(rg.grad(rg.diff(f), w) * v))
    hessian = np.diag(6 * w.value) + 2 * np.ones((3, 3))
    np.testing.assert_allclose(rg.grad(J, w), hessian @ v)


def test_third_derivative_of_polynomial() -> None:
    """d^3/dx^3 x^4 = 24 x through three nested gradient functions."""
    g3 = rg.grad(rg.grad(rg.grad(lambda x: x**4)))
    assert g3(1.5) == pytest.approx(36.0)


def test_concurrent_diffs_in_threads_do_not_mix() -> None:
    """Each thread records on its own tape."""
    results: dict[int, object] = {}

    def work(k: int) -> None:
        x = rg.Param(np.full(3, float(k)))
        for _ in range(50):
            J = rg.diff(lambda: np.sum(x * x * k))
        results[k] = rg.grad(J, x)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(1, 5):
        np.testing.assert_array_equal(results[k], np.full(3, 2.0 * k * k))


def test_update_param_in_place_after_grad() -> None:
    """AutoGrad.jl's idiom: update p.value in place while the Result is alive."""
    w = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: np.sum(w * w))
    g = rg.grad(J, w)
    w.value -= 0.5 * g
    np.testing.assert_array_equal(w.value, [0.0, 0.0])
    assert rg.value(J) == 5.0


def test_hessian_vector_product_with_many_contributions() -> None:
    """A value with four gradient contributions, some recorded by the outer tape and some
    constant to it, sums them (it raised InPlaceError): checked against central
    differences of the gradient."""

    def f(x):
        return np.sum(np.sin(x)) + np.sum(x) + np.sum(x * x) + np.sum(x) + np.sum(x)

    x0, v = np.array([0.5, -0.3, 1.2]), np.array([1.0, 2.0, -1.0])
    hvp = rg.grad(lambda x: np.sum(rg.grad(f)(x) * v))(x0)
    eps = 1e-6
    numeric = (rg.grad(f)(x0 + eps * v) - rg.grad(f)(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp, numeric, rtol=1e-6)
    np.testing.assert_allclose(hvp, (2 - np.sin(x0)) * v)
