"""rulegrad/scipy/signal.py: convolve and correlate against central differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sg

import rulegrad as rg
from rulegrad import plugins

plugins.load()  # intercepts scipy.signal.convolve and correlate
ag = pytest.importorskip("autograd")
asg = pytest.importorskip("autograd.scipy.signal")

SHAPES = [((5,), (3,)), ((3,), (5,)), ((4, 3), (2, 2)), ((2, 2), (4, 3)), ((3, 4, 2), (2, 3, 2))]
SHAPES_ANY = [((4, 2), (2, 3)), ((2,), (4,))]  # neither at least as large: not "valid"


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", SHAPES + SHAPES_ANY, ids=str)
def test_matches_central_differences(func: str, mode: str, shapes: tuple) -> None:
    """Both arguments, every mode, 1-d to 3-d, to second order."""
    if mode == "valid" and shapes in SHAPES_ANY:
        pytest.skip("scipy refuses 'valid' for these shapes")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    f = getattr(sg, func)
    assert rg.checkgrad(lambda a, b: f(a, b, mode=mode), a, b, order=2) < 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["full", "valid"])
@pytest.mark.parametrize("shapes", SHAPES[:1] + SHAPES[2:3] + SHAPES[4:], ids=str)
def test_convolve_matches_autograd(shapes: tuple, mode: str, dtype: type) -> None:
    """convolve's gradients equal HIPS autograd's (its own convolve); float32 stays float32."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    w = rng.standard_normal(sg.convolve(a, b, mode=mode).shape)

    def ours(a: np.ndarray, b: np.ndarray) -> object:
        return np.sum(w.astype(dtype) * sg.convolve(a, b, mode=mode))

    def theirs(a: np.ndarray, b: np.ndarray) -> object:
        return ag.numpy.sum(w * asg.convolve(a, b, mode=mode))

    got = rg.grad(ours, argnums=(0, 1))(a.astype(dtype), b.astype(dtype))
    want = ag.grad(theirs, argnum=(0, 1))(a, b)
    for g, h in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, h, rtol=1e-4 if dtype == np.float32 else 1e-9, atol=1e-5)


def test_plain_call_is_scipys() -> None:
    """Untracked calls run scipy's own convolve (any method, complex too)."""
    z = sg.convolve(np.array([1j, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(z, [1j, 2 + 1j, 2])


# ---- fftconvolve, oaconvolve, convolve2d, correlate2d ----
FFT_CASES = {
    "1d": ((5,), (3,), None),
    "1d_longer_b": ((3,), (5,), None),
    "2d": ((4, 3), (2, 2), None),
    "3d_some_axes": ((3, 4, 2), (2, 3, 2), [0, 1]),
    "batch_broadcast": ((1, 5), (3, 2), -1),  # axis 0 broadcasts
    "batch_broadcast_first": ((3, 5), (1, 2), [1]),
    "batch_first_smaller": ((1, 4), (2, 3), 1),  # "same" crops axis 0 to in1's 1
}


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("case", FFT_CASES.values(), ids=list(FFT_CASES))
def test_fft_convolutions_match_central_differences(func: str, mode: str, case: tuple) -> None:
    """fftconvolve and oaconvolve: every mode, ``axes`` with broadcast batch axes, real and
    complex, to second order; a tracked call gives scipy's values."""
    s1, s2, axes = case
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    f = getattr(sg, func)
    for x, y in [(a, b), (a + 1j * rng.standard_normal(s1), b - 1j * rng.standard_normal(s2))]:
        try:
            want = f(x, y, mode=mode, axes=axes)
        except ValueError:
            pytest.skip("scipy refuses 'valid' for these shapes")
        np.testing.assert_array_equal(rg.vjp(lambda x, y: f(x, y, mode, axes), x, y)[0], want)
        assert rg.checkgrad(lambda x, y: f(x, y, mode=mode, axes=axes), x, y, order=2) < 1e-6


@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", [((4, 3), (2, 2)), ((2, 2), (4, 3)), ((3, 4), (2, 3))], ids=str)
def test_2d_functions_match_central_differences(func: str, mode: str, shapes: tuple) -> None:
    """convolve2d and correlate2d, real and complex, to second order, with scipy's values:
    correlate2d's "same" window (rounded the other way) and its "valid" of a smaller first
    argument (swapped and conjugated by scipy) included."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    za, zb = a + 1j * rng.standard_normal(a.shape), b - 1j * rng.standard_normal(b.shape)
    f = getattr(sg, func)
    for x, y in [(a, b), (za, zb), (a, zb)]:
        try:
            want = f(x, y, mode)
        except ValueError:
            pytest.skip("scipy refuses 'valid' for these shapes")
        np.testing.assert_array_equal(rg.vjp(lambda x, y: f(x, y, mode), x, y)[0], want)
        assert rg.checkgrad(lambda x, y: f(x, y, mode=mode), x, y, order=2) < 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["full", "valid"])
@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve", "convolve2d"])
def test_new_convolutions_match_autograd(func: str, mode: str, dtype: type) -> None:
    """fftconvolve, oaconvolve and convolve2d give HIPS autograd's convolve gradients;
    float32 stays float32."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((2, 3))
    f = getattr(sg, func)
    w = rng.standard_normal(f(a, b, mode).shape)

    def ours(a: np.ndarray, b: np.ndarray) -> object:
        return np.sum(w.astype(dtype) * f(a, b, mode))

    def theirs(a: np.ndarray, b: np.ndarray) -> object:
        return ag.numpy.sum(w * asg.convolve(a, b, mode=mode))

    got = rg.grad(ours, argnums=(0, 1))(a.astype(dtype), b.astype(dtype))
    want = ag.grad(theirs, argnum=(0, 1))(a, b)
    for g, h in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, h, rtol=1e-4 if dtype == np.float32 else 1e-9, atol=1e-5)


@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
def test_2d_boundaries_other_than_zero_fill_are_refused(func: str) -> None:
    """boundary='wrap'/'symm' or a nonzero fillvalue with a tracked argument is a RuleError
    naming what is supported; untracked calls still run scipy's."""
    a, b = np.ones((3, 3)), np.ones((2, 2))
    f = getattr(sg, func)
    for kw in [{"boundary": "wrap"}, {"boundary": "symm"}, {"fillvalue": 1.5}]:
        with pytest.raises(rg.RuleError, match="boundary='fill' with fillvalue=0"):
            rg.grad(lambda a, kw=kw: np.sum(f(a, b, "same", **kw)))(a)
        assert f(a, b, "same", **kw).shape == (3, 3)
