"""Elementwise math: numpy's unary float ufuncs, plus sinc. Complex inputs: complex.py.

Forward mode: ``jvp=ELEMENTWISE`` says a rule is its own forward rule (an elementwise
derivative is diagonal: ``dy * cos(x)`` is ``dx * cos(x)``). Not for np.absolute, whose
rule is not complex-linear on complex numbers: it has a forward rule of its own. The
two-output functions' jvps are derived from their rules.

Every differentiable unary ufunc is here (35 of them, counting aliases such as
np.abs/np.absolute and np.degrees/np.rad2deg once each). Not here: sign, floor, ceil,
rint, trunc, spacing, signbit (piecewise constant: nondiff.py); frexp and modf (two
outputs: below, with their own section); isnan and friends (booleans).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import ELEMENTWISE, Domain, primitive
from ..core.primitive import passthrough
from ._util import is_complex

REAL = Domain(args=("real",))
POSITIVE = Domain(args=("positive",))
NONZERO = Domain(args=("nonzero",))
UNIT = Domain(args=("unit",))  # inside the open interval (0, 1)
KINKED = Domain(args=("real",), avoid=(0.0,))
LN2, LN10, DEGREE = math.log(2.0), math.log(10.0), math.pi / 180.0  # Python floats keep dtypes


def _above_one(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Inputs for arccosh, defined for x > 1."""
    return (1.1 + rng.uniform(0.0, 2.0, (3, 4)),), {}


# ---- signs and absolute values ----
def _absolute_dx(dy: Any, y: Any, x: Any) -> Any:
    """sign(x) for real x; conj(x) / |x| for complex x (autograd's convention); 0 at 0."""
    if is_complex(x):
        return dy * np.conj(x) / np.where(y == 0, 1, y)
    return dy * np.sign(x)


primitive(np.negative, lambda dy, y, x: -dy, jvp=ELEMENTWISE, domain=REAL)
primitive(np.positive, passthrough, jvp=ELEMENTWISE, domain=REAL)


def _absolute_jvp(dx: Any, y: Any, x: Any) -> Any:
    """sign(x) dx for real x; Re(conj(x) dx) / |x| for complex x; 0 at 0."""
    if is_complex(x):
        return np.real(np.conj(x) * dx) / np.where(y == 0, 1, y)
    return dx * np.sign(x)


primitive(np.absolute, _absolute_dx, jvp=_absolute_jvp, domain=KINKED)  # np.abs is np.absolute
primitive(np.fabs, lambda dy, y, x: dy * np.sign(x), jvp=ELEMENTWISE, domain=KINKED)

# ---- powers and roots ----
primitive(np.square, lambda dy, y, x: dy * 2 * x, jvp=ELEMENTWISE, domain=REAL)
primitive(np.sqrt, lambda dy, y, x: dy / (2 * y), jvp=ELEMENTWISE, domain=POSITIVE)
primitive(np.cbrt, lambda dy, y, x: dy / (3 * y * y), jvp=ELEMENTWISE, domain=NONZERO)
primitive(np.reciprocal, lambda dy, y, x: -dy * y * y, jvp=ELEMENTWISE, domain=NONZERO)

# ---- exponentials and logarithms ----
primitive(np.exp, lambda dy, y, x: dy * y, jvp=ELEMENTWISE, domain=REAL)
primitive(np.exp2, lambda dy, y, x: dy * y * LN2, jvp=ELEMENTWISE, domain=REAL)
primitive(np.expm1, lambda dy, y, x: dy * (y + 1), jvp=ELEMENTWISE, domain=REAL)
primitive(np.log, lambda dy, y, x: dy / x, jvp=ELEMENTWISE, domain=POSITIVE)
primitive(np.log2, lambda dy, y, x: dy / (x * LN2), jvp=ELEMENTWISE, domain=POSITIVE)
primitive(np.log10, lambda dy, y, x: dy / (x * LN10), jvp=ELEMENTWISE, domain=POSITIVE)
primitive(np.log1p, lambda dy, y, x: dy / (1 + x), jvp=ELEMENTWISE, domain=POSITIVE)

