"""scipy.special: the gamma family, error functions, the logistic, xlogy, normal cdf, Bessel.

Each scipy ufunc gets a generic method with one rule per argument, written with scipy
and numpy calls so it differentiates again (``gammaln -> digamma -> polygamma``). The
ufuncs then work on tracked values as they are: ``scipy.special.erf(w)``. ``polygamma``
is a plain Python function in scipy, so it is wrapped: call ``rulegrad_scipy.polygamma``.
Constants are Python floats, so float32 stays float32.

Not here: functions of integer order such as ``jv(v, x)`` in ``v``, and complex inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

import rulegrad as rg

__all__ = [
    "betaln", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "expit", "gamma",
    "gammaln", "i0", "i1", "log_expit", "log_ndtr", "logit", "ndtr", "ndtri", "polygamma",
    "xlog1py", "xlogy",
]  # fmt: skip

REAL = rg.Domain(args=("real",))
POSITIVE = rg.Domain(args=("positive",))
UNIT = rg.Domain(args=("unit",))  # the open interval (0, 1)
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2 * math.pi)


# ---- gamma family ----
def _sample_polygamma(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (int(rng.integers(0, 3)), rng.uniform(0.5, 3.0, size=(3,))), {}


@rg.primitive(
    None,  # the order n is an integer
    lambda dy, y, n, x: dy * polygamma(n + 1, x),
    domain=rg.Domain(args=("int", "positive"), sample=_sample_polygamma),
)
def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of digamma; scipy's result cast back to ``x``'s dtype."""
    return np.asarray(sc.polygamma(n, x)).astype(np.result_type(x), copy=False)[()]


gamma = rg.primitive(sc.gamma, lambda dy, y, x: dy * y * sc.digamma(x), domain=POSITIVE)
gammaln = rg.primitive(sc.gammaln, lambda dy, y, x: dy * sc.digamma(x), domain=POSITIVE)
digamma = rg.primitive(sc.digamma, lambda dy, y, x: dy * polygamma(1, x), domain=POSITIVE)
betaln = rg.primitive(
    sc.betaln,
    lambda dy, y, a, b: dy * (sc.digamma(a) - sc.digamma(a + b)),
    lambda dy, y, a, b: dy * (sc.digamma(b) - sc.digamma(a + b)),
    domain=rg.Domain(args=("positive", "positive")),
)

# ---- error functions ----
erf = rg.primitive(sc.erf, lambda dy, y, x: dy * TWO_OVER_SQRT_PI * np.exp(-x * x), domain=REAL)
erfc = rg.primitive(sc.erfc, lambda dy, y, x: -dy * TWO_OVER_SQRT_PI * np.exp(-x * x), domain=REAL)
erfcx = rg.primitive(sc.erfcx, lambda dy, y, x: dy * (2 * x * y - TWO_OVER_SQRT_PI), domain=REAL)
erfinv = rg.primitive(
    sc.erfinv, lambda dy, y, x: dy / TWO_OVER_SQRT_PI * np.exp(y * y), domain=UNIT
)

# ---- the logistic and its inverse ----
expit = rg.primitive(sc.expit, lambda dy, y, x: dy * y * (1 - y), domain=REAL)
log_expit = rg.primitive(sc.log_expit, lambda dy, y, x: dy * sc.expit(-x), domain=REAL)
logit = rg.primitive(sc.logit, lambda dy, y, x: dy / (x * (1 - x)), domain=UNIT)

# ---- x log y, entropy ----
xlogy = rg.primitive(
    sc.xlogy,
    lambda dy, y, x1, x2: dy * np.log(x2),
    lambda dy, y, x1, x2: dy * x1 / x2,
    domain=rg.Domain(args=("real", "positive")),
)
xlog1py = rg.primitive(
    sc.xlog1py,
    lambda dy, y, x1, x2: dy * np.log1p(x2),
    lambda dy, y, x1, x2: dy * x1 / (1 + x2),
    domain=rg.Domain(args=("real", "positive")),
)
entr = rg.primitive(sc.entr, lambda dy, y, x: -dy * (np.log(x) + 1), domain=POSITIVE)

# ---- the standard normal distribution ----
ndtr = rg.primitive(sc.ndtr, lambda dy, y, x: dy * np.exp(-x * x / 2) / SQRT_2PI, domain=REAL)
log_ndtr = rg.primitive(
    sc.log_ndtr, lambda dy, y, x: dy * np.exp(-x * x / 2 - y) / SQRT_2PI, domain=REAL
)
ndtri = rg.primitive(sc.ndtri, lambda dy, y, x: dy * SQRT_2PI * np.exp(y * y / 2), domain=UNIT)


# ---- modified Bessel functions of the first kind ----
def _i1_dx(dy: Any, y: Any, x: Any) -> Any:
    """i1'(x) = i0(x) - i1(x) / x."""
    return dy * (sc.i0(x) - y / x)


i0 = rg.primitive(sc.i0, lambda dy, y, x: dy * sc.i1(x), domain=REAL)
i1 = rg.primitive(sc.i1, _i1_dx, domain=rg.Domain(args=("nonzero",)))
