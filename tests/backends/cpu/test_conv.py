"""Tests for rulegrad/backends/cpu/conv.py: loop references, finite differences, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rulegrad.backends.cpu import conv
from rulegrad.backends.cpu.conv import conv4, conv4_dw, conv4_dx, pool, pool_dx, unpool, unpool_dx
from rulegrad.backends.geometry import pool_geometry

# ---- references and helpers ----


def pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


def conv_loop(w, x, padding=0, stride=1, dilation=1, mode=0):
    """conv4 by its definition: one output pixel and one filter tap at a time."""
    (ph, pw), (sh, sw), (dh, dw) = pair(padding), pair(stride), pair(dilation)
    if mode == 0:
        w = w[:, :, ::-1, ::-1]
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], k, ho, wo))
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for b in range(kw):
                    y[:, :, i, j] += xp[:, :, i * sh + a * dh, j * sw + b * dw] @ w[:, :, a, b].T
    return y


def pool_loop(x, window=2, padding=0, stride=None, mode=0):
    """pool by its definition: one window at a time."""
    (kh, kw), (ph, pw) = pair(window), pair(padding)
    sh, sw = pair(window if stride is None else stride)
    pads = ((0, 0), (0, 0), (ph, ph), (pw, pw))
    xp = np.pad(x, pads, constant_values=-np.inf if mode == 0 else 0.0)
    real = np.pad(np.ones(x.shape), pads)  # 1 where xp is not padding
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            window_values = xp[:, :, rows, cols]
            if mode == 0:
                y[:, :, i, j] = window_values.max(axis=(2, 3))
            elif mode == 1:
                y[:, :, i, j] = window_values.mean(axis=(2, 3))
            else:
                y[:, :, i, j] = window_values.sum(axis=(2, 3)) / real[:, :, rows, cols].sum((2, 3))
    return y


def assert_vjp(f, x, vjp, seed=0, eps=1e-6):
    """Check ``<dy, df(x)[v]> == <vjp(dy), v>`` by central differences along a random v."""
    rng = np.random.default_rng(seed)
    dy = rng.standard_normal(f(x).shape)
    v = rng.standard_normal(x.shape)
    numeric = np.vdot(dy, (f(x + eps * v) - f(x - eps * v)) / (2 * eps))
    assert np.vdot(vjp(dy), v) == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def randn(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.fixture(params=["per-image", "whole-batch"])
def layout(request, monkeypatch):
    """Run the test with each im2col column layout (per-image GEMMs, one GEMM for the batch)."""
    monkeypatch.setattr(conv, "_PER_IMAGE_MIN_PIXELS", 0 if request.param == "per-image" else 10**9)


# ---- conv4 ----

# (N, C, H, W), (K, kh, kw), keywords
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 2), {}),
    ((2, 3, 7, 6), (4, 3, 3), {"padding": 1, "stride": 2}),
    ((1, 2, 9, 8), (3, 2, 3), {"padding": (2, 1), "stride": (1, 2), "dilation": (2, 1)}),
    ((3, 2, 10, 11), (2, 3, 3), {"stride": 3, "dilation": 2}),
    ((2, 1, 5, 5), (2, 5, 5), {"padding": 2}),
    ((2, 2, 4, 4), (3, 1, 1), {}),
]
CONV_IDS = ["plain", "pad1-stride2", "mixed-pairs", "stride3-dil2", "full-kernel", "1x1"]


def conv_args(xshape, wshape, dtype=np.float64):
    x = randn(*xshape, seed=1, dtype=dtype)
    w = randn(wshape[0], xshape[1], *wshape[1:], seed=2, dtype=dtype)
    return w, x


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize(("xshape", "wshape", "kw"), CONV_CASES, ids=CONV_IDS)
def test_conv4_matches_loop(xshape, wshape, kw, mode, layout):
    """conv4 equals the loop over output pixels and taps, for both modes and layouts."""
    w, x = conv_args(xshape, wshape)
    np.testing.assert_allclose(conv4(w, x, mode=mode, **kw), conv_loop(w, x, mode=mode, **kw))


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize(("xshape", "wshape", "kw"), CONV_CASES, ids=CONV_IDS)
def test_conv4_dw_matches_finite_differences(xshape, wshape, kw, mode, layout):
    """conv4_dw is the vector-Jacobian product of conv4 with respect to w."""
    w, x = conv_args(xshape, wshape)
    assert_vjp(
        lambda w: conv4(w, x, mode=mode, **kw), w, lambda dy: conv4_dw(w, x, dy, mode=mode, **kw)
    )


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize(("xshape", "wshape", "kw"), CONV_CASES, ids=CONV_IDS)
def test_conv4_dx_matches_finite_differences(xshape, wshape, kw, mode, layout):
    """conv4_dx is the vector-Jacobian product of conv4 with respect to x."""
    w, x = conv_args(xshape, wshape)
    assert_vjp(
        lambda x: conv4(w, x, mode=mode, **kw), x, lambda dy: conv4_dx(w, x, dy, mode=mode, **kw)
    )


@pytest.mark.parametrize(("xshape", "wshape", "kw"), CONV_CASES, ids=CONV_IDS)
def test_conv4_bilinear_adjoints(xshape, wshape, kw):
    """<conv4(w, x), dy> == <conv4_dw(w, x, dy), w> == <conv4_dx(w, x, dy), x> (second order)."""
    w, x = conv_args(xshape, wshape)
    dy = randn(*conv4(w, x, **kw).shape, seed=3)
    expected = np.vdot(conv4(w, x, **kw), dy)
    assert np.vdot(conv4_dw(w, x, dy, **kw), w) == pytest.approx(expected)
    assert np.vdot(conv4_dx(w, x, dy, **kw), x) == pytest.approx(expected)


def test_conv4_mode0_flips_the_kernel():
    """Mode 0 (convolution) is mode 1 (cross-correlation) with the kernel flipped."""
    w, x = conv_args((2, 3, 6, 5), (2, 3, 2))
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    np.testing.assert_allclose(conv4(w, x, mode=0), conv4(flipped, x, mode=1))


@pytest.mark.parametrize("layout_", ["per-image", "whole-batch"])
def test_conv4_keeps_float32(layout_, monkeypatch):
    """float32 in gives float32 out of conv4, conv4_dw and conv4_dx, close to float64."""
    monkeypatch.setattr(conv, "_PER_IMAGE_MIN_PIXELS", 0 if layout_ == "per-image" else 10**9)
    kw = {"padding": 1, "stride": 2}
    w, x = conv_args((2, 3, 7, 6), (4, 3, 3))
    w32, x32 = w.astype(np.float32), x.astype(np.float32)
    dy = randn(*conv4(w, x, **kw).shape, seed=3)
    dy32 = dy.astype(np.float32)
    for f, args32, args in [
        (conv4, (w32, x32), (w, x)),
        (conv4_dw, (w32, x32, dy32), (w, x, dy)),
        (conv4_dx, (w32, x32, dy32), (w, x, dy)),
    ]:
        out = f(*args32, **kw)
        assert out.dtype == np.float32, f.__name__
        np.testing.assert_allclose(out, f(*args, **kw), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("wshape", "kw", "message"),
    [
        ((2, 4, 3, 3), {}, "same C"),
        ((2, 3, 9, 3), {}, "does not fit"),
        ((2, 3, 3, 3), {"mode": 2}, "mode"),
        ((2, 3, 3, 3), {"stride": 0}, "stride"),
        ((2, 3, 3, 3), {"padding": (1, 2, 3)}, "padding"),
    ],
)
def test_conv4_rejects_bad_arguments(wshape, kw, message):
    """conv4 says what is wrong with channels, sizes, mode, stride and padding."""
    with pytest.raises(ValueError, match=message):
        conv4(np.zeros(wshape), np.zeros((1, 3, 6, 6)), **kw)


# ---- pool ----

# (N, C, H, W), keywords
POOL_CASES = [
    ((2, 3, 6, 7), {}),
    ((2, 2, 7, 7), {"window": 3, "stride": 2}),
    ((1, 2, 5, 7), {"window": (2, 3), "padding": 1, "stride": (1, 2)}),
    ((2, 1, 6, 6), {"window": 3, "padding": 1, "stride": 1}),
    ((2, 2, 8, 7), {"window": 2, "stride": 3}),
    ((1, 1, 3, 3), {"window": 3, "padding": 2, "stride": 2}),
]
POOL_IDS = ["default", "overlap", "mixed-pairs", "same-size", "stride-gt-window", "pad2"]


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize(("xshape", "kw"), POOL_CASES, ids=POOL_IDS)
def test_pool_matches_loop(xshape, kw, mode):
    """pool equals the loop over windows for max, mean-with-padding and mean-without-padding."""
    x = randn(*xshape)
    np.testing.assert_allclose(pool(x, mode=mode, **kw), pool_loop(x, mode=mode, **kw))


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize(("xshape", "kw"), POOL_CASES, ids=POOL_IDS)
def test_pool_dx_matches_finite_differences(xshape, kw, mode):
    """pool_dx is the vector-Jacobian product of pool (away from ties)."""
    x = randn(*xshape)
    y = pool(x, mode=mode, **kw)
    assert_vjp(lambda x: pool(x, mode=mode, **kw), x, lambda dy: pool_dx(x, y, dy, mode=mode, **kw))


def test_pool_dx_max_ties_go_to_the_first_entry():
    """On ties max pooling routes each window's gradient to its first entry in row-major order."""
    x = np.zeros((1, 1, 4, 4))
    dy = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    expected = np.zeros((4, 4))
    expected[::2, ::2] = dy[0, 0]
    np.testing.assert_array_equal(pool_dx(x, pool(x), dy)[0, 0], expected)


