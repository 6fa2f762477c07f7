"""Casts to integer and boolean dtypes: no gradient, and the result carries none."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


@pytest.mark.parametrize("dtype", [int, np.int32, "int64", np.uint8, bool, "bool"])
def test_a_cast_to_integers_or_booleans_has_zero_gradient(dtype) -> None:
    """d/dx sum(x.astype(int) * x) = x.astype(int): the cast is a constant."""
    x = np.array([1.5, 2.7])
    g = rg.grad(lambda x: np.sum(x.astype(dtype) * x))(x)
    np.testing.assert_array_equal(g, x.astype(dtype).astype(float))


def test_an_integer_cast_passes_no_gradient_inside_diff() -> None:
    """Inside diff, by either spelling (method and np.astype), nothing flows back through
    the cast, and a result that is an integer cast is not differentiable."""
    w = rg.Param(np.array([1.5, 2.7]))
    J = rg.diff(lambda: np.sum(np.astype(w, np.int32) * w) + np.sum(w.astype(np.int64) * w))
    np.testing.assert_array_equal(rg.grad(J, w), [2.0, 4.0])
    with pytest.raises(rg.OutputError, match="not differentiable"):
        rg.grad(rg.diff(lambda: np.sum(w.astype(int))), w)


def test_a_float_cast_still_has_its_gradient() -> None:
    """astype to another float or complex dtype passes the gradient (cast back)."""
    g = rg.grad(lambda x: np.sum(np.real(x.astype(np.complex128)) * x.astype(np.float32)))(
        np.array([1.0, 2.0])
    )
    np.testing.assert_allclose(g, [2.0, 4.0])


def test_an_integer_cast_under_jit_matches_diff() -> None:
    """A replayed step recomputes the cast on each call and keeps its gradient zero."""
    w = rg.Param(np.array([1.5, 2.7]))
    step = rg.jit(lambda x: np.sum(w.astype(int) * w * x))
    for x in (np.ones(2), np.array([2.0, 3.0])):
        np.testing.assert_array_equal(rg.grad(step(x), w), w.value.astype(int) * x)
