"""Reductions: sum and mean over all or some axes, with keepdims."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Domain, primitive

AXES = Domain(args=("real",), kwargs={"axis": ("axis",), "keepdims": (False, True)})


def _restore(dy: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Reshape a reduced gradient so it broadcasts against ``x`` again."""
    if axis is None or keepdims:
        return dy if keepdims or np.ndim(dy) == np.ndim(x) else np.reshape(dy, (1,) * np.ndim(x))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shape = list(np.shape(x))
    for ax in axes:
        shape[ax % len(shape)] = 1
    return np.reshape(dy, shape)


def _sum_dx(dy: Any, y: Any, x: Any, axis: Any = None, dtype: Any = None, **kw: Any) -> Any:
    """Every element of x gets the gradient of the sum it went into."""
    return np.broadcast_to(_restore(dy, x, axis, kw.get("keepdims", False)), np.shape(x))


def _mean_dx(dy: Any, y: Any, x: Any, axis: Any = None, dtype: Any = None, **kw: Any) -> Any:
    """The sum's gradient divided by the number of elements averaged."""
    n = np.size(x) // max(np.size(y), 1) if np.size(x) else 1
    return _sum_dx(dy, y, x, axis, **kw) / n


primitive(np.sum, _sum_dx, domain=AXES)
primitive(np.mean, _mean_dx, domain=AXES)
