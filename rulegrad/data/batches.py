"""Minibatches of (x, y) pairs along a chosen sample axis, like Knet's `minibatch`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import final

import numpy as np

__all__ = ["Minibatches", "minibatch"]


@final
class Minibatches:
    """A re-iterable sequence of `(xb, yb)` minibatches; build it with `minibatch`.

    Each iteration draws a new order when `shuffle` is set, so one object serves every epoch.
    """

    __slots__ = ("x", "y", "n", "shuffle", "rng", "partial", "axes", "count")

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        n: int,
        *,
        shuffle: bool = False,
        rng: np.random.Generator | int | None = None,
        partial: bool = False,
        axis: int = 0,
    ) -> None:
        self.x, self.y = np.asarray(x), np.asarray(y)
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"minibatch: batch size n must be a positive integer, got {n!r}")
        self.axes = (_sample_axis(axis, self.x, "x"), _sample_axis(axis, self.y, "y"))
        self.count = self.x.shape[self.axes[0]]
        if self.y.shape[self.axes[1]] != self.count:
            raise ValueError(
                f"minibatch: x has {self.count} samples along axis {axis} (shape {self.x.shape}) "
                f"but y has {self.y.shape[self.axes[1]]} (shape {self.y.shape})"
            )
        self.n, self.shuffle, self.partial = int(n), shuffle, partial
        self.rng = np.random.default_rng(rng)

    def __len__(self) -> int:
        full, rest = divmod(self.count, self.n)
        return full + int(self.partial and rest > 0)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.rng.permutation(self.count) if self.shuffle else None
        for start in range(0, len(self) * self.n, self.n):
            # without shuffling, slices keep the batches views rather than copies
            index = slice(start, start + self.n) if order is None else order[start : start + self.n]
            yield _take(self.x, index, self.axes[0]), _take(self.y, index, self.axes[1])

    def __repr__(self) -> str:
        return (
            f"Minibatches({len(self)} batches of {self.n} from {self.count} samples, "
            f"shuffle={self.shuffle}, partial={self.partial})"
        )


def _sample_axis(axis: int, a: np.ndarray, name: str) -> int:
    """Return `axis` as a non-negative axis of `a`, or raise a ValueError naming the array."""
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(
            f"minibatch: sample axis {axis} is out of range for {name} of shape {a.shape}"
        )
    return axis % a.ndim


def _take(a: np.ndarray, index: slice | np.ndarray, axis: int) -> np.ndarray:
    """Index `a` with `index` along `axis`."""
    return a[(slice(None),) * axis + (index,)]


def minibatch(
    x: np.ndarray,
    y: np.ndarray,
    n: int,
    *,
    shuffle: bool = False,
    rng: np.random.Generator | int | None = None,
    partial: bool = False,
    axis: int = 0,
) -> Minibatches:
    """Split `x` and `y` into minibatches of `n` samples along `axis`.

    Args:
        x: inputs.
        y: targets, with as many samples along `axis` as `x`.
        n: samples per batch.
        shuffle: draw a new random order at the start of every iteration.
        rng: a numpy Generator or seed for the shuffling.
        partial: keep a last, smaller batch (dropped by default, as in Knet).
        axis: the sample axis of both arrays; 0 for row-major data, 1 or -1 for Knet's
            features x samples layout (as `housing` returns).

    Returns:
        A re-iterable `Minibatches` with `len` equal to the number of batches.

    Raises:
        ValueError: `x` and `y` differ in sample count, `n` < 1, or `axis` is out of range.

    Examples:
        >>> x, y = np.arange(10).reshape(2, 5), np.arange(5)
        >>> batches = minibatch(x, y, 2, axis=-1)
        >>> len(batches), [yb.tolist() for _, yb in batches]
        (2, [[0, 1], [2, 3]])
        >>> next(iter(batches))[0]
        array([[0, 1],
               [5, 6]])
    """
    return Minibatches(x, y, n, shuffle=shuffle, rng=rng, partial=partial, axis=axis)
