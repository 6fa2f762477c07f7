"""Arithmetic: numpy's binary float ufuncs (+ - * / ** % @ and the rest), clip, where.

Broadcasting is the core's job. Ties in maximum/minimum/fmax/fmin split the gradient in
half between the two arguments (HIPS autograd does the same). Not here: floor_divide,
heaviside, nextafter (piecewise constant: nondiff.py), and the bitwise, logical, gcd and
lcm ufuncs (integers and booleans have no gradient).

Forward mode: the ufuncs' rules are elementwise, so each is also its argument's forward
rule (``jvp=ELEMENTWISE``); matmul has its own (``dx1 @ x2`` and ``x1 @ dx2``), and divmod's
(two outputs) gives the remainder ``dx1 - q dx2`` and the quotient none.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import ELEMENTWISE, Domain, implements, primitive
from ..core.primitive import passthrough
from ._util import any_set, cast_like, zero

REAL2 = Domain(args=("real", "real"))
DIVISOR = Domain(args=("real", "nonzero"))
TIES = Domain(args=("real", "real"), ties=True)  # checked at deliberate ties too

# ---- sums and products ----
primitive(np.add, passthrough, passthrough, jvp=ELEMENTWISE, domain=REAL2)
primitive(np.subtract, passthrough, lambda dy, y, x1, x2: -dy, jvp=ELEMENTWISE, domain=REAL2)
primitive(
    np.multiply,
    lambda dy, y, x1, x2: dy * x2,
    lambda dy, y, x1, x2: dy * x1,
    jvp=ELEMENTWISE,
    domain=REAL2,
)
primitive(
    np.true_divide,
    lambda dy, y, x1, x2: dy / x2,
    lambda dy, y, x1, x2: -dy * y / x2,
    jvp=ELEMENTWISE,
    domain=DIVISOR,
)  # np.divide is np.true_divide


# ---- powers ----
def _power_dx1(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
    """d(x1**x2)/dx1 = x2 * x1**(x2-1); 0 where x2 == 0 (even at x1 == 0)."""
    if isinstance(x2, (int, float)):
        if x2 == 2:
            return dy * (2 * x1)  # the common square, without a power
        return dy * x2 * x1 ** (x2 - 1) if x2 != 0 else np.zeros_like(dy)
    return dy * x2 * x1 ** np.where(x2 == 0, 1, x2 - 1)


def _power_dx2(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
    """d(x1**x2)/dx2 = x1**x2 * log(x1); taken as 0 where x1 <= 0 (x2 is then usually fixed)."""
    if isinstance(x1, (int, float)):  # 2 ** x: a Python log keeps x's dtype
        return dy * y * (math.log(x1) if x1 > 0 else 0.0)
    return dy * y * np.log(np.where(x1 > 0, x1, 1))


primitive(
    np.power, _power_dx1, _power_dx2, jvp=ELEMENTWISE, domain=Domain(args=("positive", "real"))
)


def _in_dtype_of(rule: Any, argnum: int) -> Any:
    """power's rule evaluated in its argument's dtype (float_power computes in float64)."""

    def in_dtype(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
        x = (x1, x2)[argnum]
        return cast_like(rule(cast_like(dy, x), cast_like(y, x), x1, x2), x)

    return in_dtype


primitive(
    np.float_power,
    _in_dtype_of(_power_dx1, 0),
    _in_dtype_of(_power_dx2, 1),
    jvp=ELEMENTWISE,
    domain=Domain(args=("positive", "real")),
)


# ---- remainders: x1 - q * x2 with q piecewise constant (kinks where x1 / x2 is whole) ----
def _remainder_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """x2 in [1, 2) and x1 / x2 at least 0.1 away from a whole number."""
    x2 = rng.uniform(1.0, 2.0, (3, 4))
    x1 = x2 * (rng.integers(-3, 3, (3, 4)) + rng.uniform(0.1, 0.9, (3, 4)))
    return (x1, x2), {}


REMAINDER = Domain(args=("real", "nonzero"), sample=_remainder_sample)
primitive(
    np.remainder,
    passthrough,
    lambda dy, y, x1, x2: -dy * np.floor_divide(x1, x2),
    jvp=ELEMENTWISE,
    domain=REMAINDER,
)
primitive(
    np.fmod,
    passthrough,
    lambda dy, y, x1, x2: -dy * np.trunc(x1 / x2),
    jvp=ELEMENTWISE,
    domain=REMAINDER,
)
primitive(  # two outputs: the quotient (a step function: no tangent) and x1 - q x2
    np.divmod,
    lambda dy, y, x1, x2: dy[1],
    lambda dy, y, x1, x2: -dy[1] * y[0],
    jvp=(lambda dx, y, x1, x2: (None, dx), lambda dx, y, x1, x2: (None, -dx * y[0])),
    domain=REMAINDER,
)


# ---- selection: the gradient goes to the argument chosen, half to each on a tie ----
def _selection(wins: Any, argnum: int) -> Any:
    """The rule of argument ``argnum`` of a choice between two values (maximum, ...):
    ``dy`` where ``wins(this, other)``, ``dy / 2`` where the two are equal, else 0."""

    def rule(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
        g = dy * (wins(x1, x2) if argnum == 0 else wins(x2, x1))
        tie = x1 == x2  # ties are rare: test for one before spending two ops on them
        return np.where(tie, 0.5 * dy, g) if any_set(tie) else g

    rule.__name__ = f"{getattr(wins, '__name__', 'wins')}_d{argnum + 1}"
    return rule


def _greater_or_nan(a: Any, b: Any) -> Any:
    return (a > b) | np.isnan(b)  # fmax/fmin ignore NaN: the number wins against a NaN


def _less_or_nan(a: Any, b: Any) -> Any:
    return (a < b) | np.isnan(b)


primitive(
    np.maximum, _selection(np.greater, 0), _selection(np.greater, 1), jvp=ELEMENTWISE, domain=TIES
)
primitive(np.minimum, _selection(np.less, 0), _selection(np.less, 1), jvp=ELEMENTWISE, domain=TIES)
primitive(
    np.fmax,
    _selection(_greater_or_nan, 0),
    _selection(_greater_or_nan, 1),
    jvp=ELEMENTWISE,
    domain=TIES,
)
primitive(
    np.fmin, _selection(_less_or_nan, 0), _selection(_less_or_nan, 1), jvp=ELEMENTWISE, domain=TIES
)
primitive(
    np.where,
    None,
    lambda dy, y, condition, x, y_: np.where(condition, dy, np.zeros_like(dy)),
    lambda dy, y, condition, x, y_: np.where(condition, np.zeros_like(dy), dy),
    jvp=ELEMENTWISE,
    domain=Domain(args=("bool", "real", "real")),
)


@implements(np.clip)
def _clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Any:
    """``np.clip`` as maximum then minimum, so the bounds get gradients too."""
    lo, hi = kwargs.pop("min", a_min), kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"np.clip on tracked values takes no {sorted(kwargs)}")
    if lo is not None:
        a = np.maximum(a, lo)
    return a if hi is None else np.minimum(a, hi)


# ---- two-argument functions ----
def _arctan2_dx1(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
    """d atan2(x1, x2)/dx1 = x2 / (x1^2 + x2^2)."""
    return dy * x2 / (x1 * x1 + x2 * x2)


def _arctan2_dx2(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
    """d atan2(x1, x2)/dx2 = -x1 / (x1^2 + x2^2)."""
    return -dy * x1 / (x1 * x1 + x2 * x2)


primitive(
    np.arctan2,
    _arctan2_dx1,
    _arctan2_dx2,
    jvp=ELEMENTWISE,
    domain=Domain(args=("nonzero", "nonzero")),
)
primitive(
    np.hypot,
    lambda dy, y, x1, x2: dy * x1 / y,
    lambda dy, y, x1, x2: dy * x2 / y,
    jvp=ELEMENTWISE,
    domain=Domain(args=("nonzero", "nonzero")),
)
primitive(
    np.logaddexp,
    lambda dy, y, x1, x2: dy * np.exp(x1 - y),
    lambda dy, y, x1, x2: dy * np.exp(x2 - y),
    jvp=ELEMENTWISE,
    domain=REAL2,
)
primitive(
    np.logaddexp2,
    lambda dy, y, x1, x2: dy * np.exp2(x1 - y),
    lambda dy, y, x1, x2: dy * np.exp2(x2 - y),
    jvp=ELEMENTWISE,
    domain=REAL2,
)
primitive(
    np.copysign,
    lambda dy, y, x1, x2: dy * np.sign(x1) * np.sign(y),
    zero,
    jvp=ELEMENTWISE,
    domain=Domain(args=("nonzero", "nonzero")),
)
primitive(
    np.ldexp,
    lambda dy, y, x1, x2: np.ldexp(dy, x2),
    None,
    jvp=ELEMENTWISE,
    domain=Domain(args=("real", "int")),
)


# ---- matrix product (the @ operator; the other products are in linalg.py) ----
def _matmul_dx1(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
    """d(x1 @ x2)/dx1 = dy @ x2^T, with numpy's promotion of 1-d operands undone."""
    n1, n2 = getattr(x1, "ndim", None), getattr(x2, "ndim", None)  # (np.ndim is Python code)
    if n1 == n2 == 2:  # the common case first
        return np.matmul(dy, x2.T)
    n1, n2 = np.ndim(x1), np.ndim(x2)  # (matmul's operands are arrays or nested lists)
    if n2 == 1:
        return np.expand_dims(dy, -1) * x2 if n1 > 1 else dy * x2
    if n1 == 1:
        return np.matmul(np.expand_dims(dy, -2), np.swapaxes(x2, -1, -2))[..., 0, :]
    return np.matmul(dy, x2.T if n2 == 2 else np.swapaxes(x2, -1, -2))


