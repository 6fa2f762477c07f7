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
