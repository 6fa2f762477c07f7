"""Elementwise math: numpy's unary float ufuncs."""

from __future__ import annotations

import numpy as np

from ..core import Domain, primitive

REAL = Domain(args=("real",))
POSITIVE = Domain(args=("positive",))

# ---- exponentials and logarithms ----
primitive(np.exp, lambda dy, y, x: dy * y, domain=REAL)
primitive(np.log, lambda dy, y, x: dy / x, domain=POSITIVE)
primitive(np.sqrt, lambda dy, y, x: dy / (2 * y), domain=POSITIVE)
# ---- trigonometric and hyperbolic ----
primitive(np.sin, lambda dy, y, x: dy * np.cos(x), domain=REAL)
primitive(np.cos, lambda dy, y, x: -dy * np.sin(x), domain=REAL)
primitive(np.tanh, lambda dy, y, x: dy * (1 - y * y), domain=REAL)
# ---- absolute value (the gradient at 0 is taken as 0) ----
KINKED = Domain(args=("real",), avoid=(0.0,))
primitive(np.absolute, lambda dy, y, x: dy * np.sign(x), domain=KINKED)