def _matmul_dx2(dy: Any, y: Any, x1: Any, x2: Any) -> Any:
    """d(x1 @ x2)/dx2 = x1^T @ dy, with numpy's promotion of 1-d operands undone."""
    n1, n2 = getattr(x1, "ndim", None), getattr(x2, "ndim", None)
    if n1 == n2 == 2:
        return np.matmul(x1.T, dy)
    n1, n2 = np.ndim(x1), np.ndim(x2)
    if n1 == 1:
        return np.expand_dims(x1, -1) * np.expand_dims(dy, -2) if n2 > 1 else dy * x1
    if n2 == 1:
        return np.matmul(np.swapaxes(x1, -1, -2), np.expand_dims(dy, -1))[..., 0]
    return np.matmul(x1.T if n1 == 2 else np.swapaxes(x1, -1, -2), dy)


primitive(
    np.matmul,
    _matmul_dx1,
    _matmul_dx2,
    jvp=(lambda dx1, y, x1, x2: dx1 @ x2, lambda dx2, y, x1, x2: x1 @ dx2),
    domain=Domain(args=("real", "real"), shapes="matmul"),
)


# ---- ufunc.outer: broadcasting in disguise ----
def _outer(ufunc: np.ufunc) -> Any:
    def outer(a: Any, b: Any, **kwargs: Any) -> Any:
        return ufunc(np.reshape(a, np.shape(a) + (1,) * np.ndim(b)), b, **kwargs)

    outer.__name__ = f"{ufunc.__name__}_outer"
    outer.__doc__ = f"``np.{ufunc.__name__}.outer`` by broadcasting."
    return outer


for _ufunc in (
    np.add,
    np.subtract,
    np.multiply,
    np.true_divide,
    np.power,
    np.maximum,
    np.minimum,
    np.hypot,
    np.arctan2,
    np.logaddexp,
):
    implements(_ufunc.outer)(_outer(_ufunc))
