"""conv4, pool and unpool kernels for cupy arrays: cuDNN where cupy has it, else im2col + cuBLAS.

The kernels have the names, keywords and meaning of `rulegrad.backends.cpu.conv` (see
there for the formulas). The im2col and pooling code is written against the array's own
namespace (``numpy`` or ``cupy``, found from the arrays), so the tests run it on numpy
on machines without a GPU and compare it with the CPU kernels.

cuDNN comes from ``cupyx.cudnn`` (CuPy 13 and earlier, with the cuDNN libraries
installed; CuPy 14 removed it). It is used for conv4 and its two backward functions on
float16/32/64 arrays once a self-check on a small case agrees with im2col; otherwise
(and for other dtypes) im2col is used, and `ENGINE` says why. Pooling always uses the
loops over window offsets below, so max pooling breaks ties (first maximum in row-major
order) exactly as on the CPU.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

from ..geometry import (
    Geometry,
    check_pool_mode,
    conv_geometry,
    pool_geometry,
    unpool_geometry,
    window_count,
)

__all__ = [
    "ENGINE", "conv4", "conv4_dw", "conv4_dx", "pool", "pool_dx", "unpool", "unpool_dx",
]  # fmt: skip

#: How conv4 runs: ``{"conv": "cudnn" | "im2col", "why": reason}`` (set on first use).
ENGINE: dict[str, str] = {}

#: The dtypes cuDNN takes (float16, float32, float64; ``cupyx.cudnn.get_data_type`` raises
#: TypeError for others): integer and complex arrays always take im2col, as on the CPU.
_CUDNN_DTYPES = frozenset("efd")


# ---- shared geometry ----
def xp_of(a: Any) -> ModuleType:
    """The array namespace of ``a``: cupy for cupy arrays, numpy otherwise."""
    cupy = sys.modules.get("cupy")
    return cupy if cupy is not None and isinstance(a, cupy.ndarray) else np


def _conv_geometry(w: Any, x: Any, padding: Any, stride: Any, dilation: Any, mode: int) -> tuple:
    """conv4's checks and sizes (`rulegrad.backends.geometry`): padding, stride, dilation, out."""
    g = conv_geometry(w, x, padding, stride, dilation, mode)
    return g.padding, g.stride, g.dilation, g.out


