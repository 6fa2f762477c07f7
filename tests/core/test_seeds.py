"""The examples the project was seeded with (AutoGrad.jl's README, Knet, AutoDiffSource)."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


def test_autograd_readme_example() -> None:
    """x = Param([1,2,3]); y = diff(sum(abs2(x))) gives 14 and gradient [2,4,6]."""
    x = rg.Param([1, 2, 3])
    y = rg.diff(lambda: np.sum(np.abs(x) ** 2))
    assert rg.value(y) == 14
    np.testing.assert_array_equal(rg.grad(y, x), [2.0, 4.0, 6.0])


class Linear:
    """AutoGrad.jl's callable model: a weight and a bias, the loss as a method."""

    def __init__(self, i: int, o: int, rng: np.random.Generator) -> None:
        self.w = rg.Param(rng.standard_normal((o, i)) * 0.1)
        self.b = rg.Param(np.zeros((o, 1)))

    def __call__(self, x: np.ndarray) -> object:
        return self.w @ x + self.b

    def loss(self, x: np.ndarray, y: np.ndarray) -> object:
        return np.mean((self(x) - y) ** 2)


def test_linear_model_trained_by_sgd_over_params() -> None:
    """SGD over params(model), updating p.value in place, fits a linear map."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((13, 200))
    true_w = rng.standard_normal((1, 13))
    y = true_w @ x + 0.5
    model = Linear(13, 1, rng)
    first = None
    for _ in range(200):
        J = rg.diff(model.loss, x, y)
        first = first if first is not None else rg.value(J)
        for p in rg.params(model):
            p.value -= 0.1 * rg.grad(J, p)
    assert rg.value(J) < 1e-3 * first
    np.testing.assert_allclose(model.w.value, true_w, atol=0.05)


def f2(x: object, y: object) -> tuple[object, object]:
    """AutoDiffSource's two-output example: a product and a scaled sum."""
    return x * y, np.sin(x) + 2 * y


def test_multiple_return_values_through_vjp() -> None:
    """vjp of a two-output function takes one output gradient per output."""
    x, y = np.array([0.5, 1.0]), np.array([2.0, -1.0])
    (p, s), back = rg.vjp(f2, x, y)
    np.testing.assert_allclose(p, x * y)
    np.testing.assert_allclose(s, np.sin(x) + 2 * y)
    dx, dy = back(np.ones(2), np.ones(2))
    np.testing.assert_allclose(dx, y + np.cos(x))
    np.testing.assert_allclose(dy, x + 2)
    dx, dy = back(np.ones(2), None)  # the pullback can be called again
    np.testing.assert_allclose(dx, y)


def rosenbrock(x: object) -> object:
    """The Rosenbrock function in any number of dimensions."""
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_checkgrad_rosenbrock_first_and_second_order() -> None:
    """checkgrad passes on Rosenbrock, to second order."""
    x = np.random.default_rng(1).uniform(-1, 1, 6)
    assert rg.checkgrad(rosenbrock, x, order=2) < 1e-5


def sigm(x: object) -> object:
    return 1 / (1 + np.exp(-x))


def autoencoder_error(w: list, x: np.ndarray) -> object:
    """The seeds' three-layer sigmoid autoencoder: encode, encode, decode, squared error."""
    h = x
    for i in range(0, len(w), 2):
        h = sigm(w[i] @ h + w[i + 1])
    return np.sum((h - x) ** 2) / x.shape[1]


def test_checkgrad_sigmoid_autoencoder() -> None:
    """checkgrad passes on the autoencoder error with respect to a list of weights."""
    rng = np.random.default_rng(2)
    sizes = [6, 4, 3, 6]
    w = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        w += [rng.standard_normal((o, i)) * 0.5, np.zeros((o, 1))]
    x = rng.uniform(0, 1, (6, 5))
    assert rg.checkgrad(lambda w: autoencoder_error(w, x), w) < 1e-5
    grads = rg.grad(autoencoder_error)(w, x)
    assert [g.shape for g in grads] == [a.shape for a in w]


def test_grad_of_grad_of_sin_is_minus_sin() -> None:
    """The second derivative of sin is -sin, the third -cos."""
    for x in (0.3, -1.2, 2.5):
        assert rg.grad(rg.grad(np.sin))(x) == pytest.approx(-np.sin(x))
        assert rg.grad(rg.grad(rg.grad(np.sin)))(x) == pytest.approx(-np.cos(x))


def collatz_poly(x: object, n: int) -> object:
    """A loop, a data-dependent if and recursion in one function."""
    if n == 0:
        return x
    acc = x
    for _ in range(2):
        acc = acc * x if np.sum(acc) > 0 else acc - x
    return collatz_poly(np.tanh(acc), n - 1)


def test_loops_conditionals_and_recursion() -> None:
    """Control flow is plain Python: the tape holds what ran."""
    for x in (np.array([0.3, 0.7]), np.array([-0.9, 0.2])):
        assert rg.checkgrad(lambda x: collatz_poly(x, 3), x, order=2) < 1e-4


def test_wrong_rule_fails_checkgrad(scratch_registry: None) -> None:
    """A rule off by 1% is caught by checkgrad, with both values in the message."""

    @rg.primitive(lambda dy, y, x: dy * 1.01 * np.cos(x))
    def badsin(x):
        return np.sin(x)

    with pytest.raises(rg.GradCheckError, match="analytic .* numeric"):
        rg.checkgrad(badsin, np.array([0.1, 0.5, 1.0]))
