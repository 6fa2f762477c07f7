"""Functions with no gradient: they return plain values even when given tracked ones."""

from __future__ import annotations

import numpy as np

from ..core import implements, plain, zerograd

zerograd(
    # comparisons and logic
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isfinite, np.isnan, np.isinf, np.isneginf, np.isposinf, np.signbit,
    np.allclose, np.isclose, np.array_equal, np.array_equiv,
    np.iscomplex, np.isreal,
    # piecewise constant
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.fix, np.round, np.floor_divide,
    np.heaviside, np.nextafter, np.spacing,
    # indices and queries
    np.argmax, np.argmin, np.argsort, np.argpartition, np.argwhere, np.nonzero,
    np.flatnonzero, np.searchsorted, np.digitize,
    np.all, np.any, np.count_nonzero,
    # constructors from a template
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
)  # fmt: skip

# Shape and dtype queries read metadata, not values: answered from the plain value, unrecorded
# (and so not a read of the data that would stop `jit` from replaying a function).
for _query in (np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj, np.result_type,
               np.can_cast):  # fmt: skip
    implements(_query)(lambda *args, _f=_query, **kw: _f(*map(plain, args), **kw))
