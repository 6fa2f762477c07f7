"""The GPU backend's kernels, run with numpy: they must equal the CPU kernels exactly.

The GPU conv4/pool code is written against the array's namespace, so these tests run on
every machine; on a GPU, test_gpu_conv.py compares the cupy runs with the same CPU kernels.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.backends.cpu import conv as cpu
from rulegrad.backends.gpu import conv as gpu
from rulegrad.backends.gpu import fused

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "padding, stride, dilation, mode",
    list(itertools.product([0, 1, (1, 2)], [1, 2], [1, 2], [0, 1])),
)
def test_conv4_and_backward_match_the_cpu(padding, stride, dilation, mode) -> None:
    """im2col + GEMM (as run on cupy when cuDNN is missing) equals the CPU kernels."""
    kw = dict(padding=padding, stride=stride, dilation=dilation, mode=mode)
    w, x = RNG.standard_normal((3, 2, 3, 2)), RNG.standard_normal((2, 2, 8, 7))
    y = cpu.conv4(w, x, **kw)
    dy = RNG.standard_normal(y.shape)
    assert np.allclose(gpu.conv4(w, x, **kw), y)
    assert np.allclose(gpu.conv4_dw(w, x, dy, **kw), cpu.conv4_dw(w, x, dy, **kw))
    assert np.allclose(gpu.conv4_dx(w, x, dy, **kw), cpu.conv4_dx(w, x, dy, **kw))


@pytest.mark.parametrize(
    "window, padding, stride, mode",
    [(w, p, s, m) for w, p, s, m in itertools.product([1, 2, 3], [0, 1], [None, 1, 2], [0, 1, 2])
     if p < w],
)  # fmt: skip
def test_pooling_matches_the_cpu(window, padding, stride, mode) -> None:
    """Max and mean pooling and their gradients, ties included, equal the CPU kernels."""
    kw = dict(window=window, padding=padding, stride=stride)
    x = np.round(RNG.standard_normal((2, 2, 7, 6)), 1)  # rounding makes ties
    y = cpu.pool(x, mode=mode, **kw)
    dy = RNG.standard_normal(y.shape)
    assert np.array_equal(gpu.pool(x, mode=mode, **kw), y)
    assert np.allclose(
        gpu.pool_dx(x, y, dy, mode=mode, **kw), cpu.pool_dx(x, y, dy, mode=mode, **kw)
    )
    if window > 2 * padding:
        u = RNG.standard_normal((2, 2, 3, 4))
        assert np.allclose(gpu.unpool(u, **kw), cpu.unpool(u, **kw))
        assert np.allclose(gpu.unpool_dx(x, **kw), cpu.unpool_dx(x, **kw))


def test_float32_is_kept() -> None:
    """float32 in, float32 out."""
    w, x = (RNG.standard_normal(s).astype(np.float32) for s in ((2, 1, 3, 3), (1, 1, 5, 5)))
    y = gpu.conv4(w, x)
    assert y.dtype == gpu.conv4_dx(w, x, y).dtype == gpu.pool(x).dtype == np.float32


def test_numpy_never_uses_cudnn() -> None:
    """The engine check is for cupy arrays only."""
    a = np.zeros((1, 1, 2, 2))
    assert gpu._engine(a, a) == "im2col"


@pytest.mark.parametrize("back", [fused.relu_back, fused.sigm_back, fused.tanh_back])
def test_backward_primitives_differentiate_again(back) -> None:
    """The generic methods of the fused backward functions pass the numeric check, order 2."""
    g, y = RNG.standard_normal(5), RNG.uniform(0.2, 0.8, 5) * np.array([1, -1, 1, -1, 1])
    assert rg.checkgrad(back, g, y, order=2) < 1e-5