def test_pool_dx_max_ties_in_overlapping_windows():
    """With overlapping windows each window picks its own first maximum, and the picks add up."""
    x = np.array([[[[1.0, 1.0, 1.0, 0.0]]]])
    kw = {"window": (1, 2), "stride": 1}
    dx = pool_dx(x, pool(x, **kw), np.ones((1, 1, 1, 3)), **kw)
    np.testing.assert_array_equal(dx, [[[[1.0, 1.0, 1.0, 0.0]]]])


@pytest.mark.parametrize(
    ("xshape", "kw"), [*POOL_CASES, ((3, 2, 6, 8), {})], ids=[*POOL_IDS, "tiled"]
)
def test_pool_dx_max_matches_loop_with_many_ties(xshape, kw):
    """On inputs full of ties (a ReLU's zeros, rounded values), each window's gradient goes to
    its first maximum in row-major order, as a loop over windows sends it: whether windows
    tile the input (written straight into the result), leave gaps or overlap (summed)."""
    rng = np.random.default_rng(7)
    x = np.maximum(np.round(rng.standard_normal(xshape)), 0.0)
    y = pool(x, **kw)
    dy = rng.standard_normal(y.shape)
    g = pool_geometry(x, kw.get("window", 2), kw.get("padding", 0), kw.get("stride"), "pool")
    (kh, kw_), (sh, sw), (ph, pw) = g.window, g.stride, g.padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    expected = np.zeros_like(xp)
    for n, c, i, j in np.ndindex(*y.shape):
        window = xp[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw_]
        a, b = np.unravel_index(np.argmax(window), window.shape)  # argmax: the first maximum
        expected[n, c, i * sh + a, j * sw + b] += dy[n, c, i, j]
    expected = expected[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    np.testing.assert_allclose(pool_dx(x, y, dy, **kw), expected, rtol=1e-12, atol=1e-12)


def test_pool_dx_max_ignores_padding():
    """A maximum that is only padding (-inf) sends no gradient into x."""
    x = np.full((1, 1, 2, 2), 5.0)
    kw = {"window": 2, "padding": 1, "stride": 1}
    dx = pool_dx(x, pool(x, **kw), np.ones((1, 1, 3, 3)), **kw)
    np.testing.assert_array_equal(dx, [[[[4.0, 2.0], [2.0, 1.0]]]])


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_pool_keeps_float32(mode):
    """float32 in gives float32 out of pool and pool_dx."""
    kw = {"window": 3, "padding": 1, "stride": 2}
    x = randn(2, 3, 7, 6, dtype=np.float32)
    y = pool(x, mode=mode, **kw)
    dx = pool_dx(x, y, np.ones_like(y), mode=mode, **kw)
    assert (y.dtype, dx.dtype) == (np.float32, np.float32)
    np.testing.assert_allclose(
        y, pool_loop(x.astype(np.float64), mode=mode, **kw), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"mode": 3}, "mode"), ({"window": 9}, "does not fit"), ({"window": 0}, "window")],
)
def test_pool_rejects_bad_arguments(kw, message):
    """pool says what is wrong with its mode and window."""
    with pytest.raises(ValueError, match=message):
        pool(np.zeros((1, 1, 4, 4)), **kw)