def _pad(xp: ModuleType, x: Any, p: tuple[int, int], value: float = 0.0) -> Any:
    if p == (0, 0):
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + 2 * p[0], w + 2 * p[1]), value, dtype=x.dtype)
    out[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
    return out


def _unpad(xp: ModuleType, x: Any, p: tuple[int, int]) -> Any:
    if p == (0, 0):
        return x
    return xp.ascontiguousarray(x[:, :, p[0] : x.shape[2] - p[0], p[1] : x.shape[3] - p[1]])


def _offsets(k: tuple, s: tuple, d: tuple, out: tuple) -> Any:
    """(a, b, index) per window offset: ``padded[index]`` is what offset (a, b) sees."""
    for a in range(k[0]):
        for b in range(k[1]):
            rows = slice(a * d[0], a * d[0] + s[0] * (out[0] - 1) + 1, s[0])
            cols = slice(b * d[1], b * d[1] + s[1] * (out[1] - 1) + 1, s[1])
            yield a, b, (Ellipsis, rows, cols)


# ---- im2col + one batched GEMM ----
def _cols(xp: ModuleType, x: Any, k: tuple, p: tuple, s: tuple, d: tuple, out: tuple) -> Any:
    """(N, C*kh*kw, Ho*Wo): every window of padded ``x``, copied once."""
    xpad = xp.ascontiguousarray(_pad(xp, x, p))
    n, c = x.shape[:2]
    sn, sc, sh, sw = xpad.strides
    view = xp.lib.stride_tricks.as_strided(
        xpad,
        shape=(n, c, k[0], k[1], out[0], out[1]),
        strides=(sn, sc, sh * d[0], sw * d[1], sh * s[0], sw * s[1]),
    )
    return view.reshape(n, c * k[0] * k[1], out[0] * out[1])


def _kernel_matrix(w: Any, mode: int) -> Any:
    return (w[:, :, ::-1, ::-1] if mode == 0 else w).reshape(w.shape[0], -1)


def _im2col_conv4(w: Any, x: Any, padding: Any, stride: Any, dilation: Any, mode: int) -> Any:
    xp = xp_of(x)
    p, s, d, out = _conv_geometry(w, x, padding, stride, dilation, mode)
    y = xp.matmul(_kernel_matrix(w, mode), _cols(xp, x, w.shape[2:], p, s, d, out))
    return y.reshape(x.shape[0], w.shape[0], *out)


def _im2col_conv4_dw(
    w: Any, x: Any, dy: Any, padding: Any, stride: Any, dilation: Any, mode: int
) -> Any:
    xp = xp_of(x)
    p, s, d, out = _conv_geometry(w, x, padding, stride, dilation, mode)
    cols = _cols(xp, x, w.shape[2:], p, s, d, out)
    g = dy.reshape(dy.shape[0], dy.shape[1], -1)
    dw = xp.tensordot(g, cols, axes=((0, 2), (0, 2))).reshape(w.shape)
    return xp.ascontiguousarray(dw[:, :, ::-1, ::-1]) if mode == 0 else dw


def _im2col_conv4_dx(
    w: Any, x: Any, dy: Any, padding: Any, stride: Any, dilation: Any, mode: int
) -> Any:
    xp = xp_of(dy)
    p, s, d, out = _conv_geometry(w, x, padding, stride, dilation, mode)
    n, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    g = dy.reshape(n, dy.shape[1], -1)
    dcols = xp.matmul(_kernel_matrix(w, mode).T, g).reshape(n, c, kh, kw, *out)
    dxp = xp.zeros((n, c, h + 2 * p[0], wd + 2 * p[1]), dtype=dcols.dtype)
    for a, b, index in _offsets((kh, kw), s, d, out):
        dxp[index] += dcols[:, :, a, b]
    return _unpad(xp, dxp, p)


# ---- cuDNN (cross-correlation only: convolution flips the filter) ----
def _cudnn() -> Any:
    import cupyx.cudnn  # CuPy <= 13 with the cuDNN libraries; raises otherwise

    return cupyx.cudnn


def _cudnn_conv4(w: Any, x: Any, padding: Any, stride: Any, dilation: Any, mode: int) -> Any:
    import cupy

    p, s, d, out = _conv_geometry(w, x, padding, stride, dilation, mode)
    dtype = cupy.result_type(w, x)
    w, x = w.astype(dtype, copy=False), x.astype(dtype, copy=False)
    wk = cupy.ascontiguousarray(w[:, :, ::-1, ::-1] if mode == 0 else w)
    y = cupy.empty((x.shape[0], w.shape[0], *out), dtype=dtype)
    _cudnn().convolution_forward(x, wk, None, y, p, s, d, 1, auto_tune=False, tensor_core="auto")
    return y


def _cudnn_conv4_dw(
    w: Any, x: Any, dy: Any, padding: Any, stride: Any, dilation: Any, mode: int
) -> Any:
    import cupy

    p, s, d, _ = _conv_geometry(w, x, padding, stride, dilation, mode)
    dtype = cupy.result_type(x, dy)
    dw = cupy.empty(w.shape, dtype=dtype)
    _cudnn().convolution_backward_filter(
        x.astype(dtype, copy=False), dy.astype(dtype, copy=False), dw, p, s, d, 1,
        deterministic=False, auto_tune=False, tensor_core="auto",
    )  # fmt: skip
    return cupy.ascontiguousarray(dw[:, :, ::-1, ::-1]) if mode == 0 else dw


def _cudnn_conv4_dx(
    w: Any, x: Any, dy: Any, padding: Any, stride: Any, dilation: Any, mode: int
) -> Any:
    import cupy

    p, s, d, _ = _conv_geometry(w, x, padding, stride, dilation, mode)
    dtype = cupy.result_type(w, dy)
    wk = cupy.ascontiguousarray((w[:, :, ::-1, ::-1] if mode == 0 else w).astype(dtype, copy=False))
    dx = cupy.empty(x.shape, dtype=dtype)
    _cudnn().convolution_backward_data(
        wk, dy.astype(dtype, copy=False), None, dx, p, s, d, 1,
        deterministic=False, auto_tune=False, tensor_core="auto",
    )  # fmt: skip
    return dx


def _engine(a: Any, b: Any) -> str:
    """``"cudnn"`` or ``"im2col"`` for these two arrays; cuDNN's use is decided once, by a
    self-check, and only its dtypes take it."""
    if xp_of(a) is np or np.result_type(a.dtype, b.dtype).char not in _CUDNN_DTYPES:
        return "im2col"
    if not ENGINE:
        try:
            _cudnn()
            _self_check(xp_of(a))
            ENGINE.update(conv="cudnn", why="cupyx.cudnn agrees with im2col on a test case")
        except Exception as e:  # no cuDNN, or a disagreement: im2col + cuBLAS it is
            ENGINE.update(conv="im2col", why=f"cuDNN not used: {type(e).__name__}: {e}")
    return ENGINE["conv"]


def _self_check(xp: ModuleType) -> None:
    rng = np.random.default_rng(0)
    w, x = (xp.asarray(rng.standard_normal(s)) for s in ((3, 2, 3, 2), (2, 2, 7, 6)))
    kw = dict(padding=(1, 0), stride=(2, 1), dilation=(1, 2), mode=0)
    y = _cudnn_conv4(w, x, **kw)
    dy = xp.asarray(rng.standard_normal(y.shape))
    pairs = [
        (y, _im2col_conv4(w, x, **kw)),
        (_cudnn_conv4_dw(w, x, dy, **kw), _im2col_conv4_dw(w, x, dy, **kw)),
        (_cudnn_conv4_dx(w, x, dy, **kw), _im2col_conv4_dx(w, x, dy, **kw)),
    ]
    for got, want in pairs:
        if got.shape != want.shape or not bool(xp.allclose(got, want, rtol=1e-6, atol=1e-8)):
            raise AssertionError("cuDNN and im2col disagree on the self-check case")


# ---- the kernels ----
def conv4(
    w: Any, x: Any, *, padding: Any = 0, stride: Any = 1, dilation: Any = 1, mode: int = 0
) -> Any:
    """Knet's conv4 on cupy arrays (or numpy ones, through im2col)."""
    f = _cudnn_conv4 if _engine(w, x) == "cudnn" else _im2col_conv4
    return f(w, x, padding, stride, dilation, mode)


def conv4_dw(
    w: Any, x: Any, dy: Any, *, padding: Any = 0, stride: Any = 1, dilation: Any = 1, mode: int = 0
) -> Any:
    """The gradient of ``<dy, conv4(w, x)>`` with respect to ``w``."""
    f = _cudnn_conv4_dw if _engine(x, dy) == "cudnn" else _im2col_conv4_dw
    return f(w, x, dy, padding, stride, dilation, mode)


def conv4_dx(
    w: Any, x: Any, dy: Any, *, padding: Any = 0, stride: Any = 1, dilation: Any = 1, mode: int = 0
) -> Any:
    """The gradient of ``<dy, conv4(w, x)>`` with respect to ``x``."""
    f = _cudnn_conv4_dx if _engine(w, dy) == "cudnn" else _im2col_conv4_dx
    return f(w, x, dy, padding, stride, dilation, mode)


# ---- pooling: loops over the window offsets, each one elementwise kernel ----
def _pool_geometry(x: Any, window: Any, padding: Any, stride: Any, what: str = "pool") -> tuple:
    """Pooling's checks and sizes (`rulegrad.backends.geometry`): window, padding, stride, out."""
    g = pool_geometry(x, window, padding, stride, what)
    return g.window, g.padding, g.stride, g.out


def _divisor(xp: ModuleType, x: Any, k: tuple, p: tuple, s: tuple, out: tuple, mode: int) -> Any:
    check_pool_mode(mode, "pool")
    if mode == 0:
        return 1
    if mode == 1:
        return k[0] * k[1]
    g = Geometry(k, p, s, (1, 1), out)
    return xp.asarray(window_count(x, g))  # unpadded entries per window, counted on the host


def _window_sum(xp: ModuleType, xpad: Any, k: tuple, s: tuple, out: tuple) -> Any:
    total = None
    for _, _, index in _offsets(k, s, (1, 1), out):
        total = xpad[index].copy() if total is None else total + xpad[index]
    return total


def pool(x: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None, mode: int = 0) -> Any:
    """Knet's pool: max (mode 0) or mean (1: over the window, 2: over unpadded entries)."""
    xp = xp_of(x)
    k, p, s, out = _pool_geometry(x, window, padding, stride)
    divisor = _divisor(xp, x, k, p, s, out, mode)
    if mode != 0:
        return _window_sum(xp, _pad(xp, x, p), k, s, out) / divisor
    xpad = _pad(xp, x, p, -np.inf)
    y = None
    for _, _, index in _offsets(k, s, (1, 1), out):
        y = xpad[index].copy() if y is None else xp.maximum(y, xpad[index])
    return y


def pool_dx(
    x: Any, y: Any, dy: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None, mode: int = 0
) -> Any:
    """The gradient of ``<dy, pool(x)>`` with respect to ``x``, given ``y = pool(x)``."""
    xp = xp_of(dy)
    k, p, s, out = _pool_geometry(x, window, padding, stride)
    n, c, h, w = x.shape
    dxp = xp.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=xp.result_type(x, dy))
    if mode == 0:
        xpad = _pad(xp, x, p, -np.inf)
        unclaimed = xp.ones(y.shape, dtype=bool)
        for _, _, index in _offsets(k, s, (1, 1), out):
            hit = (xpad[index] == y) & unclaimed
            unclaimed &= ~hit
            dxp[index] += dy * hit
    else:
        share = dy / _divisor(xp, x, k, p, s, out, mode)
        for _, _, index in _offsets(k, s, (1, 1), out):
            dxp[index] += share
    return _unpad(xp, dxp, p)


def unpool(x: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None) -> Any:
    """Knet's unpool: each value repeated over its window (overlaps add up)."""
    xp = xp_of(x)
    g, size = unpool_geometry(x, window, padding, stride, "unpool")
    k, p, s = g.window, g.padding, g.stride
    yp = xp.zeros(x.shape[:2] + (size[0] + 2 * p[0], size[1] + 2 * p[1]), dtype=x.dtype)
    for _, _, index in _offsets(k, s, (1, 1), x.shape[2:]):
        yp[index] += x
    return _unpad(xp, yp, p)


def unpool_dx(dy: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None) -> Any:
    """The gradient of ``<dy, unpool(x)>`` with respect to ``x``: window sums of ``dy``."""
    xp = xp_of(dy)
    k, p, s, out = _pool_geometry(dy, window, padding, stride, "unpool_dx")
    return _window_sum(xp, _pad(xp, dy, p), k, s, out)
