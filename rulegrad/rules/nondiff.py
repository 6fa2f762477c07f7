"""Functions with no gradient: they return plain values even when given tracked ones."""

from __future__ import annotations

import numpy as np

from ..core import zerograd

zerograd(
    # comparisons and logic
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isfinite, np.isnan, np.isinf, np.allclose, np.isclose, np.array_equal,
    # piecewise constant
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.round, np.floor_divide,
    # indices and queries
    np.argmax, np.argmin, np.argsort, np.nonzero, np.shape, np.ndim, np.size,
    np.all, np.any, np.count_nonzero,
    # constructors from a template
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
)  # fmt: skip
