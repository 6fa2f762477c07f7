"""scipy.special: the gamma and beta families, incomplete gamma and beta functions, error
functions, the logistic, the normal cdf, Bessel functions, entropies, logsumexp and softmax.

scipy's ufuncs get a generic method with one rule per argument, written with scipy and
numpy calls so they differentiate again (``gammaln -> digamma -> polygamma``); they work
on tracked values as they are (``scipy.special.erf(w)``). The functions scipy writes in
Python (``polygamma``, ``multigammaln``, ``logsumexp``, ``softmax``, ``log_softmax``) are
primitives here and are intercepted on ``scipy.special`` (see `rulegrad.scipy._intercept`).

The incomplete gamma and beta functions' derivatives in their shape parameters ``a``, ``b``
have no closed form: `rulegrad.scipy._incomplete` computes them numerically (to ~1e-11),
behind the primitives `gammainc_da`, `betainc_da` and `betainc_db`, which differentiate
again in ``x`` but not in a shape parameter (so those functions are checked to first
order). A Bessel function's order ``v`` has no derivative here: a tracked order raises
`RuleError`. Constants are Python floats, so float32 stays float32.

Complex arguments follow autograd's convention (``docs/primitives.md``): the functions
scipy defines for complex ``z`` that are holomorphic there (``erf erfc erfcx erfi wofz
dawsn gamma loggamma rgamma digamma polygamma exp1 expi ndtr log_ndtr expm1 log1p xlogy
xlog1py logsumexp softmax log_softmax``, and ``jv yv iv kv kve hankel1 hankel2 hankel1e
hankel2e`` in ``z``) multiply by ``f'(z)``, to any order (``polygamma`` of complex ``z``,
which scipy lacks past ``n = 0``, is computed here); ``ive``, ``jve`` and ``yve``, scaled
by ``exp(-|Re z|)`` or ``exp(-|Im z|)``, are not holomorphic, and their rules add the
scaling's conjugate part. scipy itself refuses complex arguments of the real-only
functions: for ``gammaln`` use ``loggamma``, for ``expit``/``logit`` write
``1 / (1 + np.exp(-z))``/``np.log(z / (1 - z))``, for ``beta`` use ``gamma``.

Forward mode: scipy's ufuncs work elementwise, so each rule is also its argument's forward
rule (``jvp=ELEMENTWISE``): ``primitive`` in this module is rulegrad's with that default.
logsumexp, softmax and log_softmax, which reduce along an axis, give forward rules of
their own, and so do ``ive``, ``jve``, ``yve`` (not holomorphic) and ``wofz`` and the Hankel
functions (complex for a real ``x``, whose gradient is real but whose tangent is not).

Examples:
    >>> import numpy as np, scipy.special, rulegrad as rg
    >>> rg.grad(lambda w: np.sum(scipy.special.gammaln(w)))(np.array([1.0, 2.0])).round(4)
    array([-0.5772,  0.4228])
    >>> rg.grad(lambda x: scipy.special.jv(1.5, x))(2.0).round(6)
    np.float64(0.144546)
    >>> rg.grad(lambda a: scipy.special.gammainc(a, 1.0))(1.0).round(6)  # a shape parameter
    np.float64(-0.43173)
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import scipy.special as sc

from ..core import ELEMENTWISE, Domain, RuleError, value, zerograd
from ..core import primitive as _primitive
from ..rules._util import dtype_of, expand, is_complex
from . import _incomplete
from ._intercept import intercept
from ._util import float_dtype, no_derivative

REAL = Domain(args=("real",))
POSITIVE = Domain(args=("positive",))
NONZERO = Domain(args=("nonzero",))
UNIT = Domain(args=("unit",))  # the open interval (0, 1)
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
TWO_I_OVER_SQRT_PI = 2j / math.sqrt(math.pi)
SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2
SQRT_2PI = math.sqrt(2 * math.pi)
LN2, LN10 = math.log(2), math.log(10)

#: Every ufunc rule here is ``dy`` times the elementwise derivative, so with a tangent in
#: place of ``dy`` it is that argument's forward rule; the reductions below pass their own.
primitive = functools.partial(_primitive, jvp=ELEMENTWISE)

#: scipy.special's Python functions, as they were before the plugin intercepted them: the
#: primitives call these (the intercepted ones would call the primitive again).
ORIGINAL = {
    name: getattr(sc, name)
    for name in ("polygamma", "multigammaln", "logsumexp", "softmax", "log_softmax")
}


def _cast(y: Any, *xs: Any) -> Any:
    """scipy's result in the float dtype of the arguments (a 0-d result as a scalar)."""
    return np.asarray(y).astype(float_dtype(*xs), copy=False)[()]


