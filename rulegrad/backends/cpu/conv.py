"""Knet's conv4, pool and unpool on numpy arrays (NCHW), each with its backward functions.

Convolution is im2col plus one BLAS matmul: a strided view of the padded input is copied once into
a column matrix, and the forward pass and both backward passes are each a single GEMM (batched over
images when the output is large). The adjoint of im2col (col2im) loops over the kh*kw kernel
offsets, adding one strided slice per offset; pooling loops over window offsets the same way. No
Python loop ever runs over pixels or images. Dtypes are kept: float32 in gives float32 out.

This module imports only numpy; the autodiff wiring registers these functions as primitives, with
the ``*_dw``/``*_dx`` functions as their gradient rules. conv4 is bilinear, so, as in Knet, its
backward functions are each other's gradients (the second-order rules), by the identity
``<conv4(w, x), dy> == <conv4_dw(w, x, dy), w> == <conv4_dx(w, x, dy), x>``.

Not here: Knet's 5-D (3-D convolution) arrays, ``group``, ``alpha`` and the cuDNN-only options.
"""

from __future__ import annotations

__all__ = ["conv4", "conv4_dw", "conv4_dx", "pool", "pool_dx", "unpool", "unpool_dx"]

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..geometry import Geometry as _Geometry
from ..geometry import IntPair
from ..geometry import check_pool_mode as _check_pool_mode
from ..geometry import conv_geometry as _conv_geometry
from ..geometry import pool_geometry as _pool_geometry
from ..geometry import unpool_geometry as _unpool_geometry
from ..geometry import window_count as _window_count

# From this many output pixels per image on, conv4 and conv4_dx run one GEMM per image, which
# writes NCHW directly; below it, one GEMM for the whole batch plus a transpose is faster
# (measured with one OpenBLAS thread: LeNet's 24x24 outputs vs 4x4 to 7x7 ones).
_PER_IMAGE_MIN_PIXELS = 256


# ---- geometry ----


def _offsets(g: _Geometry) -> Iterator[tuple[int, int, tuple]]:
    """Yield ``(a, b, index)`` per window offset: ``xp[index]`` is what offset (a, b) sees.

    ``xp`` is the padded input; ``xp[index]`` has shape (N, C, *g.out).
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = g.window, g.stride, g.dilation, g.out
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (ho - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (wo - 1) + 1, sw)
            yield a, b, (Ellipsis, rows, cols)


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``x`` by ``padding`` on both sides with ``value``."""
    ph, pw = padding
    if ph == pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    return xp


def _unpad(xp: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """Undo ``_pad``: the interior of ``xp`` as a contiguous array."""
    ph, pw = padding
    if ph == pw == 0:
        return xp
    return np.ascontiguousarray(xp[:, :, ph : xp.shape[2] - ph, pw : xp.shape[3] - pw])


# ---- convolution ----


def _kernel_matrix(w: np.ndarray, mode: int) -> np.ndarray:
    """``w`` as a (K, C*kh*kw) matrix, flipped in both spatial axes for mode 0 (convolution)."""
    if mode == 0:
        w = w[:, :, ::-1, ::-1]
    return w.reshape(w.shape[0], -1)


def _per_image(g: _Geometry) -> bool:
    """Whether conv4 and conv4_dx should run one GEMM per image rather than one for the batch."""
    return g.out[0] * g.out[1] >= _PER_IMAGE_MIN_PIXELS


def _im2col(x: np.ndarray, g: _Geometry, per_image: bool) -> np.ndarray:
    """Copy every window of padded ``x`` into a column matrix (the only copy of the input).

    Returns (N, C*kh*kw, Ho*Wo) if ``per_image``, else (C*kh*kw, N*Ho*Wo).
    """
    (kh, kw), (sh, sw), (dh, dw) = g.window, g.stride, g.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    # (N, C, Ho, Wo, kh, kw), still a view of xp
    windows = sliding_window_view(_pad(x, g.padding), span, axis=(2, 3))[
        :, :, ::sh, ::sw, ::dh, ::dw
    ]
    n, c, ho, wo = windows.shape[:4]
    if per_image:
        return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * ho * wo)


