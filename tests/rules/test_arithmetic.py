"""Arithmetic rules: binary ufuncs, clip, where, matmul, ufunc.outer; ties and broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import family_tests

import rulegrad as rg

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
P = rng.uniform(0.5, 2.0, (3, 4))
COL = rng.standard_normal((3, 1))
Q = rng.uniform(1.0, 2.0, (3, 4))
R = Q * (rng.integers(-3, 3, (3, 4)) + rng.uniform(0.1, 0.9, (3, 4)))  # R / Q far from whole

CASES = {
    "add": (np.add, A, B),
    "add_broadcast": (np.add, A, COL),
    "subtract": (np.subtract, A, COL),
    "multiply": (np.multiply, A, B),
    "multiply_scalar": (lambda a, b: a * b[0, 0], A, B),
    "divide": (np.divide, A, P),
    "true_divide_row": (np.true_divide, A, P[0]),
    "operators": (lambda a, b: (a - b) * 2 / (b + 3) + 1 - a, A, P),
    "reflected": (lambda a: 2 - 3 / (1 + a * a) * 4 + 2**a, A),
    "power": (np.power, P, A),
    "power_int": (lambda a: a**3, A),
    "power_half": (lambda a: a**0.5, P),
    "float_power": (np.float_power, P, A),
    "remainder": (np.remainder, R, Q),
    "mod_operator": (lambda a, b: a % b, R, Q),
    "fmod": (np.fmod, R, Q),
    "divmod": (lambda a, b: np.divmod(a, b)[0] + np.divmod(a, b)[1], R, Q),
    "maximum": (np.maximum, A, B),
    "minimum": (np.minimum, A, COL),
    "fmax": (np.fmax, A, B),
    "fmin": (np.fmin, A, B),
    "where": (lambda a, b: np.where(A > 0, a, b), A, B),
    "where_scalar": (lambda a: np.where(A > 0, a, 0.0), A),
    "clip": (lambda a: np.clip(a, -0.5, 0.5), A),
    "clip_bounds": (lambda a, lo, hi: np.clip(a, lo, hi), A, COL - 1, COL + 1),
    "clip_method": (lambda a: a.clip(min=-0.5), A),
    "arctan2": (np.arctan2, A, P),
    "hypot": (np.hypot, A, B),
    "logaddexp": (np.logaddexp, A, B),
    "logaddexp2": (np.logaddexp2, A, B),
    "copysign": (np.copysign, A, B),
    "ldexp": (lambda a: np.ldexp(a, np.array([1, -2, 0, 3])), A),
    "matmul": (np.matmul, A, B.T),
    "matmul_operator": (lambda a, b: a @ b.T @ a, A, B),
    "matmul_batched": (np.matmul, rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))),
    "matmul_broadcast_batch": (
        np.matmul,
        rng.standard_normal((2, 1, 3, 4)),
        rng.standard_normal((3, 4, 2)),
    ),
    "matmul_vec_mat": (np.matmul, A[0], B.T),
    "matmul_mat_vec": (np.matmul, A, B[0]),
    "matmul_vec_vec": (np.matmul, A[0], B[0]),
    "matmul_vec_batch": (np.matmul, A[0], rng.standard_normal((2, 4, 3))),
    "matmul_batch_vec": (np.matmul, rng.standard_normal((2, 3, 4)), B[0]),
    "multiply_outer": (np.multiply.outer, A[0], B[:, 0]),
    "add_outer": (np.add.outer, A, B[0]),
}


test_gradient, test_float32 = family_tests(
    CASES, float32={k: v for k, v in CASES.items() if "ldexp" not in k}
)


@pytest.mark.parametrize("f", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_ties_split_in_half(f) -> None:
    """Equal arguments share the gradient: half each, as HIPS autograd does."""
    ga, gb = rg.grad(lambda a, b: np.sum(f(a, b)), argnums=(0, 1))(np.ones(3), np.ones(3))
    np.testing.assert_array_equal(ga, 0.5)
    np.testing.assert_array_equal(gb, 0.5)


def test_fmax_ignores_nan() -> None:
    """fmax picks the number over a NaN, and so does its gradient."""
    a, b = np.array([np.nan, 1.0]), np.array([2.0, np.nan])
    ga, gb = rg.grad(lambda a, b: np.sum(np.fmax(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ga, [0.0, 1.0])
    np.testing.assert_array_equal(gb, [1.0, 0.0])


def test_broadcast_gradients_have_argument_shapes() -> None:
    """Gradients of broadcast arguments are summed back to their own shapes."""
    ga, gb, gc = rg.grad(lambda a, b, c: np.sum(a * b + c), argnums=(0, 1, 2))(A, COL, 2.0)
    assert ga.shape == A.shape and gb.shape == COL.shape and np.shape(gc) == ()
    np.testing.assert_allclose(gb, A.sum(axis=1, keepdims=True))
    assert float(gc) == A.size


def test_power_zero_exponent_at_zero() -> None:
    """x**0 has gradient 0 even at x = 0 (not 0 * inf)."""
    assert rg.grad(lambda x: np.sum(x**0.0))(np.zeros(2)).tolist() == [0.0, 0.0]
    e = np.array([0.0, 2.0])
    assert rg.grad(lambda x: np.sum(x**e))(np.zeros(2)).tolist() == [0.0, 0.0]


def test_where_condition_has_no_gradient() -> None:
    """where sends the gradient to the branch chosen; zeros elsewhere."""
    g = rg.grad(lambda a: np.sum(np.where(A > 0, a, -a)))(A)
    np.testing.assert_array_equal(g, np.where(A > 0, 1.0, -1.0))


def test_clip_at_bounds_gets_nothing_outside() -> None:
    """Clipped elements get no gradient; those inside get all of it."""
    g = rg.grad(lambda a: np.sum(np.clip(a, -1.0, 1.0)))(np.array([-2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0])


def test_every_differentiable_binary_ufunc_is_covered() -> None:
    """Each two-input float ufunc of numpy has a rule or is declared gradient-free."""
    from rulegrad.core.primitive import PRIMITIVES

    integer = {
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "left_shift",
        "right_shift",
        "gcd",
        "lcm",
        "vecdot",
        "matvec",
        "vecmat",
    }  # fmt: skip  (vecdot & co: linalg.py)
    binary = {f for f in vars(np).values() if isinstance(f, np.ufunc) and f.nin == 2}
    missing = sorted(
        f.__name__ for f in binary if f not in PRIMITIVES and f.__name__ not in integer
    )
    assert not missing, f"binary ufuncs without rules: {missing}"


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.power(x, [1.0, 2.0]),
        lambda x: np.power([1.0, 2.0], x),
        lambda x: np.arctan2((1.0, 2.0), x),
        lambda x: np.maximum(x, [0.5, 0.5]),
    ],
)
def test_a_list_input_of_a_ufunc_is_its_array(f) -> None:  # type: ignore[no-untyped-def]
    """A ufunc reads a list or tuple input as an array; the rules got the list itself
    (np.power(x, [1.0, 2.0]): TypeError "unsupported operand type(s) for -: 'list'")."""
    x = np.array([0.3, 0.7])
    want = f(np.array([0.3, 0.7]))  # (the plain values, to compare the value only)
    assert np.allclose(rg.value(rg.diff(lambda: f(rg.Param(x)))), want)
    assert rg.checkgrad(lambda x: np.sum(f(x)), x) < 1e-6
    _, t = rg.jvp(lambda x: np.sum(f(x)), (x,), (np.ones(2),))
    np.testing.assert_allclose(t, np.sum(rg.grad(lambda x: np.sum(f(x)))(x)))


def test_a_list_holding_a_tracked_value_is_refused_by_a_ufunc() -> None:
    """np.add([w[0], 1.0], w) raises NoRuleError, as np.asarray of such a list does."""
    with pytest.raises(rg.NoRuleError, match="np.stack"):
        rg.grad(lambda w: np.sum(np.add([w[0], 1.0], w)))(np.ones(2))
