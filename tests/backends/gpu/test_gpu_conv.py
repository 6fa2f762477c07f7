"""conv4 and pooling on cupy arrays: the same values and gradients as on numpy."""

from __future__ import annotations

import numpy as np
import pytest
from devices import cupy  # noqa: F401  (the fixture)

import rulegrad as rg
from rulegrad.backends.gpu import conv as gpu_conv
from rulegrad.rules.conv import conv4, pool, unpool

pytestmark = pytest.mark.gpu
RNG = np.random.default_rng(0)


@pytest.mark.parametrize("kw", [dict(), dict(padding=1, stride=2), dict(dilation=2, mode=1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv4_gradients_equal_numpy(cupy, kw, dtype) -> None:  # noqa: F811
    """Forward and both gradients of conv4 agree with the CPU kernels."""
    w0, x0 = (RNG.standard_normal(s).astype(dtype) for s in ((4, 2, 3, 3), (3, 2, 9, 8)))

    def run(w, x):
        w, x = rg.Param(w), rg.Param(x)
        J = rg.diff(lambda: np.sum(conv4(w, x, **kw) ** 2))
        return rg.value(J), rg.grad(J, w), rg.grad(J, x)

    tol = 1e-3 if dtype == np.float32 else 1e-9
    for got, want in zip(run(cupy.asarray(w0), cupy.asarray(x0)), run(w0, x0)):
        assert got.dtype == dtype
        assert np.allclose(cupy.asnumpy(got), want, rtol=tol, atol=tol)
    assert gpu_conv.ENGINE["conv"] in ("cudnn", "im2col"), gpu_conv.ENGINE


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_pool_and_unpool_gradients_equal_numpy(cupy, mode) -> None:  # noqa: F811
    """Pooling forward and backward agree with the CPU kernels (second order too)."""
    x0 = RNG.permutation(2 * 3 * 8 * 8).reshape(2, 3, 8, 8) / 100.0
    kw = dict(window=3, stride=2, padding=1, mode=mode)

    def run(x):
        x = rg.Param(x)
        J = rg.diff(lambda: np.sum(unpool(pool(x, **kw)) ** 2))
        return rg.grad(J, x)

    assert np.allclose(cupy.asnumpy(run(cupy.asarray(x0))), run(x0))


def test_integer_conv4_runs_through_im2col(cupy) -> None:  # noqa: F811
    """cuDNN takes float arrays only: integer conv4 gives the CPU's result, cuDNN or not."""
    from rulegrad.backends.cpu import conv as cpu_conv

    w0, x0 = np.arange(12).reshape(2, 1, 2, 3), np.arange(40).reshape(2, 1, 4, 5)
    w, x = cupy.asarray(w0), cupy.asarray(x0)
    y0 = cpu_conv.conv4(w0, x0, padding=1)
    y = gpu_conv.conv4(w, x, padding=1)
    assert y.dtype == y0.dtype and np.array_equal(cupy.asnumpy(y), y0)
    dy = cupy.ones_like(y)
    dx0 = cpu_conv.conv4_dx(w0, x0, cupy.asnumpy(dy), padding=1)
    assert np.array_equal(cupy.asnumpy(gpu_conv.conv4_dx(w, x, dy, padding=1)), dx0)