# ---- trigonometric ----
primitive(np.sin, lambda dy, y, x: dy * np.cos(x), jvp=ELEMENTWISE, domain=REAL)
primitive(np.cos, lambda dy, y, x: -dy * np.sin(x), jvp=ELEMENTWISE, domain=REAL)
primitive(
    np.tan, lambda dy, y, x: dy * (1 + y * y), jvp=ELEMENTWISE, domain=UNIT
)  # poles at pi/2 + k pi
primitive(np.arcsin, lambda dy, y, x: dy / np.sqrt(1 - x * x), jvp=ELEMENTWISE, domain=UNIT)
primitive(np.arccos, lambda dy, y, x: -dy / np.sqrt(1 - x * x), jvp=ELEMENTWISE, domain=UNIT)
primitive(np.arctan, lambda dy, y, x: dy / (1 + x * x), jvp=ELEMENTWISE, domain=REAL)

# ---- hyperbolic ----
primitive(np.sinh, lambda dy, y, x: dy * np.cosh(x), jvp=ELEMENTWISE, domain=REAL)
primitive(np.cosh, lambda dy, y, x: dy * np.sinh(x), jvp=ELEMENTWISE, domain=REAL)
primitive(np.tanh, lambda dy, y, x: dy * (1 - y * y), jvp=ELEMENTWISE, domain=REAL)
primitive(np.arcsinh, lambda dy, y, x: dy / np.sqrt(x * x + 1), jvp=ELEMENTWISE, domain=REAL)
primitive(
    np.arccosh,
    lambda dy, y, x: dy / np.sqrt(x * x - 1),
    jvp=ELEMENTWISE,
    domain=Domain(args=("positive",), sample=_above_one),
)
primitive(np.arctanh, lambda dy, y, x: dy / (1 - x * x), jvp=ELEMENTWISE, domain=UNIT)

# ---- angles ----
primitive(np.deg2rad, lambda dy, y, x: dy * DEGREE, jvp=ELEMENTWISE, domain=REAL)
primitive(np.radians, lambda dy, y, x: dy * DEGREE, jvp=ELEMENTWISE, domain=REAL)
primitive(np.rad2deg, lambda dy, y, x: dy / DEGREE, jvp=ELEMENTWISE, domain=REAL)
primitive(np.degrees, lambda dy, y, x: dy / DEGREE, jvp=ELEMENTWISE, domain=REAL)


def _sinc_dx(dy: Any, y: Any, x: Any) -> Any:
    """d sinc(x)/dx = (cos(pi x) - sinc(x)) / x; within 0.01 of 0, where that difference
    cancels (float32 lost percents), its Taylor series -pi^2 x/3 + pi^4 x^3/30 - pi^6 x^5/840
    (the next term is 1e-13 of the first there)."""
    near = np.abs(x) < 0.01
    p2 = (np.pi * x) ** 2
    series = (-(np.pi**2) / 3) * x * (1 - p2 / 10 + p2 * p2 / 280)
    return dy * np.where(near, series, (np.cos(np.pi * x) - y) / np.where(near, 1, x))


primitive(
    np.sinc, _sinc_dx, jvp=ELEMENTWISE, domain=KINKED
)  # the rule's own derivative is not exact at 0


# ---- two outputs ----
def _modf_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Inputs at least 0.1 away from whole numbers, where modf jumps."""
    return (rng.integers(-3, 3, (3, 4)) + rng.uniform(0.1, 0.9, (3, 4)),), {}


primitive(  # (the integral part and frexp's exponent are step functions: no tangent)
    np.modf,
    lambda dy, y, x: dy[0],
    jvp=lambda dx, y, x: (dx, None),
    domain=Domain(args=("real",), sample=_modf_sample),
)
primitive(
    np.frexp,
    lambda dy, y, x: np.ldexp(dy[0], -y[1]),
    jvp=lambda dx, y, x: (np.ldexp(dx, -y[1]), None),
    domain=NONZERO,
)