# ---- unpool ----

# (N, C, H, W), keywords
UNPOOL_CASES = [
    ((2, 3, 3, 4), {}),
    ((1, 2, 3, 3), {"window": 3, "stride": 2, "padding": 1}),
    ((2, 1, 4, 3), {"window": (2, 3), "stride": 1}),
]
UNPOOL_IDS = ["default", "overlap-pad", "mixed-pairs"]


def test_unpool_repeats_each_value_over_its_window():
    """With the default 2x2 window unpool repeats every value into a 2x2 block."""
    x = randn(2, 3, 3, 4)
    np.testing.assert_array_equal(unpool(x), np.kron(x, np.ones((2, 2))))


@pytest.mark.parametrize(("xshape", "kw"), UNPOOL_CASES, ids=UNPOOL_IDS)
def test_unpool_is_scaled_mean_pool_dx(xshape, kw):
    """unpool(x) == pool_dx of mean pooling (mode 1) applied to x * window size, as in Knet."""
    x = randn(*xshape)
    size = np.prod(pair(kw.get("window", 2)))
    z = np.zeros(unpool(x, **kw).shape)
    expected = pool_dx(z, pool(z, mode=1, **kw), x * size, mode=1, **kw)
    np.testing.assert_allclose(unpool(x, **kw), expected)


@pytest.mark.parametrize(("xshape", "kw"), UNPOOL_CASES, ids=UNPOOL_IDS)
def test_unpool_dx_matches_finite_differences(xshape, kw):
    """unpool_dx is the vector-Jacobian product of unpool, i.e. window sums of dy."""
    x = randn(*xshape)
    assert_vjp(lambda x: unpool(x, **kw), x, lambda dy: unpool_dx(dy, **kw))
    dy = randn(*unpool(x, **kw).shape, seed=4)
    size = np.prod(pair(kw.get("window", 2)))
    np.testing.assert_allclose(unpool_dx(dy, **kw), pool(dy, mode=1, **kw) * size)


def test_unpool_keeps_float32():
    """float32 in gives float32 out of unpool and unpool_dx."""
    x = randn(2, 3, 3, 4, dtype=np.float32)
    y = unpool(x, window=3, stride=2, padding=1)
    assert y.dtype == np.float32
    assert unpool_dx(y, window=3, stride=2, padding=1).dtype == np.float32
