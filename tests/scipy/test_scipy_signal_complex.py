"""rulegrad/scipy/signal.py on complex arrays: convolve is bilinear, correlate conjugates its
second argument (scipy's); gradients in autograd's convention, against central differences
along complex directions and against HIPS autograd's convolve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sg

import rulegrad as rg
from rulegrad import plugins

plugins.load()  # intercepts scipy.signal.convolve and correlate
ag = pytest.importorskip("autograd")
asg = pytest.importorskip("autograd.scipy.signal")

SHAPES = [((5,), (3,)), ((3,), (5,)), ((4, 3), (2, 2)), ((3, 4, 2), (2, 3, 2))]


def _complex(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_complex_matches_central_differences(func: str, mode: str, shapes: tuple) -> None:
    """Both complex arguments, every mode, 1-d to 3-d, to second order."""
    rng = np.random.default_rng(0)
    a, b = _complex(rng, shapes[0]), _complex(rng, shapes[1])
    f = getattr(sg, func)
    assert rg.checkgrad(lambda a, b: f(a, b, mode=mode), a, b, order=2) < 1e-6


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("which", ["real_a", "real_b"])
def test_real_argument_with_a_complex_one(func: str, which: str) -> None:
    """A real argument convolved with a complex one gets a real gradient, dL/dx, in its own
    dtype (float32 too); the complex one a complex gradient."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5,)), _complex(rng, (3,))
    if which == "real_b":
        a, b = b, a
    f = getattr(sg, func)
    assert rg.checkgrad(lambda a, b: f(a, b, mode="same"), a, b, order=2) < 1e-6
    a32, b32 = (x.astype(np.complex64 if np.iscomplexobj(x) else np.float32) for x in (a, b))
    ga, gb = rg.grad(lambda a, b: np.sum(np.abs(f(a, b)) ** 2), argnums=(0, 1))(a32, b32)
    assert (ga.dtype, gb.dtype) == (a32.dtype, b32.dtype)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("mode", ["full", "valid"])
@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3]], ids=str)
def test_complex_convolve_matches_autograd(shapes: tuple, mode: str, dtype: type) -> None:
    """convolve's gradients of complex arrays equal HIPS autograd's (its own convolve);
    complex64 stays complex64."""
    rng = np.random.default_rng(1)
    a, b = _complex(rng, shapes[0]), _complex(rng, shapes[1])
    w = _complex(rng, sg.convolve(a, b, mode=mode).shape)

    def ours(a: np.ndarray, b: np.ndarray) -> object:
        y = sg.convolve(a, b, mode=mode)
        return np.sum(np.abs(y) ** 2) + np.sum(np.real(w.astype(dtype) * y))

    def theirs(a: np.ndarray, b: np.ndarray) -> object:
        y = asg.convolve(a, b, mode=mode)
        return ag.numpy.sum(ag.numpy.abs(y) ** 2) + ag.numpy.sum(ag.numpy.real(w * y))

    got = rg.grad(ours, argnums=(0, 1))(a.astype(dtype), b.astype(dtype))
    want = ag.grad(theirs, argnum=(0, 1))(a, b)
    for g, h in zip(got, want):
        assert g.dtype == dtype
        tol = 1e-4 if dtype == np.complex64 else 1e-9
        np.testing.assert_allclose(g, h, rtol=tol, atol=tol * np.max(np.abs(h)))


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_complex_forward_mode_matches_central_differences(func: str, mode: str) -> None:
    """rg.jvp along complex tangents of both arguments is J t (correlate conjugates its
    second argument's tangent as it does the argument)."""
    rng = np.random.default_rng(3)
    a, b, da, db = (_complex(rng, s) for s in ((5, 2), (3, 2), (5, 2), (3, 2)))
    f = getattr(sg, func)
    _, jt = rg.jvp(lambda a, b: f(a, b, mode=mode), (a, b), (da, db))
    h = 1e-6
    numeric = (f(a + h * da, b + h * db, mode=mode) - f(a - h * da, b - h * db, mode=mode)) / (
        2 * h
    )
    np.testing.assert_allclose(jt, numeric, rtol=1e-6, atol=1e-8)
