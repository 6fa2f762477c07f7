"""numpy functions beyond the rule families: np.gradient, np.select, np.real_if_close,
np.piecewise (rules/shape.py), complex np.std, and Python lists of tracked values given
to reductions (rules/reductions.py says what numpy's protocols allow)."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import check_complex, family_tests

import rulegrad as rg

rng = np.random.default_rng(11)
F = rng.standard_normal((5, 4))
V = rng.standard_normal(7)
X = np.cumsum(rng.uniform(0.5, 1.5, 5))  # uneven coordinates along axis 0
Y = np.cumsum(rng.uniform(0.5, 1.5, 4))


def stacked(out):
    """np.gradient's tuple (one array per axis) as one array."""
    return np.stack(out) if isinstance(out, tuple) else out


def pieces(v):
    """A piecewise function with callables, a constant and an "otherwise" function."""
    return np.piecewise(v, [v < -0.5, v > 0.5, v > 1.5], [lambda t: t**2, np.sin, 2.0, np.exp])


CASES = {
    "gradient": (lambda f: stacked(np.gradient(f)), F),
    "gradient_vector": (np.gradient, V),
    "gradient_spacing": (lambda f: np.gradient(f, 0.5, axis=1), F),
    "gradient_coordinates": (lambda f: stacked(np.gradient(f, X, Y)), F),
    "gradient_edge_order_2": (lambda f: stacked(np.gradient(f, 2.0, edge_order=2)), F),
    "gradient_coordinates_edge_order_2": (
        lambda f: np.gradient(f, X, axis=0, edge_order=2),
        F,
    ),
    "gradient_tracked_coordinates": (lambda f, x: np.gradient(f, x, axis=0), F, X),
    "gradient_tracked_spacing": (lambda f, h: np.gradient(f, h, edge_order=2), V, 0.7),
    "select": (lambda v: np.select([v < -0.5, v > 0.5], [v**2, np.sin(v)], default=3 * v), V),
    "select_default_zero": (lambda v: np.select([v < 0], [v**3]), V),
    "select_choices": (lambda a, b: np.select([F > 0, F < -1], [a, b], default=a * b), F, F.T.T),
    "piecewise": (pieces, V),
    "piecewise_matrix": (lambda f: np.piecewise(f, [f < 0], [lambda t: -(t**3), np.cos]), F),
    "piecewise_0d": (lambda v: np.piecewise(v, [v < 0, v >= 0], [np.sin, np.cos]), V[0]),
    "real_if_close": (lambda v: np.real_if_close(v * (1 + 0j)) ** 2, V),
}
test_gradient, test_float32 = family_tests(CASES)


@pytest.mark.parametrize(
    "f",
    [
        lambda f: np.gradient(f),
        lambda f: np.gradient(f, X, Y, edge_order=2),
        lambda f: np.gradient(f, 0.5, axis=(1,)),
        lambda f: np.gradient(f, np.arange(5) * 2, axis=0),
        lambda f: np.select([f > 0], [np.cos(f)], default=-1.0),
        lambda f: np.piecewise(f, [f < 0, f > 1], [np.sin, lambda t: 2 * t, 0.5]),
    ],
    ids=["gradient", "coordinates", "axis_tuple", "integer_coordinates", "select", "piecewise"],
)
def test_values_are_numpys(f) -> None:
    """Tracked inputs get numpy's values (and dtypes), float64 and float32."""
    for x in (F, F.astype(np.float32)):
        ours, want = rg.value(rg.vjp(f, x)[0]), f(x)
        for o, w in zip(*((o,) if not isinstance(o, tuple) else o for o in (ours, want))):
            assert np.asarray(o).dtype == np.asarray(w).dtype
            tol = 1e-12 if x.dtype == np.float64 else 1e-5  # (float32: coefficients rounded)
            np.testing.assert_allclose(o, w, rtol=tol, atol=tol)


def test_real_if_close_keeps_complex_values_that_are_not_close() -> None:
    """real_if_close: tiny imaginary parts give the real part (a real gradient for a real
    loss), others keep the complex value, as numpy decides on the value."""
    near = rg.value(rg.diff(lambda z: np.real_if_close(z), rg.Param(V + 1e-18j)))
    far = rg.value(rg.diff(lambda z: np.real_if_close(z), rg.Param(V + 1e-3j)))
    assert near.dtype == np.float64 and far.dtype == np.complex128
    check_complex(lambda z: np.real_if_close(z) ** 2, V + 1e-3j)


def test_piecewise_gives_no_gradient_through_unpicked_elements() -> None:
    """A function runs only on the elements its condition picks: log of the negative
    elements never runs, so no NaN reaches the gradient."""
    v = np.array([-2.0, -1.0, 0.5, 3.0])
    g = rg.grad(lambda x: np.sum(np.piecewise(x, [x > 0], [np.log, lambda t: t])))(v)
    np.testing.assert_allclose(g, [1.0, 1.0, 2.0, 1 / 3])


def test_complex_std_gradient_is_complex() -> None:
    """np.std and np.var of complex input: complex gradients (a 0-d input's is a complex
    zero), matching central differences along complex directions."""
    z = V + 1j * V[::-1]
    for f in (np.std, np.var):
        g0 = rg.grad(lambda w, f=f: f(w))(np.array(1.0 + 2.0j))
        assert g0.dtype == np.complex128 and g0 == 0
        check_complex(lambda w, f=f: f(w, axis=0), np.stack([z, z[::-1] * 2]))


@pytest.mark.parametrize(
    "f",
    [lambda w: np.mean([w, 2 * w]), lambda w: np.std([w, 2 * w]), lambda w: np.linalg.norm([w, w])],
    ids=["mean", "std", "norm"],
)
def test_python_list_of_tracked_values_says_to_stack(f) -> None:
    """numpy converts a Python list before any protocol sees its elements: a clear
    NoRuleError naming np.stack, never a silently untracked value; np.stack works."""
    w = rg.Param(np.array(1.5))
    with pytest.raises(rg.NoRuleError, match="np.stack"):
        rg.diff(f, w)
    g = rg.grad(lambda w: np.std(np.stack([w, 2 * w])) + np.mean(np.stack([w, 3 * w])))(1.5)
    np.testing.assert_allclose(g, 0.5 + 2.0)
