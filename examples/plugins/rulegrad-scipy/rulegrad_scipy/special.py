"""scipy.special.owens_t, a function rulegrad's own scipy rules leave out: a rule for a ufunc.

scipy's ufuncs work on tracked values as they are (``scipy.special.owens_t(h, a)``) once a
primitive of the ufunc has a rule per argument, written with numpy and scipy calls so it
differentiates again. Constants are Python floats, so float32 stays float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

import rulegrad as rg

__all__ = ["owens_t"]

SQRT_2, TWO_PI = math.sqrt(2.0), 2 * math.pi


def _dh(dy: Any, y: Any, h: Any, a: Any) -> Any:
    """dT/dh = -exp(-h^2/2) erf(a h / sqrt 2) / (2 sqrt(2 pi))."""
    return -dy * np.exp(-h * h / 2) * sc.erf(a * h / SQRT_2) / (2 * math.sqrt(TWO_PI))


def _da(dy: Any, y: Any, h: Any, a: Any) -> Any:
    """dT/da = exp(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2))."""
    return dy * np.exp(-h * h * (1 + a * a) / 2) / (TWO_PI * (1 + a * a))


owens_t = rg.primitive(sc.owens_t, _dh, _da, domain=rg.Domain(args=("real", "real")))
