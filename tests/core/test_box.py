"""Boxes and Params behave like the arrays they hold."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


def test_param_acts_like_its_array_outside_diff() -> None:
    """Outside diff, operations on a Param give plain arrays."""
    p = rg.Param(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert type(p * 2) is np.ndarray
    np.testing.assert_array_equal(np.tanh(p), np.tanh(p.value))
    np.testing.assert_array_equal(p.T, p.value.T)
    np.testing.assert_array_equal(np.asarray(p), p.value)
    assert p.shape == (2, 2) and p.dtype == np.float64 and p.ndim == 2 and p.size == 4
    assert len(p) == 2
    p[0, 0] = 7.0
    assert p.value[0, 0] == 7.0


def test_box_array_protocol() -> None:
    """Inside diff, shape queries, len, iteration, float() and indexing work on boxes."""
    x = rg.Param(np.arange(6.0).reshape(2, 3))
    seen = {}

    def f() -> object:
        h = x * 1.0
        seen["shape"], seen["len"], seen["T"] = h.shape, len(h), h.T.shape
        rows = list(h)
        with pytest.warns(rg.ConstantWarning, match="no gradient flows"):
            seen["float"] = float(h[1, 2])  # works, and warns that the gradient stops there
        seen["bool"] = bool(h[0, 1] > 0)
        return np.sum(rows[1]) + h[0, ::2].sum() + h.reshape(-1)[1] + h[..., None][0, 0, 0]

    J = rg.diff(f)
    assert seen == {"shape": (2, 3), "len": 2, "T": (3, 2), "float": 5.0, "bool": True}
    np.testing.assert_array_equal(rg.grad(J, x), [[2.0, 1.0, 1.0], [1.0, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (lambda a, b: a + b, (1.0, 1.0)),
        (lambda a, b: a - b, (1.0, -1.0)),
        (lambda a, b: a * b, (3.0, 2.0)),
        (lambda a, b: a / b, (1 / 3, -2 / 9)),
        (lambda a, b: a**b, (3 * 2.0**2, 8 * np.log(2.0))),
        (lambda a, b: -a + (+b), (-1.0, 1.0)),
        (lambda a, b: 2.0 * a + 1.0 - b / 1.0, (2.0, -1.0)),
        (lambda a, b: abs(a - b), (-1.0, 1.0)),
    ],
    ids=["add", "sub", "mul", "div", "pow", "neg-pos", "reflected", "abs"],
)
def test_python_operators(f: object, expected: tuple[float, float]) -> None:
    """Python operators (and their reflected forms) are recorded."""
    g = rg.grad(f, argnums=(0, 1))(2.0, 3.0)
    np.testing.assert_allclose(g, expected)


def test_matmul_operator_and_ndarray_on_the_left() -> None:
    """ndarray @ box and box @ ndarray both reach the matmul rule."""
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = rg.grad(lambda x: np.sum(A @ x @ A))(np.eye(2))
    np.testing.assert_allclose(g, A.T @ np.ones((2, 2)) @ A.T)


def test_repr_and_value() -> None:
    """repr shows the value; value() unwraps every level."""
    p = rg.Param(np.array([1.0]))
    assert repr(p) == "Param(array([1.]))"
    J = rg.diff(lambda: p * 2)
    assert repr(J).startswith("Result(array([2.])")
    assert rg.value(J).tolist() == [2.0]
    assert rg.value(5) == 5


def test_params_hash_by_identity() -> None:
    """Params are hashable by identity so they can key dicts (optimizer state)."""
    a, b = rg.Param(np.ones(2)), rg.Param(np.ones(2))
    state = {a: 1, b: 2}
    assert state[a] == 1 and state[b] == 2