def conv4(
    w: np.ndarray,
    x: np.ndarray,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    mode: int = 0,
) -> np.ndarray:
    """Convolve a batch of images ``x`` with filters ``w`` (Knet's ``conv4``, NCHW layout).

    ``y[n, k, i, j] = sum_{c, a, b} w'[k, c, a, b] * xp[n, c, i*sh + a*dh, j*sw + b*dw]``, where
    ``xp`` is ``x`` zero-padded by ``padding`` and ``w'`` is ``w`` flipped in both spatial axes
    for ``mode=0`` (true convolution, Knet's default) or ``w`` itself for ``mode=1``
    (cross-correlation, PyTorch's ``conv2d``).

    Args:
        w: Filters, shape (K, C, kh, kw).
        x: Images, shape (N, C, H, W).
        padding: Zero padding (ph, pw) on both sides of each spatial axis, or one int for both.
        stride: Step (sh, sw) between output pixels, or one int.
        dilation: Spacing (dh, dw) between filter taps, or one int.
        mode: 0 for convolution, 1 for cross-correlation.

    Returns:
        Shape (N, K, Ho, Wo) with ``Ho = (H + 2*ph - dh*(kh-1) - 1) // sh + 1`` (same for Wo),
        dtype ``result_type(w, x)``.

    Examples:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> conv4(np.array([[[[1.0, 0.0], [0.0, 0.0]]]]), x)  # mode 0 flips the filter
        array([[[[4., 5.],
                 [7., 8.]]]])
        >>> conv4(np.ones((2, 1, 2, 2), np.float32), x.astype(np.float32), padding=1).shape
        (1, 2, 4, 4)
    """
    g = _conv_geometry(w, x, padding, stride, dilation, mode)
    n, k, (ho, wo) = x.shape[0], w.shape[0], g.out
    per_image = _per_image(g)
    y = _kernel_matrix(w, mode) @ _im2col(x, g, per_image)
    if per_image:
        return y.reshape(n, k, ho, wo)
    return np.ascontiguousarray(y.reshape(k, n, ho, wo).transpose(1, 0, 2, 3))


def conv4_dw(
    w: np.ndarray,
    x: np.ndarray,
    dy: np.ndarray,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    mode: int = 0,
) -> np.ndarray:
    """Gradient of ``<dy, conv4(w, x)>`` with respect to ``w`` (Knet's ``conv4w``).

    For ``mode=1``, ``dw[k, c, a, b] = sum_{n, i, j} dy[n, k, i, j] * xp[n, c, i*sh + a*dh,
    j*sw + b*dw]``, one GEMM of ``dy`` against the im2col matrix of ``x``; for ``mode=0`` the
    result is flipped in both spatial axes. Linear in ``dy`` and in ``x``, independent of ``w``
    (only its shape is used).

    Args:
        w: Filters, shape (K, C, kh, kw).
        x: Images, shape (N, C, H, W).
        dy: Gradient of the output, shape (N, K, Ho, Wo).
        padding: As for ``conv4``.
        stride: As for ``conv4``.
        dilation: As for ``conv4``.
        mode: As for ``conv4``.

    Returns:
        The gradient, shape (K, C, kh, kw), dtype ``result_type(x, dy)``.

    Examples:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> conv4_dw(np.zeros((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)), mode=1)
        array([[[[ 8., 12.],
                 [20., 24.]]]])
    """
    g = _conv_geometry(w, x, padding, stride, dilation, mode)
    cols = _im2col(x, g, per_image=False)  # one GEMM over all images and pixels
    dw = (dy.transpose(1, 0, 2, 3).reshape(w.shape[0], -1) @ cols.T).reshape(w.shape)
    return np.ascontiguousarray(dw[:, :, ::-1, ::-1]) if mode == 0 else dw


