"""rulegrad/rules/signal.py: np.convolve and np.correlate against numpy, central differences,
forward mode and HIPS autograd."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg

LENGTHS = [(5, 3), (3, 5), (4, 2), (2, 4), (4, 4), (1, 3), (6, 1)]  # v longer: numpy swaps
MODES = ["full", "same", "valid"]


def _pair(n: int, m: int, complex_: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    if complex_:
        a, v = a + 1j * rng.standard_normal(n), v - 1j * rng.standard_normal(m)
    return a, v


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", [np.convolve, np.correlate], ids=["convolve", "correlate"])
def test_values_and_gradients_every_alignment(func: object, mode: str, complex_: bool) -> None:
    """A tracked call gives numpy's values exactly, and gradients to second order, for
    every pair of lengths (numpy's swap of a shorter ``a`` included: it moves correlate's
    "same" window)."""
    for n, m in LENGTHS:
        a, v = _pair(n, m, complex_)
        out, _ = rg.vjp(lambda a, v: func(a, v, mode), a, v)
        np.testing.assert_array_equal(out, func(a, v, mode))
        assert rg.checkgrad(lambda a, v: func(a, v, mode=mode), a, v, order=2) < 1e-6


@pytest.mark.parametrize("func", [np.convolve, np.correlate], ids=["convolve", "correlate"])
def test_mixed_real_and_complex_arguments(func: object) -> None:
    """A real argument of a complex result gets a real gradient (its real part)."""
    a, _ = _pair(4, 3, False)
    _, v = _pair(4, 3, True)
    ga, gv = rg.grad(lambda a, v: np.sum(np.abs(func(a, v, "same")) ** 2), argnums=(0, 1))(a, v)
    assert ga.dtype == np.float64 and gv.dtype == np.complex128
    assert rg.checkgrad(lambda a, v: func(a, v, "same"), a, v, order=2) < 1e-6


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("func", [np.convolve, np.correlate], ids=["convolve", "correlate"])
def test_forward_mode_is_the_directional_derivative(func: object, complex_: bool) -> None:
    """rg.jvp's tangent (native forward rules) equals central differences along it."""
    for n, m in [(5, 3), (2, 4)]:
        a, v = _pair(n, m, complex_)
        ta, tv = _pair(n, m, complex_, seed=1)
        for mode in MODES:
            f = lambda a, v, mode=mode: func(a, v, mode)  # noqa: E731
            _, tangent = rg.jvp(f, (a, v), (ta, tv))
            h = 1e-6
            numeric = (f(a + h * ta, v + h * tv) - f(a - h * ta, v - h * tv)) / (2 * h)
            np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-8)


def test_default_modes_are_numpys() -> None:
    """convolve defaults to "full", correlate to "valid", in values and gradients."""
    a, v = _pair(5, 3, False)
    assert rg.checkgrad(np.convolve, a, v) < 1e-6 and rg.checkgrad(np.correlate, a, v) < 1e-6
    assert rg.vjp(np.correlate, a, v)[0].shape == (3,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["full", "valid"])
@pytest.mark.parametrize("lengths", [(6, 3), (3, 6), (4, 4)], ids=str)
def test_convolve_matches_autograd(lengths: tuple, mode: str, dtype: type) -> None:
    """np.convolve's gradients equal HIPS autograd's scipy.signal.convolve (autograd's
    numpy.convolve has none); float32 stays float32."""
    ag = pytest.importorskip("autograd")
    asg = pytest.importorskip("autograd.scipy.signal")
    a, v = _pair(*lengths, False)
    w = np.random.default_rng(2).standard_normal(np.convolve(a, v, mode).shape)

    def ours(a: np.ndarray, v: np.ndarray) -> object:
        return np.sum(w.astype(dtype) * np.convolve(a, v, mode))

    def theirs(a: np.ndarray, v: np.ndarray) -> object:
        return ag.numpy.sum(w * asg.convolve(a, v, mode=mode))

    got = rg.grad(ours, argnums=(0, 1))(a.astype(dtype), v.astype(dtype))
    want = ag.grad(theirs, argnum=(0, 1))(a, v)
    for g, h in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, h, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_correlate_float32_stays_float32() -> None:
    """correlate's gradients keep float32 and complex64 arguments' dtypes."""
    for dtype, complex_ in [(np.float32, False), (np.complex64, True)]:
        a, v = (x.astype(dtype) for x in _pair(5, 3, complex_))
        loss = lambda a, v: np.sum(np.abs(np.correlate(a, v, "full")) ** 2)  # noqa: E731
        assert all(g.dtype == dtype for g in rg.grad(loss, argnums=(0, 1))(a, v))
