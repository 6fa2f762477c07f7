"""Shape and indexing: reshape, transpose, swapaxes, broadcast_to, expand_dims, indexing,
concatenate."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..core import Domain, implements, primitive, unbroadcast

# ---- reshaping (the gradient is reshaped back) ----
primitive(np.reshape, lambda dy, y, x, *a, **k: np.reshape(dy, np.shape(x)), None)
primitive(np.ravel, lambda dy, y, x, *a, **k: np.reshape(dy, np.shape(x)))
primitive(np.expand_dims, lambda dy, y, x, axis: np.reshape(dy, np.shape(x)), None)
primitive(np.squeeze, lambda dy, y, x, *a, **k: np.reshape(dy, np.shape(x)))
primitive(np.broadcast_to, lambda dy, y, x, *a, **k: unbroadcast(dy, x), None)


# ---- axes ----
def _transpose_dx(dy: Any, y: Any, x: Any, axes: Any = None) -> Any:
    """Transpose back with the inverse permutation."""
    return np.transpose(dy, None if axes is None else np.argsort(axes))


primitive(np.transpose, _transpose_dx, None)
primitive(np.swapaxes, lambda dy, y, x, a, b: np.swapaxes(dy, a, b), None, None)


# ---- indexing: getitem and its adjoint, which scatters (adding repeated indices) ----
@primitive(lambda dy, y, g, x, index: dy[index], None, None)
def untake(g: Any, x: Any, index: Any) -> Any:
    """Zeros shaped like ``x`` (dtype of ``g``) with ``g`` added at ``x[index]``."""
    out = np.zeros(np.shape(x), dtype=g.dtype if hasattr(g, "dtype") else np.result_type(g))
    np.add.at(out, index, g)
    return out


primitive(operator.getitem, lambda dy, y, x, index: untake(dy, x, index), None)


# ---- joining ----
def _concatenate_vjp(dy: Any, y: Any, *arrays: Any, axis: int = 0) -> tuple:
    """Each input gets its slice of dy along ``axis``."""
    ax = axis % np.ndim(y)
    ends = np.cumsum([np.shape(a)[ax] for a in arrays])
    pre = (slice(None),) * ax
    return tuple(dy[(*pre, slice(e - np.shape(a)[ax], e))] for a, e in zip(arrays, ends))


@primitive(vjp=_concatenate_vjp, domain=Domain(args=("real", "real"), shapes="same"))
def concat(*arrays: Any, axis: int = 0) -> Any:
    """``np.concatenate(arrays, axis)`` with the arrays as separate arguments."""
    return np.concatenate(arrays, axis=axis)


@implements(np.concatenate)
def _concatenate(arrays: Any, axis: int = 0, **kw: Any) -> Any:
    if axis is None:
        return concat(*(np.ravel(a) for a in arrays))
    return concat(*arrays, axis=axis)