def conv4_dx(
    w: np.ndarray,
    x: np.ndarray,
    dy: np.ndarray,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    mode: int = 0,
) -> np.ndarray:
    """Gradient of ``<dy, conv4(w, x)>`` with respect to ``x`` (Knet's ``conv4x``).

    ``dx = col2im(W'^T @ dy)``: one GEMM of the (K, C*kh*kw) kernel matrix against ``dy`` gives
    each window's gradient, and col2im adds every window back onto the pixels it came from
    (a loop over the kh*kw offsets), dropping the padding. Linear in ``dy`` and in ``w``,
    independent of ``x`` (only its shape is used).

    Args:
        w: Filters, shape (K, C, kh, kw).
        x: Images, shape (N, C, H, W).
        dy: Gradient of the output, shape (N, K, Ho, Wo).
        padding: As for ``conv4``.
        stride: As for ``conv4``.
        dilation: As for ``conv4``.
        mode: As for ``conv4``.

    Returns:
        The gradient, shape (N, C, H, W), dtype ``result_type(w, dy)``.

    Examples:
        >>> conv4_dx(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
        array([[[[1., 2., 1.],
                 [2., 4., 2.],
                 [1., 2., 1.]]]])
    """
    g = _conv_geometry(w, x, padding, stride, dilation, mode)
    (n, c, h, wd), k, (kh, kw), (ho, wo) = x.shape, w.shape[0], g.window, g.out
    wt = _kernel_matrix(w, mode).T
    ph, pw = g.padding
    if _per_image(g):
        dcols = (wt @ dy.reshape(n, k, ho * wo)).reshape(n, c, kh, kw, ho, wo)
        dxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=dcols.dtype)
        for a, b, index in _offsets(g):
            dxp[index] += dcols[:, :, a, b]
        return _unpad(dxp, g.padding)
    # one GEMM for the batch gives (C, kh, kw, N, Ho, Wo): add its windows up in that (C, N)
    # order, where each offset's block is contiguous, and transpose once at the end (18 %
    # faster than adding into (N, C) order for LeNet's second layer)
    dcols = wt @ dy.transpose(1, 0, 2, 3).reshape(k, n * ho * wo)
    dcols = dcols.reshape(c, kh, kw, n, ho, wo)
    dxp = np.zeros((c, n, h + 2 * ph, wd + 2 * pw), dtype=dcols.dtype)
    for a, b, index in _offsets(g):
        dxp[index] += dcols[:, a, b]
    return np.ascontiguousarray(dxp[:, :, ph : h + ph, pw : wd + pw].transpose(1, 0, 2, 3))


# ---- pooling ----


def _window_sum(xp: np.ndarray, g: _Geometry) -> np.ndarray:
    """Sum of each window of the padded input ``xp``, shape (N, C, *g.out)."""
    total = None
    for _, _, index in _offsets(g):
        total = xp[index].copy() if total is None else np.add(total, xp[index], out=total)
    return total


def pool(
    x: np.ndarray,
    *,
    window: IntPair = 2,
    padding: IntPair = 0,
    stride: IntPair | None = None,
    mode: int = 0,
) -> np.ndarray:
    """Pool each window of each channel of ``x`` (Knet's ``pool``, NCHW layout).

    Window (i, j) covers ``xp[n, c, i*sh : i*sh + kh, j*sw : j*sw + kw]`` of the padded input.
    ``mode=0`` takes its maximum (padding counts as -inf), ``mode=1`` its mean over kh*kw
    entries (padding counts as 0), ``mode=2`` its mean over the entries that are not padding.

    Args:
        x: Images, shape (N, C, H, W), floating point.
        window: Window size (kh, kw), or one int for both.
        padding: Padding (ph, pw) on both sides of each spatial axis, or one int.
        stride: Step (sh, sw) between windows, or one int; defaults to ``window``.
        mode: 0 for max, 1 for mean including padding, 2 for mean excluding padding.

    Returns:
        Shape (N, C, Ho, Wo) with ``Ho = (H + 2*ph - kh) // sh + 1`` (same for Wo), dtype of ``x``.

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> pool(x)
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
        >>> pool(x, window=3, stride=1, padding=1, mode=2)[0, 0, 0]
        array([2.5, 3. , 4. , 4.5])
    """
    g = _pool_geometry(x, window, padding, stride, "pool")
    _check_pool_mode(mode, "pool")
    if mode == 0:
        xp = _pad(x, g.padding, -np.inf)
        y = None
        for _, _, index in _offsets(g):
            y = xp[index].copy() if y is None else np.maximum(y, xp[index], out=y)
        return y
    y = _window_sum(_pad(x, g.padding), g)
    y /= g.window[0] * g.window[1] if mode == 1 else _window_count(x, g)
    return y


