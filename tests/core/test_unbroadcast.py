"""unbroadcast: the core's reduction of broadcast gradients."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


@pytest.mark.parametrize(
    ("gshape", "xshape"),
    [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), ()),
     ((4, 2, 3), (2, 1)), ((5, 1, 3), (1, 1, 3))],
)  # fmt: skip
def test_unbroadcast_sums_stretched_axes(gshape: tuple, xshape: tuple) -> None:
    """The result has x's shape and the same total as g."""
    g = np.random.default_rng(0).standard_normal(gshape)
    out = rg.unbroadcast(g, np.zeros(xshape))
    assert np.shape(out) == xshape
    assert np.sum(out) == pytest.approx(np.sum(g))


def test_unbroadcast_refuses_impossible_shapes() -> None:
    """A gradient that cannot come from broadcasting x is a RuleError."""
    with pytest.raises(rg.RuleError, match=r"\(3,\).*\(2,\)"):
        rg.unbroadcast(np.ones(3), np.ones(2))


def test_unbroadcast_is_differentiable() -> None:
    """Run on tracked values, the reduction is itself recorded."""
    g = rg.grad(lambda a: np.sum(rg.unbroadcast(a * a, np.zeros(3)) * np.arange(3.0)))
    np.testing.assert_array_equal(g(np.ones((2, 3))), np.tile([0.0, 2.0, 4.0], (2, 1)))


def test_an_object_dtype_constant_gives_a_float_gradient() -> None:
    """w * (an object array of floats): the gradient has w's dtype, not object."""
    w = rg.Param(np.array([1.0, 2.0], np.float32))
    g = rg.grad(rg.diff(lambda: np.sum(w * np.array([3.0, 4.0], dtype=object))), w)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [3.0, 4.0])
