"""The geometry of Knet's conv4, pool and unpool, shared by every backend's kernels.

Argument checks and output sizes work on shapes only, so the numpy and the cupy kernels
accept and refuse exactly the same calls with the same messages. The fans of a weight
shape, which every backend's initializers (``random.xavier``) use, are here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Geometry", "IntPair", "check_pool_mode", "conv_geometry", "fans", "pair", "pool_geometry",
    "unpool_geometry", "window_count",
]  # fmt: skip

IntPair = int | tuple[int, int]


def pair(v: IntPair, name: str, least: int) -> tuple[int, int]:
    """Return ``v`` as a pair of ints, each at least ``least``."""
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or any(int(p) != p or p < least for p in pair):
        raise ValueError(f"{name} must be an int >= {least} or a pair of them, got {v!r}")
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True, slots=True)
class Geometry:
    """Sizes of one convolution or pooling call: window, padding, stride, dilation, output."""

    window: tuple[int, int]
    padding: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]


def geometry(
    x: Any,
    window: tuple[int, int],
    padding: IntPair,
    stride: IntPair,
    dilation: IntPair,
    what: str,
) -> Geometry:
    """Check that ``x`` is NCHW and that a window fits; compute the output size."""
    if x.ndim != 4:
        raise ValueError(f"{what}: x must be 4-D (N, C, H, W), got shape {x.shape}")
    padding = pair(padding, "padding", 0)
    stride = pair(stride, "stride", 1)
    dilation = pair(dilation, "dilation", 1)
    out = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, p, s, d in zip(x.shape[2:], window, padding, stride, dilation, strict=True)
    )
    if min(out) < 1:
        raise ValueError(
            f"{what}: window {window} (dilation {dilation}) does not fit the input of height and "
            f"width {x.shape[2:]} padded by {padding}; use a smaller window or more padding"
        )
    return Geometry(window, padding, stride, dilation, out)


def conv_geometry(
    w: Any, x: Any, padding: IntPair, stride: IntPair, dilation: IntPair, mode: int
) -> Geometry:
    """Check conv4's arguments and compute its geometry."""
    if w.ndim != 4 or x.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(
            f"conv4: expected w (K, C, kh, kw) and x (N, C, H, W) with the same C, "
            f"got w {w.shape} and x {x.shape}"
        )
    if mode not in (0, 1):
        raise ValueError(
            f"conv4: mode must be 0 (convolution) or 1 (cross-correlation), got {mode}"
        )
    return geometry(x, w.shape[2:], padding, stride, dilation, "conv4")


def pool_geometry(
    x: Any, window: IntPair, padding: IntPair, stride: IntPair | None, what: str
) -> Geometry:
    """Pooling geometry; ``stride`` defaults to the window, as in Knet."""
    window = pair(window, "window", 1)
    return geometry(x, window, padding, window if stride is None else stride, 1, what)


def window_count(x: Any, g: Geometry) -> np.ndarray:
    """How many unpadded entries each window covers, shape (Ho, Wo), dtype of ``x``."""
    counts = []
    for n, k, p, s, o in zip(x.shape[2:], g.window, g.padding, g.stride, g.out, strict=True):
        start = np.arange(o) * s - p
        counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
    return np.maximum(np.multiply.outer(*counts), 1).astype(x.dtype)


def check_pool_mode(mode: int, what: str) -> None:
    if mode not in (0, 1, 2):
        raise ValueError(
            f"{what}: mode must be 0 (max), 1 (mean including padding) or 2 (mean excluding "
            f"padding), got {mode}"
        )


def unpool_geometry(
    x: Any, window: IntPair, padding: IntPair, stride: IntPair | None, what: str
) -> tuple[Geometry, tuple[int, int]]:
    """Geometry of the mean pooling that ``unpool`` inverts, and the (H, W) it produces."""
    if x.ndim != 4:
        raise ValueError(f"{what}: x must be 4-D (N, C, H, W), got shape {x.shape}")
    window = pair(window, "window", 1)
    padding = pair(padding, "padding", 0)
    stride = window if stride is None else pair(stride, "stride", 1)
    size = tuple(
        (n - 1) * s + k - 2 * p
        for n, k, p, s in zip(x.shape[2:], window, padding, stride, strict=True)
    )
    if min(size) < 1:
        raise ValueError(f"{what}: padding {padding} leaves nothing of the unpooled {size}")
    return Geometry(window, padding, stride, (1, 1), x.shape[2:]), size


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan in, fan out) of a weight: (out, in) for dense, (out, in, kh, kw) for conv4.

    Examples:
        >>> fans((20, 1, 5, 5)), fans((10, 784)), fans((7,))
        ((25, 500), (784, 10), (7, 1))
    """
    if len(shape) == 1:
        return shape[0], 1
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive
