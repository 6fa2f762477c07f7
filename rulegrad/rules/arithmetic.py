"""Arithmetic: + - * / ** @, negation, maximum/minimum, where. Broadcasting is the core's job."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Domain, primitive

BINARY = Domain(args=("real", "real"))

# ---- sums and products ----
primitive(np.add, lambda dy, y, a, b: dy, lambda dy, y, a, b: dy, domain=BINARY)
primitive(np.subtract, lambda dy, y, a, b: dy, lambda dy, y, a, b: -dy, domain=BINARY)
primitive(np.multiply, lambda dy, y, a, b: dy * b, lambda dy, y, a, b: dy * a, domain=BINARY)
primitive(np.negative, lambda dy, y, x: -dy, domain=Domain(args=("real",)))
primitive(np.positive, lambda dy, y, x: dy, domain=Domain(args=("real",)))
primitive(
    np.true_divide,
    lambda dy, y, a, b: dy / b,
    lambda dy, y, a, b: -dy * y / b,
    domain=Domain(args=("real", "nonzero")),
)


# ---- powers ----
def _power_da(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """d(a**b)/da = b * a**(b-1)."""
    return dy * b * a ** (b - 1)


def _power_db(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """d(a**b)/db = a**b * log(a), taken as 0 where a <= 0 (b is then usually constant)."""
    return dy * y * np.log(np.where(a > 0, a, 1))


primitive(np.power, _power_da, _power_db, domain=Domain(args=("positive", "real")))
primitive(np.square, lambda dy, y, x: dy * 2 * x, domain=Domain(args=("real",)))


# ---- matrix product ----
def _matmul_da(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """d(a @ b)/da = dy @ b^T, with numpy's promotion of 1-d operands undone."""
    if np.ndim(b) == 1:
        return np.multiply.outer(dy, b) if np.ndim(a) > 1 else dy * b
    if np.ndim(a) == 1:
        return np.matmul(np.expand_dims(dy, -2), np.swapaxes(b, -1, -2))[..., 0, :]
    return np.matmul(dy, np.swapaxes(b, -1, -2))


def _matmul_db(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """d(a @ b)/db = a^T @ dy, with numpy's promotion of 1-d operands undone."""
    if np.ndim(a) == 1:
        return np.multiply.outer(a, dy) if np.ndim(b) > 1 else dy * a
    if np.ndim(b) == 1:
        return np.matmul(np.swapaxes(a, -1, -2), np.expand_dims(dy, -1))[..., 0]
    return np.matmul(np.swapaxes(a, -1, -2), dy)


primitive(np.matmul, _matmul_da, _matmul_db, domain=Domain(args=("real", "real"), shapes="matmul"))


# ---- selection ----
def _maximum_da(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """Ties send the gradient to the first argument."""
    return dy * (a >= b)


primitive(
    np.maximum,
    _maximum_da,
    lambda dy, y, a, b: dy * (a < b),
    domain=Domain(args=("real", "real"), avoid=(0.0,)),
)
primitive(
    np.minimum,
    lambda dy, y, a, b: dy * (a <= b),
    lambda dy, y, a, b: dy * (a > b),
    domain=Domain(args=("real", "real"), avoid=(0.0,)),
)
primitive(
    np.where,
    None,
    lambda dy, y, c, a, b: np.where(c, dy, np.zeros_like(dy)),
    lambda dy, y, c, a, b: np.where(c, np.zeros_like(dy), dy),
    domain=Domain(args=("bool", "real", "real")),
)
