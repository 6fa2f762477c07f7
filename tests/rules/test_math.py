"""Elementwise math rules: every unary float ufunc, sinc, modf and frexp."""

from __future__ import annotations

import numpy as np
from ruletools import family_tests

import rulegrad as rg
from rulegrad.core.primitive import PRIMITIVES

rng = np.random.default_rng(1)
REAL = rng.standard_normal((3, 4))
POSITIVE = rng.uniform(0.2, 3.0, (3, 4))
UNIT = rng.uniform(0.05, 0.95, (3, 4))
ABOVE_ONE = 1.1 + POSITIVE
WHOLE_FAR = rng.integers(-3, 3, (3, 4)) + rng.uniform(0.1, 0.9, (3, 4))

# each unary ufunc with a point inside its domain
UNARY = {
    "negative": (np.negative, REAL), "positive": (np.positive, REAL),
    "absolute": (np.absolute, REAL), "abs_operator": (abs, REAL), "fabs": (np.fabs, REAL),
    "square": (np.square, REAL), "sqrt": (np.sqrt, POSITIVE), "cbrt": (np.cbrt, REAL),
    "reciprocal": (np.reciprocal, POSITIVE),
    "exp": (np.exp, REAL), "exp2": (np.exp2, REAL), "expm1": (np.expm1, REAL),
    "log": (np.log, POSITIVE), "log2": (np.log2, POSITIVE), "log10": (np.log10, POSITIVE),
    "log1p": (np.log1p, POSITIVE),
    "sin": (np.sin, REAL), "cos": (np.cos, REAL), "tan": (np.tan, UNIT),
    "arcsin": (np.arcsin, UNIT), "arccos": (np.arccos, UNIT), "arctan": (np.arctan, REAL),
    "sinh": (np.sinh, REAL), "cosh": (np.cosh, REAL), "tanh": (np.tanh, REAL),
    "arcsinh": (np.arcsinh, REAL), "arccosh": (np.arccosh, ABOVE_ONE),
    "arctanh": (np.arctanh, UNIT),
    "deg2rad": (np.deg2rad, REAL), "radians": (np.radians, REAL),
    "rad2deg": (np.rad2deg, REAL), "degrees": (np.degrees, REAL),
    "sinc": (np.sinc, REAL),
    "modf": (lambda x: np.modf(x)[0] - 2 * np.modf(x)[1], WHOLE_FAR),
    "frexp": (lambda x: np.frexp(x)[0], REAL),
    "composed": (lambda x: np.log(np.cosh(x)) * np.exp(-x * x) + np.sqrt(1 + x**2), REAL),
}  # fmt: skip


test_gradient, test_float32 = family_tests(UNARY)  # constants such as log 2 are floats


def test_every_differentiable_unary_ufunc_is_covered() -> None:
    """Each one-input float ufunc of numpy has a rule or is declared gradient-free."""
    unary = {f for f in vars(np).values() if isinstance(f, np.ufunc) and f.nin == 1}
    nondiff = {
        np.isnan,
        np.isinf,
        np.isfinite,
        np.isnat,
        np.signbit,
        np.logical_not,
        np.invert,
        np.bitwise_count,
    }  # fmt: skip  (booleans and integers)
    missing = sorted(f.__name__ for f in unary - nondiff if f not in PRIMITIVES)
    assert not missing, f"unary ufuncs without rules: {missing}"


def test_abs_at_zero_is_zero() -> None:
    """|x| has a kink at 0; its gradient there is taken as 0 (as autograd and torch)."""
    assert rg.grad(lambda x: np.sum(np.abs(x)))(np.array([0.0, -2.0, 3.0])).tolist() == [0, -1, 1]


def test_sinc_at_zero() -> None:
    """sinc'(0) = 0, not 0/0."""
    assert rg.grad(lambda x: np.sum(np.sinc(x)))(np.zeros(2)).tolist() == [0.0, 0.0]


def test_modf_integer_part_has_no_gradient() -> None:
    """The fractional part of modf passes the gradient; the integer part stops it."""
    g = rg.grad(lambda x: np.sum(np.modf(x)[1]))(WHOLE_FAR)
    np.testing.assert_array_equal(g, 0.0)
