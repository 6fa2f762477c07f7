"""Functions with no gradient: they return plain values even when given tracked ones."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import implements, plain, zerograd
from ..core.box import metadata

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
# (and so not a read of the data that would stop `jit` from replaying a function; a replay
# checks the shapes read, which may depend on the data: `metadata`).
for _query in (np.shape, np.ndim, np.size):
    implements(_query)(lambda x, *args, _f=_query, **kw: metadata(_f, x, *args, **kw))
for _query in (np.iscomplexobj, np.isrealobj, np.result_type, np.can_cast):
    implements(_query)(lambda *args, _f=_query, **kw: _f(*map(plain, args), **kw))


@zerograd
def stop_gradient(x: Any) -> Any:
    """``x`` as a constant: the same value, with no gradient flowing back through it.

    JAX's ``stop_gradient``, PyTorch's ``detach``. Unlike ``rg.value(x)``, which reads the
    plain data, it is recorded, so `rulegrad.jit` can replay a function that uses it.

    Examples:
        >>> import rulegrad as rg
        >>> x = rg.Param(np.array([1.0, 2.0]))
        >>> J = rg.diff(lambda: np.sum(x * stop_gradient(x)))
        >>> rg.grad(J, x)  # d/dx (x * c) with c = x held constant
        array([1., 2.])
    """
    return x