# ---- gamma family ----
def _sample_polygamma(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (int(rng.integers(0, 3)), rng.uniform(0.5, 3.0, size=(3,))), {}


@primitive(
    None,  # the order n is an integer
    lambda dy, y, n, x: dy * polygamma(n + 1, x),
    domain=Domain(sample=_sample_polygamma),
)
def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of digamma (scipy's, in ``x``'s dtype).

    Examples:
        >>> polygamma(1, np.float32(1.0)).dtype
        dtype('float32')
    """
    if np.iscomplexobj(x):
        return _polygamma_complex(n, x)
    return _cast(ORIGINAL["polygamma"](n, x), x)


#: B_2, B_4, ..., B_16: the Bernoulli numbers of the Euler-Maclaurin tail of `_hurwitz`
BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _hurwitz(s: int, z: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function ``sum_k (z + k)^-s`` of complex ``z``, integer ``s >= 2``:
    the first terms summed until ``Re(z + k) >= 20``, the rest by Euler-Maclaurin (its
    remainder is below 1e-20 there)."""
    shift = np.maximum(np.ceil(20 - np.nan_to_num(z.real, nan=20, posinf=20, neginf=20)), 0)
    total = np.zeros_like(z)
    for k in range(int(shift.max(initial=0))):
        total += np.where(k < shift, (z + k) ** -s, 0)
    w = z + shift
    total += w ** (1 - s) / (s - 1) + w**-s / 2
    rising, fact = float(s), 1.0  # s (s+1) ... (s+2j-2) and (2j)!
    for j, b in enumerate(BERNOULLI, 1):
        fact *= (2 * j - 1) * (2 * j)
        total += b / fact * rising * w ** (-s - 2 * j + 1)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
    return total


def _polygamma_complex(n: Any, z: Any) -> Any:
    """polygamma of complex ``z`` (scipy's is real only past n = 0), in ``z``'s dtype:
    digamma for n = 0, else ``(-1)^(n+1) n! zeta(n+1, z)``.

    Examples:
        >>> z = np.array([0.5 + 1j, -1.5 - 0.5j])
        >>> h = 1e-6  # trigamma is digamma's derivative
        >>> d = (sc.digamma(z + h) - sc.digamma(z - h)) / (2 * h)
        >>> bool(np.allclose(_polygamma_complex(1, z), d, rtol=1e-8))
        True
    """
    z = np.asarray(z)
    wide = z.astype(np.complex128)
    n, out = np.asarray(n), np.zeros(np.broadcast_shapes(np.shape(n), z.shape), np.complex128)
    for k in np.unique(n):
        k = int(k)
        y = (
            sc.digamma(wide)
            if k == 0
            else (-1) ** (k + 1) * math.factorial(k) * _hurwitz(k + 1, wide)
        )
        out = np.where(n == k, y, out)
    return out.astype(z.dtype)[()]


def _sample_multigammaln(rng: np.random.Generator) -> tuple[tuple, dict]:
    d = int(rng.integers(1, 4))
    return (rng.uniform(d / 2 + 0.2, d / 2 + 3.0, size=(3,)), d), {}


def _multigammaln_da(dy: Any, y: Any, a: Any, d: int) -> Any:
    """d/da sum_j gammaln(a - j/2) = sum_j digamma(a - j/2)."""
    return dy * sum(sc.digamma(a - j / 2) for j in range(int(d)))


@primitive(_multigammaln_da, None, domain=Domain(sample=_sample_multigammaln))
def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d`` (scipy's)."""
    return _cast(ORIGINAL["multigammaln"](a, d), a)


gamma = primitive(sc.gamma, lambda dy, y, x: dy * y * sc.digamma(x), domain=POSITIVE)
gammaln = primitive(sc.gammaln, lambda dy, y, x: dy * sc.digamma(x), domain=POSITIVE)
loggamma = primitive(sc.loggamma, lambda dy, y, x: dy * sc.digamma(x), domain=POSITIVE)
digamma = primitive(sc.digamma, lambda dy, y, x: dy * polygamma(1, x), domain=POSITIVE)
rgamma = primitive(sc.rgamma, lambda dy, y, x: -dy * y * sc.digamma(x), domain=POSITIVE)
zerograd(sc.gammasgn)  # piecewise constant
POSITIVE_2 = Domain(args=("positive", "positive"))
beta = primitive(
    sc.beta,
    lambda dy, y, a, b: dy * y * (sc.digamma(a) - sc.digamma(a + b)),
    lambda dy, y, a, b: dy * y * (sc.digamma(b) - sc.digamma(a + b)),
    domain=POSITIVE_2,
)
betaln = primitive(
    sc.betaln,
    lambda dy, y, a, b: dy * (sc.digamma(a) - sc.digamma(a + b)),
    lambda dy, y, a, b: dy * (sc.digamma(b) - sc.digamma(a + b)),
    domain=POSITIVE_2,
)


def _sample_poch(rng: np.random.Generator) -> tuple[tuple, dict]:
    """z and m in (0.1, 10]: poch(z, m) = Gamma(z + m) / Gamma(z) grows like a factorial
    (poch(23, 24) is near 1e37), and its second derivatives leave float32's range first."""
    return (rng.uniform(0.1, 10.0, (3, 3)), rng.uniform(0.1, 10.0, (3,))), {}


poch = primitive(
    sc.poch,
    lambda dy, y, z, m: dy * y * (sc.digamma(z + m) - sc.digamma(z)),
    lambda dy, y, z, m: dy * y * sc.digamma(z + m),
    domain=Domain(args=("positive", "positive"), sample=_sample_poch),
)


# ---- incomplete gamma and beta functions ----
def _gamma_density(a: Any, x: Any) -> Any:
    """d/dx gammainc(a, x) = x^(a-1) e^-x / Gamma(a)."""
    return np.exp(sc.xlogy(a - 1, x) - x - sc.gammaln(a))


def _beta_density(a: Any, b: Any, x: Any) -> Any:
    """d/dx betainc(a, b, x) = x^(a-1) (1-x)^(b-1) / B(a, b)."""
    return np.exp(sc.xlogy(a - 1, x) + sc.xlog1py(b - 1, -x) - sc.betaln(a, b))


def _sample_shape_x(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A shape parameter and a positive x."""
    return (rng.uniform(0.5, 3.0, size=(3,)).round(1), rng.uniform(0.3, 3.0, size=(3,))), {}


def _sample_ab_x(rng: np.random.Generator) -> tuple[tuple, dict]:
    a, b = rng.uniform(0.5, 3.0, size=(2, 3)).round(1)
    return (a, b, rng.uniform(0.1, 0.9, size=(3,))), {}


def _sample_shape_p(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.uniform(0.5, 3.0, size=(3,)).round(1), rng.uniform(0.1, 0.9, size=(3,))), {}


# The shape derivatives have no closed form: `rulegrad.scipy._incomplete` computes them
# numerically (to ~1e-11), as primitives whose own derivative in x is closed (d/dx d/da =
# d/da of the density) but whose derivative in a shape parameter is not implemented. So
# the functions' checks stop at order 1; the derivative primitives' checks (a shape
# parameter drawn plain) go to order 2.
_SECOND = "a second derivative in a shape parameter"
_AB = ("a", "b")
SHAPE_X = Domain(args=("positive", "positive"), sample=_sample_shape_x, order=1)
AB_X = Domain(args=("positive", "positive", "unit"), sample=_sample_ab_x, order=1)


@primitive(
    no_derivative("gammainc_da", "a", _SECOND),
    lambda dy, y, a, x: dy * _gamma_density(a, x) * (np.log(x) - sc.digamma(a)),
    domain=Domain(args=("plain", "positive"), sample=_sample_shape_x),
)
def gammainc_da(a: Any, x: Any) -> Any:
    """d/da gammainc(a, x), numerically (`rulegrad.scipy._incomplete`), in the args' dtype.

    Examples:
        >>> gammainc_da(np.float32(1.0), np.float32(1.0))  # P(a, 1) falls as a grows
        np.float32(-0.4317297)
    """
    return _cast(_incomplete.gammainc_da(a, x), a, x)


def _beta_shape(name: str, i: int) -> Any:
    """The primitive d/da (i = 0) or d/db (i = 1) betainc(a, b, x)."""

    def impl(a: Any, b: Any, x: Any) -> Any:
        return _cast(_incomplete.betainc_dab(a, b, x)[i], a, b, x)

    impl.__name__ = impl.__qualname__ = name
    impl.__doc__ = f"d/d{'ab'[i]} betainc(a, b, x), numerically, in the arguments' dtype."

    def rx(dy: Any, y: Any, a: Any, b: Any, x: Any) -> Any:
        """d/dx of it: d/da (or d/db) of the density."""
        log = np.log(x) - sc.digamma(a) if i == 0 else np.log1p(-x) - sc.digamma(b)
        return dy * _beta_density(a, b, x) * (log + sc.digamma(a + b))

    no = [no_derivative(name, n, _SECOND) for n in _AB]
    unit = Domain(args=("plain", "plain", "unit"), sample=_sample_ab_x)
    return primitive(*no, rx, domain=unit)(impl)


betainc_da, betainc_db = _beta_shape("betainc_da", 0), _beta_shape("betainc_db", 1)

gammainc = primitive(
    sc.gammainc,
    lambda dy, y, a, x: dy * gammainc_da(a, x),
    lambda dy, y, a, x: dy * _gamma_density(a, x),
    domain=SHAPE_X,
)
gammaincc = primitive(
    sc.gammaincc,
    lambda dy, y, a, x: -dy * gammainc_da(a, x),
    lambda dy, y, a, x: -dy * _gamma_density(a, x),
    domain=SHAPE_X,
)
gammaincinv = primitive(  # P(a, y) = p: dy/da = -(dP/da) / (dP/dx) at x = y
    sc.gammaincinv,
    lambda dy, y, a, p: -dy * gammainc_da(a, y) / _gamma_density(a, y),
    lambda dy, y, a, p: dy / _gamma_density(a, y),
    domain=Domain(args=("positive", "unit"), sample=_sample_shape_p, order=1),
)
betainc = primitive(
    sc.betainc,
    lambda dy, y, a, b, x: dy * betainc_da(a, b, x),
    lambda dy, y, a, b, x: dy * betainc_db(a, b, x),
    lambda dy, y, a, b, x: dy * _beta_density(a, b, x),
    domain=AB_X,
)
if hasattr(sc, "betaincc"):  # scipy >= 1.11
    betaincc = primitive(
        sc.betaincc,
        lambda dy, y, a, b, x: -dy * betainc_da(a, b, x),
        lambda dy, y, a, b, x: -dy * betainc_db(a, b, x),
        lambda dy, y, a, b, x: -dy * _beta_density(a, b, x),
        domain=AB_X,
    )
betaincinv = primitive(  # I_y(a, b) = p: dy/da = -(dI/da) / (dI/dx) at x = y
    sc.betaincinv,
    lambda dy, y, a, b, p: -dy * betainc_da(a, b, y) / _beta_density(a, b, y),
    lambda dy, y, a, b, p: -dy * betainc_db(a, b, y) / _beta_density(a, b, y),
    lambda dy, y, a, b, p: dy / _beta_density(a, b, y),
    domain=AB_X,
)


# ---- error functions ----
def _sample_erfcinv(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.uniform(0.2, 1.8, size=(3,)),), {}


erf = primitive(sc.erf, lambda dy, y, x: dy * TWO_OVER_SQRT_PI * np.exp(-x * x), domain=REAL)
erfc = primitive(sc.erfc, lambda dy, y, x: -dy * TWO_OVER_SQRT_PI * np.exp(-x * x), domain=REAL)


def _sample_erfcx(rng: np.random.Generator) -> tuple[tuple, dict]:
    """x in [-4, 20]: below, erfcx grows as 2 exp(x^2), and its second derivative leaves
    float32's range near x = -9 (the first derivative just inside it)."""
    return (rng.uniform(-4.0, 20.0, (3, 4)),), {}


# (dy * y first: at x = -9.25 in float32, 2 * x * y overflows where the product with dy fits)
erfcx = primitive(
    sc.erfcx,
    lambda dy, y, x: (dy * y) * (2 * x) - dy * TWO_OVER_SQRT_PI,
    domain=Domain(sample=_sample_erfcx),
)
erfinv = primitive(sc.erfinv, lambda dy, y, x: dy * SQRT_PI_OVER_2 * np.exp(y * y), domain=UNIT)
erfcinv = primitive(
    sc.erfcinv,
    lambda dy, y, x: -dy * SQRT_PI_OVER_2 * np.exp(y * y),
    domain=Domain(sample=_sample_erfcinv),
)
dawsn = primitive(sc.dawsn, lambda dy, y, x: dy * (1 - 2 * x * y), domain=REAL)


def _sample_erfi(rng: np.random.Generator) -> tuple[tuple, dict]:
    """x in [-3, 3]: erfi grows as exp(x^2) (float32 overflows past x = 9)."""
    return (rng.uniform(-3.0, 3.0, (3, 4)),), {}


erfi = primitive(
    sc.erfi,
    lambda dy, y, x: dy * TWO_OVER_SQRT_PI * np.exp(x * x),
    domain=Domain(sample=_sample_erfi),
)


def _real_for_real(x: Any, g: Any) -> Any:
    """The gradient ``g`` of a function complex for real ``x`` too: its real part for
    real ``x`` (autograd's convention). Its forward rule keeps ``dx f'(x)`` complex."""
    return g if is_complex(x) else np.real(g)


def _wofz_d(y: Any, z: Any) -> Any:
    """w'(z) = 2i / sqrt(pi) - 2 z w(z); for single precision z, from w in double precision:
    the two terms cancel for large |z| (w ~ i / (sqrt(pi) z)), so w's own float32 rounding
    made w' lose digits, and the second derivative 1% at |z| = 17."""
    if dtype_of(z) not in (np.float32, np.complex64):
        return TWO_I_OVER_SQRT_PI - 2 * z * y
    wide = z.astype(np.complex128 if is_complex(z) else np.float64)
    return (TWO_I_OVER_SQRT_PI - 2 * wide * _wofz(wide)).astype(np.complex64)


@primitive(
    lambda dy, y, z: _real_for_real(z, dy * _wofz_d(y, z)),
    jvp=lambda dz, y, z: dz * _wofz_d(y, z),
    of=sc.wofz,
    domain=REAL,
)
def _wofz(z: object) -> Any:
    """The Faddeeva function exp(-z^2) erfc(-iz), complex64 for float32 or complex64 z
    (scipy's is complex128 for float32)."""
    return np.asarray(sc.wofz(z)).astype(np.result_type(float_dtype(z), np.complex64))[()]


wofz = _wofz

# ---- the logistic, the normal distribution ----
expit = primitive(sc.expit, lambda dy, y, x: dy * y * (1 - y), domain=REAL)
log_expit = primitive(sc.log_expit, lambda dy, y, x: dy * sc.expit(-x), domain=REAL)
logit = primitive(sc.logit, lambda dy, y, x: dy / (x * (1 - x)), domain=UNIT)
ndtr = primitive(sc.ndtr, lambda dy, y, x: dy * np.exp(-x * x / 2) / SQRT_2PI, domain=REAL)
log_ndtr = primitive(
    sc.log_ndtr, lambda dy, y, x: dy * np.exp(-x * x / 2 - y) / SQRT_2PI, domain=REAL
)
ndtri = primitive(sc.ndtri, lambda dy, y, x: dy * SQRT_2PI * np.exp(y * y / 2), domain=UNIT)

# ---- exponentials and logarithms ----
exp1 = primitive(sc.exp1, lambda dy, y, x: -dy * np.exp(-x) / x, domain=POSITIVE)
expi = primitive(sc.expi, lambda dy, y, x: dy * np.exp(x) / x, domain=POSITIVE)
exp2 = primitive(sc.exp2, lambda dy, y, x: dy * y * LN2, domain=REAL)
exp10 = primitive(sc.exp10, lambda dy, y, x: dy * y * LN10, domain=REAL)
expm1 = primitive(sc.expm1, lambda dy, y, x: dy * (y + 1), domain=REAL)
log1p = primitive(sc.log1p, lambda dy, y, x: dy / (1 + x), domain=POSITIVE)
cbrt = primitive(sc.cbrt, lambda dy, y, x: dy / (3 * y * y), domain=NONZERO)

# ---- x log y, entropies, divergences ----
REAL_POSITIVE = Domain(args=("real", "positive"))
xlogy = primitive(
    sc.xlogy,
    lambda dy, y, x1, x2: dy * np.log(x2),
    lambda dy, y, x1, x2: dy * x1 / x2,
    domain=REAL_POSITIVE,
)
xlog1py = primitive(
    sc.xlog1py,
    lambda dy, y, x1, x2: dy * np.log1p(x2),
    lambda dy, y, x1, x2: dy * x1 / (1 + x2),
    domain=REAL_POSITIVE,
)
entr = primitive(sc.entr, lambda dy, y, x: -dy * (np.log(x) + 1), domain=POSITIVE)
rel_entr = primitive(
    sc.rel_entr,
    lambda dy, y, x1, x2: dy * (np.log(x1 / x2) + 1),
    lambda dy, y, x1, x2: -dy * x1 / x2,
    domain=POSITIVE_2,
)
kl_div = primitive(
    sc.kl_div,
    lambda dy, y, x1, x2: dy * np.log(x1 / x2),
    lambda dy, y, x1, x2: dy * (1 - x1 / x2),
    domain=POSITIVE_2,
)


# ---- Bessel functions ----
def _sample_order(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A plain real order (no derivative) and a positive x."""
    return (rng.uniform(-2.0, 2.0, size=(3,)).round(1), rng.uniform(0.3, 3.0, size=(3,))), {}


def _sample_int_order(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.integers(0, 4, size=(3,)), rng.uniform(0.3, 3.0, size=(3,))), {}


#: "plain": drawn as a plain value, not differentiated (its rule is `no_derivative`)
ORDER_X = Domain(args=("plain", "real"), sample=_sample_order)


def _v(name: str) -> Any:
    return no_derivative(f"scipy.special.{name}", "v", "the order")


jv = primitive(
    sc.jv,
    _v("jv"),
    lambda dy, y, v, x: dy * (sc.jv(v - 1, x) - sc.jv(v + 1, x)) / 2,
    domain=ORDER_X,
)
yv = primitive(
    sc.yv,
    _v("yv"),
    lambda dy, y, v, x: dy * (sc.yv(v - 1, x) - sc.yv(v + 1, x)) / 2,
    domain=ORDER_X,
)
iv = primitive(
    sc.iv,
    _v("iv"),
    lambda dy, y, v, x: dy * (sc.iv(v - 1, x) + sc.iv(v + 1, x)) / 2,
    domain=ORDER_X,
)
kv = primitive(
    sc.kv,
    _v("kv"),
    lambda dy, y, v, x: -dy * (sc.kv(v - 1, x) + sc.kv(v + 1, x)) / 2,
    domain=ORDER_X,
)


def _ive_dx(dy: Any, y: Any, v: Any, x: Any) -> Any:
    """ive = iv(v, x) exp(-|Re x|). For complex x it is not holomorphic: with autograd's
    convention the factor's derivative -sign(Re x) / 2 in x and in conj(x) gives
    ``-sign(Re x) Re(dy y)`` (``-sign(x) dy y`` for real x)."""
    g = dy * (sc.ive(v - 1, x) + sc.ive(v + 1, x)) / 2
    if is_complex(x):
        return g - np.sign(np.real(x)) * np.real(dy * y)
    return g - np.sign(x) * (dy * y)


def _ive_fx(dx: Any, y: Any, v: Any, x: Any) -> Any:
    """ive's forward rule: the factor exp(-|Re x|) moves with Re dx only."""
    g = dx * (sc.ive(v - 1, x) + sc.ive(v + 1, x)) / 2
    if is_complex(x):
        return g - np.sign(np.real(x)) * y * np.real(dx)
    return g - np.sign(x) * (dx * y)


ive = primitive(  # iv(v, x) exp(-|Re x|)
    sc.ive, _v("ive"), _ive_dx, jvp=(_v("ive"), _ive_fx), domain=ORDER_X
)
kve = primitive(  # kv(v, x) exp(x)
    sc.kve,
    _v("kve"),
    lambda dy, y, v, x: dy * (y - (sc.kve(v - 1, x) + sc.kve(v + 1, x)) / 2),
    domain=ORDER_X,
)


def _imag_scaled(f: Any) -> tuple[Any, Any]:
    """The reverse and forward rules of ``f(v, z) = g(v, z) exp(-|Im z|)`` (jve, yve), with
    g' = (g(v-1) - g(v+1)) / 2. For complex z it is not holomorphic: with autograd's
    convention the factor's derivatives in z and conj(z), +-i sign(Im z) / 2, give
    ``i sign(Im z) Re(dy y)``; forward, the factor moves with Im dz only. Real x has
    Im x = 0: no term."""

    def rule(dy: Any, y: Any, v: Any, x: Any) -> Any:
        g = dy * (f(v - 1, x) - f(v + 1, x)) / 2
        if is_complex(x):
            return g + 1j * np.sign(np.imag(x)) * np.real(dy * y)
        return g

    def forward(dx: Any, y: Any, v: Any, x: Any) -> Any:
        g = dx * (f(v - 1, x) - f(v + 1, x)) / 2
        if is_complex(x):
            return g - np.sign(np.imag(x)) * y * np.imag(dx)
        return g

    name = f.__name__
    rule.__name__ = rule.__qualname__ = f"_{name}_dx"
    forward.__name__ = forward.__qualname__ = f"_{name}_fx"
    return rule, (_v(name), forward)


_JVE, _JVE_F = _imag_scaled(sc.jve)
_YVE, _YVE_F = _imag_scaled(sc.yve)
jve = primitive(sc.jve, _v("jve"), _JVE, jvp=_JVE_F, domain=ORDER_X)  # jv exp(-|Im x|)
yve = primitive(sc.yve, _v("yve"), _YVE, jvp=_YVE_F, domain=ORDER_X)  # yv exp(-|Im x|)


def _hankel(f: Any, phase: complex = 0) -> tuple[Any, Any]:
    """The reverse and forward rules of a Hankel function, complex for real x too:
    f' = (f(v-1) - f(v+1)) / 2, plus ``phase * f`` for the scaled ones (hankel1e =
    hankel1 exp(-ix): phase -i; hankel2e = hankel2 exp(ix): phase i)."""

    def derivative(y: Any, v: Any, x: Any) -> Any:
        d = (f(v - 1, x) - f(v + 1, x)) / 2
        return d + phase * y if phase else d

    def rule(dy: Any, y: Any, v: Any, x: Any) -> Any:
        return _real_for_real(x, dy * derivative(y, v, x))

    def forward(dx: Any, y: Any, v: Any, x: Any) -> Any:
        return dx * derivative(y, v, x)

    name = f.__name__
    rule.__name__ = rule.__qualname__ = f"_{name}_dx"
    forward.__name__ = forward.__qualname__ = f"_{name}_fx"
    return rule, (_v(name), forward)


_H1, _H1_F = _hankel(sc.hankel1)
_H2, _H2_F = _hankel(sc.hankel2)
_H1E, _H1E_F = _hankel(sc.hankel1e, -1j)
_H2E, _H2E_F = _hankel(sc.hankel2e, 1j)
hankel1 = primitive(sc.hankel1, _v("hankel1"), _H1, jvp=_H1_F, domain=ORDER_X)
hankel2 = primitive(sc.hankel2, _v("hankel2"), _H2, jvp=_H2_F, domain=ORDER_X)
hankel1e = primitive(sc.hankel1e, _v("hankel1e"), _H1E, jvp=_H1E_F, domain=ORDER_X)
hankel2e = primitive(sc.hankel2e, _v("hankel2e"), _H2E, jvp=_H2E_F, domain=ORDER_X)


@primitive(
    None,  # an integer order
    lambda dy, y, n, x: dy * (_yn(n - 1, x) - _yn(n + 1, x)) / 2,
    of=sc.yn,
    domain=Domain(sample=_sample_int_order),
)
def _yn(n: object, x: object) -> Any:
    """scipy's yn in ``x``'s dtype (scipy computes an int64 order with float32 x in float64)."""
    return _cast(sc.yn(n, x), x)


yn = _yn
j0 = primitive(sc.j0, lambda dy, y, x: -dy * sc.j1(x), domain=REAL)
j1 = primitive(sc.j1, lambda dy, y, x: dy * (sc.j0(x) - sc.jv(2, x)) / 2, domain=REAL)
y0 = primitive(sc.y0, lambda dy, y, x: -dy * sc.y1(x), domain=POSITIVE)
y1 = primitive(sc.y1, lambda dy, y, x: dy * (sc.y0(x) - sc.yv(2, x)) / 2, domain=POSITIVE)
i0 = primitive(sc.i0, lambda dy, y, x: dy * sc.i1(x), domain=REAL)
i1 = primitive(sc.i1, lambda dy, y, x: dy * (sc.i0(x) + sc.iv(2, x)) / 2, domain=REAL)
i0e = primitive(sc.i0e, lambda dy, y, x: dy * (sc.i1e(x) - np.sign(x) * y), domain=NONZERO)
i1e = primitive(
    sc.i1e,
    lambda dy, y, x: dy * ((sc.i0e(x) + sc.ive(2, x)) / 2 - np.sign(x) * y),
    domain=NONZERO,
)
k0 = primitive(sc.k0, lambda dy, y, x: -dy * sc.k1(x), domain=POSITIVE)
k1 = primitive(sc.k1, lambda dy, y, x: -dy * (sc.k0(x) + sc.kv(2, x)) / 2, domain=POSITIVE)
k0e = primitive(sc.k0e, lambda dy, y, x: dy * (y - sc.k1e(x)), domain=POSITIVE)
k1e = primitive(sc.k1e, lambda dy, y, x: dy * (y - (sc.k0e(x) + sc.kve(2, x)) / 2), domain=POSITIVE)


# ---- logsumexp, softmax, log_softmax ----
def _sample_reduce(rng: np.random.Generator) -> tuple[tuple, dict]:
    """An array, an axis (None, 0, -1) and positive weights b; keepdims either way."""
    shape = [(3,), (2, 3), (3, 2)][int(rng.integers(0, 3))]
    axis = [None, 0, -1][int(rng.integers(0, 3))]
    a = rng.uniform(-2.0, 2.0, size=shape)
    b = rng.uniform(0.5, 2.0, size=shape)
    return (a, axis, b), {"keepdims": bool(rng.integers(0, 2))}


def _lse_weights(dy: Any, y: Any, a: Any, axis: Any, b: Any, keepdims: bool) -> Any:
    """exp(a - logsumexp) with dy spread back over the reduced axes."""
    return expand(dy, a, axis, keepdims) * np.exp(a - expand(y, a, axis, keepdims))


def _lse_da(
    da: Any, y: Any, a: Any, axis: Any = None, b: Any = None, keepdims: bool = False
) -> Any:
    """Forward: sum(b exp(a - y) da, axis), the weights of the softmax ``b exp(a) / exp(y)``."""
    w = np.exp(a - expand(y, a, axis, keepdims)) * (1 if b is None else b)
    return np.sum(w * da, axis=axis, keepdims=keepdims)


def _lse_db(
    db: Any, y: Any, a: Any, axis: Any = None, b: Any = None, keepdims: bool = False
) -> Any:
    """Forward: sum(exp(a - y) db, axis)."""
    return np.sum(np.exp(a - expand(y, a, axis, keepdims)) * db, axis=axis, keepdims=keepdims)


@primitive(
    lambda dy, y, a, axis=None, b=None, keepdims=False: (
        _lse_weights(dy, y, a, axis, b, keepdims) * (1 if b is None else b)
    ),
    None,  # axis
    lambda dy, y, a, axis=None, b=None, keepdims=False: _lse_weights(dy, y, a, axis, b, keepdims),
    jvp=(_lse_da, None, _lse_db),
    domain=Domain(sample=_sample_reduce),
)
def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(b * exp(a), axis))``, computed stably (scipy's; ``return_sign`` is
    `logsumexp_signed`'s).

    Examples:
        >>> float(logsumexp(np.array([0.0, 0.0])))  # log 2
        0.6931471805599453
    """
    return _cast(ORIGINAL["logsumexp"](a, axis=axis, b=b, keepdims=keepdims), a, b)


def logsumexp_signed(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """scipy.special.logsumexp with tracked arguments, ``return_sign`` included: then
    ``(log|sum(b exp(a))|, sign)``. The sign is a plain value (its gradient is zero almost
    everywhere); the log is `logsumexp` with weights ``b * sign``, whose sum is positive,
    so it differentiates as ``logsumexp`` does, in both modes and again.

    Examples:
        >>> a, b = np.array([0.0, 1.0]), np.array([1.0, -1.0])
        >>> y, sign = logsumexp_signed(a, b=b, return_sign=True)
        >>> round(float(y), 4), float(sign)  # log(e - 1), and e^0 - e^1 < 0
        (0.5413, -1.0)
    """
    if not return_sign:
        return logsumexp(a, axis, b, keepdims)
    if is_complex(a) or (b is not None and is_complex(b)):
        raise RuleError(
            "scipy.special.logsumexp(..., return_sign=True) of complex arguments is not "
            "differentiable here (its sign is a complex phase); take return_sign=False, or "
            "real a and b"
        )
    _, sign = ORIGINAL["logsumexp"](
        value(a), axis=axis, b=None if b is None else value(b), keepdims=keepdims,
        return_sign=True,
    )  # fmt: skip
    sign = _cast(sign, a, b)
    if b is None:  # a sum of exponentials: positive
        return logsumexp(a, axis, None, keepdims), sign
    return logsumexp(a, axis, b * expand(sign, a, axis, keepdims), keepdims), sign


def _sample_softmax(rng: np.random.Generator) -> tuple[tuple, dict]:
    shape = [(3,), (2, 3), (3, 2)][int(rng.integers(0, 3))]
    return (rng.uniform(-2.0, 2.0, size=shape), [None, 0, -1][int(rng.integers(0, 3))]), {}


def _sum(g: Any, axis: Any) -> Any:
    return np.sum(g, axis=axis, keepdims=True)


def _softmax_dx(dy: Any, y: Any, x: Any, axis: Any = None) -> Any:
    """(diag(y) - y y^T) dy along ``axis``: a symmetric Jacobian, so the reverse rule and the
    forward rule (``dx`` in place of ``dy``) are one function."""
    return y * (dy - _sum(dy * y, axis))


@primitive(_softmax_dx, None, jvp=_softmax_dx, domain=Domain(sample=_sample_softmax))
def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x), axis)`` (scipy's)."""
    return _cast(ORIGINAL["softmax"](x, axis=axis), x)


@primitive(
    lambda dy, y, x, axis=None: dy - np.exp(y) * _sum(dy, axis),
    None,
    jvp=lambda dx, y, x, axis=None: dx - _sum(np.exp(y) * dx, axis),  # (I - 1 softmax^T) dx
    domain=Domain(sample=_sample_softmax),
)
def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x, axis)`` (scipy's)."""
    return _cast(ORIGINAL["log_softmax"](x, axis=axis), x)


def _intercept_python_functions() -> None:
    """Route scipy.special's Python functions with tracked arguments to the primitives."""
    for prim, arrays in (
        (polygamma, ("n", "x")),
        (multigammaln, ("a",)),
        (softmax, ("x",)),
        (log_softmax, ("x",)),
    ):
        impl = prim.methods[0].impl
        intercept(sc, impl.__name__, prim, impl, arrays)
    intercept(sc, "logsumexp", logsumexp_signed, logsumexp_signed, ("a", "b"))


_intercept_python_functions()
