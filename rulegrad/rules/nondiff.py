"""Functions with no gradient: they return plain values even when given tracked ones."""

from __future__ import annotations

import numpy as np

from ..core import zerograd

zerograd(
    # comparisons and logic
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isfinite, np.isnan, np.isinf, np.isneginf, np.isposinf, np.signbit,
    np.allclose, np.isclose, np.array_equal, np.array_equiv,
    np.iscomplexobj, np.isrealobj, np.iscomplex, np.isreal,
    # piecewise constant
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.fix, np.round, np.floor_divide,
    np.heaviside, np.nextafter, np.spacing,
    # indices and queries
    np.argmax, np.argmin, np.argsort, np.argpartition, np.argwhere, np.nonzero,
    np.flatnonzero, np.searchsorted, np.digitize, np.shape, np.ndim, np.size,
    np.all, np.any, np.count_nonzero, np.result_type, np.can_cast,
    # constructors from a template
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
)  # fmt: skip