def pool_dx(
    x: np.ndarray,
    y: np.ndarray,
    dy: np.ndarray,
    *,
    window: IntPair = 2,
    padding: IntPair = 0,
    stride: IntPair | None = None,
    mode: int = 0,
) -> np.ndarray:
    """Gradient of ``<dy, pool(x)>`` w.r.t. ``x``, given ``y = pool(x)`` (Knet's ``poolx``).

    For max pooling (``mode=0``) each ``dy[n, c, i, j]`` goes to the entry of window (i, j) that
    equals ``y[n, c, i, j]``; on ties, to the first one in row-major order within the window.
    For mean pooling it is spread evenly over the window: divided by kh*kw (``mode=1``) or by
    the number of unpadded entries (``mode=2``). Overlapping windows add up; padding is dropped.
    Linear in ``dy``.

    Args:
        x: The input of ``pool``, shape (N, C, H, W).
        y: The output of ``pool(x, ...)`` with the same keywords, shape (N, C, Ho, Wo).
        dy: Gradient of the output, shape (N, C, Ho, Wo).
        window: As for ``pool``.
        padding: As for ``pool``.
        stride: As for ``pool``.
        mode: As for ``pool``.

    Returns:
        The gradient, shape (N, C, H, W), dtype ``result_type(x, dy)``.

    Examples:
        >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
        >>> pool_dx(x, pool(x), np.ones((1, 1, 1, 1)))  # the tie goes to the first 3
        array([[[[0., 1.],
                 [0., 0.]]]])
    """
    g = _pool_geometry(x, window, padding, stride, "pool_dx")
    _check_pool_mode(mode, "pool_dx")
    n, c, h, w = x.shape
    ph, pw = g.padding
    (kh, kw), (sh, sw), (ho, wo) = g.window, g.stride, g.out
    apart = mode == 0 and sh >= kh and sw >= kw  # each entry in at most one window
    # windows that tile the input leave no entry for zeros (LeNet's 2x2, stride 2)
    tiled = apart and sh == kh and sw == kw and (h + 2 * ph, w + 2 * pw) == (ho * kh, wo * kw)
    dxp = (np.empty if tiled else np.zeros)((n, c, h + 2 * ph, w + 2 * pw), np.result_type(x, dy))
    if mode == 0:
        xp = _pad(x, g.padding, -np.inf)
        unclaimed = None  # windows whose maximum is not found yet, after the first offset
        for _, _, index in _offsets(g):
            hit = np.equal(xp[index], y)
            if unclaimed is None:
                unclaimed = np.logical_not(hit)
            else:
                hit &= unclaimed
                unclaimed ^= hit
            if apart:  # written once: straight into dxp, with no temporary
                np.multiply(dy, hit, out=dxp[index])
            else:
                dxp[index] += dy * hit  # several times faster than np.add(..., where=hit)
    else:
        share = dy / (g.window[0] * g.window[1] if mode == 1 else _window_count(x, g))
        for _, _, index in _offsets(g):
            dxp[index] += share
    return _unpad(dxp, g.padding)


def unpool(
    x: np.ndarray, *, window: IntPair = 2, padding: IntPair = 0, stride: IntPair | None = None
) -> np.ndarray:
    """Spread each value of ``x`` over its pooling window (Knet's ``unpool``).

    ``unpool(x) = pool_dx(_, _, x * kh*kw, mode=1)``: the transpose of mean pooling, scaled so
    that each value is repeated over its window. Overlapping windows add up and padding is cut
    off, so the output has ``H' = (H - 1)*sh + kh - 2*ph`` rows (same for columns).

    Args:
        x: Pooled images, shape (N, C, H, W).
        window: Window size (kh, kw), or one int for both.
        padding: Padding (ph, pw) of the pooling being undone, or one int.
        stride: Step (sh, sw) between windows, or one int; defaults to ``window``.

    Returns:
        Shape (N, C, H', W'), dtype of ``x``.

    Examples:
        >>> unpool(np.array([[[[1.0, 2.0]]]]))
        array([[[[1., 1., 2., 2.],
                 [1., 1., 2., 2.]]]])
    """
    g, (h, w) = _unpool_geometry(x, window, padding, stride, "unpool")
    ph, pw = g.padding
    yp = np.zeros(x.shape[:2] + (h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    for _, _, index in _offsets(g):
        yp[index] += x
    return _unpad(yp, g.padding)


def unpool_dx(
    dy: np.ndarray, *, window: IntPair = 2, padding: IntPair = 0, stride: IntPair | None = None
) -> np.ndarray:
    """Gradient of ``<dy, unpool(x)>`` with respect to ``x`` (Knet's ``unpoolx``).

    The sum of ``dy`` over each window, i.e. ``pool(dy, mode=1) * kh*kw``, with the same
    keywords as ``unpool``. It does not depend on ``x``; its shape is the pooled shape of ``dy``.

    Args:
        dy: Gradient of ``unpool``'s output, shape (N, C, H', W').
        window: As for ``unpool``.
        padding: As for ``unpool``.
        stride: As for ``unpool``.

    Returns:
        The gradient, shape (N, C, H, W), dtype of ``dy``.

    Examples:
        >>> unpool_dx(np.arange(8.0).reshape(1, 1, 2, 4))
        array([[[[10., 18.]]]])
    """
    g = _pool_geometry(dy, window, padding, stride, "unpool_dx")
    return _window_sum(_pad(dy, g.padding), g)
