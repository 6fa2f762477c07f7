"""scipy.stats: logpdf, pdf, logcdf, cdf, sf and logsf of norm, t, gamma, beta, chi2 and expon;
logpmf, pmf, cdf, sf of poisson; logpdf and pdf of dirichlet and multivariate_normal;
cdf and logcdf of multivariate_normal (rules in `rulegrad.scipy.mvn`).

Differentiable in every continuous argument: the point ``x``, ``loc``, ``scale`` and the
shape parameters (``df``, ``a``, ``b``). The cdf family's derivatives in a shape parameter
have no closed form: they are the incomplete gamma and beta functions' (`gammainc_da`,
`betainc_da`, `betainc_db` of `rulegrad.scipy.special`, and `t_cdf_ddf` here), computed
numerically, which do not differentiate again in a shape parameter. poisson's ``k`` and
``loc`` are integers (no gradient).

These are methods of scipy's distribution objects (``scipy.stats.norm`` is an instance of
``norm_gen``), which convert their arguments with ``np.asarray``. While the plugin is
loaded, each method listed is replaced on its instance by a wrapper (see
`rulegrad.scipy._intercept`): a call with a tracked argument runs a primitive here (its
forward is scipy's method on the plain values, in the arguments' float dtype), any other
call runs scipy's method unchanged. Frozen distributions (``norm(loc=m).logpdf(x)``) are
not intercepted: pass the parameters to the method (``norm.logpdf(x, loc=m)``).

Location-scale families share one construction: with ``z = (x - loc) / scale`` and the
standardized log density ``g(z; shapes)``, ``logpdf = g(z) - log(scale)``, so
``d/dx = g'(z) / scale``, ``d/dloc = -g'(z) / scale``, ``d/dscale = -(z g'(z) + 1) / scale``;
the cdf's derivatives are the density's ``exp(g(z)) / scale`` times ``1``, ``-1``, ``-z``.
Every rule is written with functions that have rules, so they differentiate again.
These methods are elementwise in every argument, so each rule is also its argument's
forward rule (``jvp=ELEMENTWISE``); dirichlet's densities, which sum over the categories,
have forward rules of their own, and multivariate_normal's jvps are derived from its
reverse rules.

Examples:
    >>> import numpy as np, scipy.stats, rulegrad as rg
    >>> rg.grad(lambda m: scipy.stats.norm.logpdf(1.0, loc=m))(0.5)  # (x - m) / s^2
    np.float64(0.5)
    >>> rg.grad(lambda a: scipy.stats.gamma.cdf(1.0, a))(1.0).round(6)  # d/da P(a, 1)
    np.float64(-0.43173)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.special as sc
import scipy.stats as ss

from ..core import ELEMENTWISE, Domain, Primitive, primitive
from ..rules._util import dtype_of
from . import _incomplete, mvn
from ._intercept import intercept
from ._util import float_dtype, no_derivative
from .special import betainc_da, betainc_db, gammainc_da

__all__ = ["FAMILIES", "PRIMITIVES"]

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
LOG_PI, LOG_2 = math.log(math.pi), math.log(2.0)
#: "norm.logpdf" -> its primitive, for every method intercepted.
PRIMITIVES: dict[str, Primitive] = {}


def _cast(y: Any, *xs: Any) -> Any:
    return np.asarray(y).astype(float_dtype(*xs), copy=False)[()]


@dataclass(frozen=True)
class Family:
    """A location-scale family: its standardized log density ``g`` and derivatives.

    Attributes:
        name: the scipy.stats name (``"norm"``).
        shapes: the shape parameters' names, in scipy's order.
        g: ``g(z, *shapes)``, the log density at the standardized point.
        dz: ``dg/dz``.
        dshapes: ``dg/dshape`` for each shape parameter.
        z: draws standardized points inside the support (for the checks).
        draw_shapes: draws valid shape parameters (for the checks).
        dcdf: ``d cdf(z)/dshape`` for each shape parameter.
        support: the standardized support ``(lo, hi)``: outside it the density is 0 and
            the cdf constant, so every derivative is 0 there.
    """

    name: str
    shapes: tuple[str, ...]
    g: Callable[..., Any]
    dz: Callable[..., Any]
    dshapes: tuple[Callable[..., Any], ...]
    z: Callable[[np.random.Generator], Any]
    draw_shapes: Callable[[np.random.Generator], tuple] = lambda rng: ()
    dcdf: tuple[Callable[..., Any], ...] = ()
    support: tuple[float, float] = (-math.inf, math.inf)


def _t_g(z: Any, df: Any) -> Any:
    return (
        sc.gammaln((df + 1) / 2) - sc.gammaln(df / 2) - (np.log(df) + LOG_PI) / 2
        - (df + 1) / 2 * np.log1p(z * z / df)
    )  # fmt: skip


def _t_ddf(z: Any, df: Any) -> Any:
    q = z * z
    return (
        (sc.digamma((df + 1) / 2) - sc.digamma(df / 2) - 1 / df - np.log1p(q / df)) / 2
        + (df + 1) * q / (2 * df * (df + q))
    )  # fmt: skip


def _chi2_g(z: Any, df: Any) -> Any:
    return sc.xlogy(df / 2 - 1, z) - z / 2 - df / 2 * LOG_2 - sc.gammaln(df / 2)


@primitive(
    lambda dy, y, z, df: dy * np.exp(_t_g(z, df)) * _t_ddf(z, df),  # d/dz: d/ddf of the pdf
    no_derivative("t_cdf_ddf", "df", "a second derivative in the shape parameter"),
    domain=Domain(args=("real", "plain"), sample=lambda rng: (
        (rng.uniform(-3.0, 3.0, size=(3,)), rng.uniform(1.0, 6.0, size=(3,))), {}
    )),
)  # fmt: skip
def t_cdf_ddf(z: Any, df: Any) -> Any:
    """d/ddf of scipy.stats.t.cdf(z, df), numerically (`rulegrad.scipy._incomplete`)."""
    return _cast(_incomplete.t_cdf_ddf(z, df), z, df)


def _beta_g(z: Any, a: Any, b: Any) -> Any:
    return sc.xlogy(a - 1, z) + sc.xlog1py(b - 1, -z) - sc.betaln(a, b)


def _uniform(lo: float, hi: float) -> Callable[[np.random.Generator], Any]:
    return lambda rng: rng.uniform(lo, hi, size=(3,))


FAMILIES = (
    Family("norm", (), lambda z: -z * z / 2 - LOG_SQRT_2PI, lambda z: -z, (), _uniform(-2.0, 2.0)),
    Family(
        "t",
        ("df",),
        _t_g,
        lambda z, df: -(df + 1) * z / (df + z * z),
        (_t_ddf,),
        _uniform(-2.0, 2.0),
        lambda rng: (rng.uniform(1.0, 6.0, size=(3,)),),
        (t_cdf_ddf,),
    ),  # fmt: skip
    Family(
        "gamma",
        ("a",),
        lambda z, a: sc.xlogy(a - 1, z) - z - sc.gammaln(a),
        lambda z, a: (a - 1) / z - 1,
        (lambda z, a: np.log(z) - sc.digamma(a),),
        _uniform(0.3, 3.0),
        lambda rng: (rng.uniform(0.8, 4.0, size=(3,)),),
        (lambda z, a: gammainc_da(a, z),),
        (0.0, math.inf),
    ),  # fmt: skip
    Family(
        "beta",
        ("a", "b"),
        _beta_g,
        lambda z, a, b: (a - 1) / z - (b - 1) / (1 - z),
        (
            lambda z, a, b: np.log(z) - sc.digamma(a) + sc.digamma(a + b),
            lambda z, a, b: np.log1p(-z) - sc.digamma(b) + sc.digamma(a + b),
        ),
        _uniform(0.15, 0.85),
        lambda rng: tuple(rng.uniform(0.8, 4.0, size=(2, 3))),
        (lambda z, a, b: betainc_da(a, b, z), lambda z, a, b: betainc_db(a, b, z)),
        (0.0, 1.0),
    ),  # fmt: skip
    Family(
        "chi2",
        ("df",),
        _chi2_g,
        lambda z, df: (df / 2 - 1) / z - 0.5,
        (lambda z, df: (np.log(z) - LOG_2 - sc.digamma(df / 2)) / 2,),
        _uniform(0.3, 3.0),
        lambda rng: (rng.uniform(1.5, 6.0, size=(3,)),),
        (lambda z, df: gammainc_da(df / 2, z / 2) / 2,),
        (0.0, math.inf),
    ),  # fmt: skip
    Family(
        "expon",
        (),
        lambda z: -z,
        lambda z: -np.ones_like(z),
        (),
        _uniform(0.2, 3.0),
        support=(0.0, math.inf),
    ),
)


def _signature(names: tuple[str, ...], defaults: dict[str, Any]) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [
            inspect.Parameter(n, kind, default=defaults.get(n, inspect.Parameter.empty))
            for n in names
        ]
    )


def _impl(dist: Any, method: str, names: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    """A function calling scipy's ``dist.method`` (the original), result in the args' dtype."""
    original = getattr(dist, method)

    def impl(*args: Any) -> Any:
        return _cast(original(*args), *args)

    impl.__name__ = impl.__qualname__ = f"{dist.name}.{method}"
    impl.__module__ = "scipy.stats"  # what the catalog and errors name
    impl.__doc__ = f"scipy.stats.{dist.name}.{method}, in the arguments' float dtype."
    impl.__signature__ = _signature(names, defaults)  # type: ignore[attr-defined]
    return impl


def _register(
    dist: Any, method: str, names: tuple, defaults: dict, rules: list, domain: Any
) -> None:
    impl = _impl(dist, method, names, defaults)
    # (elementwise in every argument: each rule is its argument's forward rule too)
    prim = primitive(impl, *rules, jvp=ELEMENTWISE, domain=domain)
    PRIMITIVES[impl.__name__] = prim
    intercept(dist, method, prim, impl, arrays=names)


# ---- location-scale families ----
def _split(fam: Family, args: tuple) -> tuple[Any, tuple, Any, Any, Any]:
    """(x, shapes, loc, scale, z) from the positional arguments."""
    x, *rest = args
    k = len(fam.shapes)
    shapes, loc, scale = tuple(rest[:k]), rest[k], rest[k + 1]
    return x, shapes, loc, scale, (x - loc) / scale


def _supported(fam: Family, rule: Callable[..., Any]) -> Callable[..., Any]:
    """``rule`` made 0 outside the family's support, where the density is 0 and the cdf
    constant: it runs with the points outside moved inside (where its formulas are
    finite: ``log(z)`` of a negative ``z`` is nan), its result there replaced by 0."""
    lo, hi = fam.support
    if (lo, hi) == (-math.inf, math.inf):
        return rule
    inner = lo + 1.0 if hi == math.inf else (lo + hi) / 2

    def supported(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        inside = (z >= lo) & (z <= hi)
        if np.all(inside):
            return rule(dy, y, *args)
        x = np.where(inside, x, loc + inner * s)  # (recorded: x may be the argument differentiated)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # (y: -inf there)
            g = rule(dy, y, x, *args[1:])
        return np.where(inside, g, 0)

    supported.__name__ = supported.__qualname__ = rule.__name__
    return supported


def _density_rules(fam: Family, log: bool) -> list:
    """Rules of logpdf (log=True) or pdf: the log density's derivatives times dy (or dy*y)."""

    def weight(dy: Any, y: Any) -> Any:
        return dy if log else dy * y

    def rx(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        return weight(dy, y) * fam.dz(z, *th) / s

    def rloc(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        return -weight(dy, y) * fam.dz(z, *th) / s

    def rscale(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        return -weight(dy, y) * (fam.dz(z, *th) * z + 1) / s

    def shape_rule(i: int) -> Callable[..., Any]:
        def rule(dy: Any, y: Any, *args: Any) -> Any:
            x, th, loc, s, z = _split(fam, args)
            return weight(dy, y) * fam.dshapes[i](z, *th)

        return rule

    rules = [rx, *(shape_rule(i) for i in range(len(fam.shapes))), rloc, rscale]
    return [_supported(fam, r) for r in rules]


def _cdf_rules(fam: Family, method: str) -> list:
    """Rules of cdf, logcdf, sf, logsf: the standardized density times 1, -1, -z over scale."""
    sign = -1 if method in ("sf", "logsf") else 1
    log = method.startswith("log")

    def w(dy: Any, y: Any, th: tuple, z: Any, s: Any) -> Any:
        g = fam.g(z, *th)
        return sign * dy * np.exp(g - y if log else g) / s

    def rx(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        return w(dy, y, th, z, s)

    def rloc(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        return -w(dy, y, th, z, s)

    def rscale(dy: Any, y: Any, *args: Any) -> Any:
        x, th, loc, s, z = _split(fam, args)
        return -w(dy, y, th, z, s) * z

    def shape_rule(i: int) -> Callable[..., Any]:
        def rule(dy: Any, y: Any, *args: Any) -> Any:
            x, th, loc, s, z = _split(fam, args)
            d = fam.dcdf[i](z, *th)  # the cdf's; the sf's is its negative
            return sign * dy * (d / np.exp(y) if log else d)

        return rule

    rules = [rx, *(shape_rule(i) for i in range(len(fam.shapes))), rloc, rscale]
    return [_supported(fam, r) for r in rules]


def _family_sample(fam: Family) -> Callable[[np.random.Generator], tuple[tuple, dict]]:
    def sample(rng: np.random.Generator) -> tuple[tuple, dict]:
        loc, scale = rng.uniform(-1.0, 1.0, size=(3,)), rng.uniform(0.5, 2.0, size=(3,))
        x = loc + scale * fam.z(rng)
        return (x, *fam.draw_shapes(rng), loc, scale), {}

    return sample


def _register_family(fam: Family) -> None:
    dist = getattr(ss, fam.name)
    names = ("x", *fam.shapes, "loc", "scale")
    defaults = {"loc": 0, "scale": 1}
    kinds = ("real", *("positive",) * len(fam.shapes), "real", "real")
    for method in ("logpdf", "pdf", "logcdf", "cdf", "sf", "logsf"):
        density = method in ("logpdf", "pdf")
        rules = _density_rules(fam, method == "logpdf") if density else _cdf_rules(fam, method)
        # order 1 for a cdf with shapes: its shape derivative does not differentiate again
        order = 2 if density or not fam.shapes else 1
        domain = Domain(args=kinds, sample=_family_sample(fam), order=order)
        _register(dist, method, names, defaults, rules, domain)


for _family in FAMILIES:
    _register_family(_family)


# ---- poisson: k and loc are integers, mu is differentiable ----
def _poisson_pmf(k: Any, mu: Any) -> Any:
    """The pmf at the integer part of ``k``, written with ufuncs that have rules."""
    k = np.floor(k)
    return np.exp(sc.xlogy(k, mu) - mu - sc.gammaln(k + 1))


def _poisson_rule(method: str) -> Callable[..., Any]:
    def rule(dy: Any, y: Any, k: Any, mu: Any, loc: Any = 0) -> Any:
        k = np.asarray(k - loc, dtype=dtype_of(mu))  # plain integers, in mu's dtype
        if method == "logpmf":
            return dy * (k / mu - 1)
        if method == "pmf":
            return dy * y * (k / mu - 1)
        p = _poisson_pmf(k, mu)  # d cdf / d mu = -pmf(k, mu); d sf / d mu = pmf(k, mu)
        sign = 1 if method in ("sf", "logsf") else -1
        return sign * dy * (p / np.exp(y) if method.startswith("log") else p)

    return rule


def _poisson_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.integers(0, 6, size=(3,)), rng.uniform(0.5, 4.0, size=(3,)), 0), {}


for _method in ("logpmf", "pmf", "logcdf", "cdf", "sf", "logsf"):
    _register(
        ss.poisson, _method, ("k", "mu", "loc"), {"loc": 0},
        [None, _poisson_rule(_method), None],  # k and loc are integers
        Domain(args=("int", "real", "int"), sample=_poisson_sample),
    )  # fmt: skip


# ---- dirichlet: x on the simplex (along axis 0), concentration alpha ----
def _alpha_col(alpha: Any, x: Any) -> Any:
    """alpha as a column against x of shape (K,) or (K, N)."""
    return np.reshape(alpha, (-1,) + (1,) * (np.ndim(x) - 1))


def _dirichlet_logpdf(x: Any, alpha: Any) -> Any:
    """sum((alpha - 1) log x, axis 0) - log B(alpha), without scipy's simplex check."""
    a = _alpha_col(alpha, x)
    return (
        np.sum(sc.xlogy(a - 1, x), axis=0) + sc.gammaln(np.sum(alpha)) - np.sum(sc.gammaln(alpha))
    )


def _dirichlet_rules(log: bool) -> list:
    def weight(dy: Any, y: Any) -> Any:
        return dy if log else dy * y

    def rx(dy: Any, y: Any, x: Any, alpha: Any) -> Any:
        return weight(dy, y) * (_alpha_col(alpha, x) - 1) / x

    def ralpha(dy: Any, y: Any, x: Any, alpha: Any) -> Any:
        per = np.log(x) + _alpha_col(sc.digamma(np.sum(alpha)) - sc.digamma(alpha), x)
        g = weight(dy, y) * per
        return np.reshape(
            np.sum(g, axis=tuple(range(1, np.ndim(x)))) if np.ndim(x) > 1 else g, np.shape(alpha)
        )

    return [rx, ralpha]


def _dirichlet_forward(log: bool) -> list:
    """Forward rules: the log density's derivatives summed against the tangents over the
    K categories (axis 0), times y for the pdf."""

    def weight(t: Any, y: Any) -> Any:
        return t if log else t * y

    def fx(dx: Any, y: Any, x: Any, alpha: Any) -> Any:
        return weight(np.sum((_alpha_col(alpha, x) - 1) / x * dx, axis=0), y)

    def falpha(dalpha: Any, y: Any, x: Any, alpha: Any) -> Any:
        per = np.log(x) + _alpha_col(sc.digamma(np.sum(alpha)) - sc.digamma(alpha), x)
        return weight(np.sum(per * _alpha_col(dalpha, x), axis=0), y)

    return [fx, falpha]


#: How far from the simplex ``x`` may be: looser than scipy's 1e-9, so that the gradient
#: checks can perturb it (the gradient is the density formula's, as HIPS autograd's).
SIMPLEX_TOL = 1e-4


def _dirichlet_impl(method: str) -> Any:
    original = getattr(ss.dirichlet, method)

    def impl(x: Any, alpha: Any) -> Any:
        x, alpha = np.asarray(x), np.asarray(alpha)
        if np.any(x <= 0) or np.any(np.abs(np.sum(x, axis=0) - 1) > SIMPLEX_TOL):
            original(x, alpha)  # scipy's own error
            raise ValueError(f"dirichlet.{method}: x must lie on the simplex along axis 0")
        y = _dirichlet_logpdf(x, alpha)
        return _cast(y if method == "logpdf" else np.exp(y), x, alpha)

    impl.__name__ = impl.__qualname__ = f"dirichlet.{method}"
    impl.__module__ = "scipy.stats"  # what the catalog and errors name
    return impl


def _dirichlet_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    k = int(rng.integers(2, 5))
    shape = (k,) if rng.integers(0, 2) else (k, 2)
    x = rng.uniform(0.2, 1.0, size=shape)
    return (x / np.sum(x, axis=0), rng.uniform(0.8, 4.0, size=(k,))), {}


for _method in ("logpdf", "pdf"):
    _impl_d = _dirichlet_impl(_method)
    _prim = primitive(
        _impl_d, *_dirichlet_rules(_method == "logpdf"), domain=Domain(sample=_dirichlet_sample),
        jvp=_dirichlet_forward(_method == "logpdf"),
    )  # fmt: skip
    PRIMITIVES[_impl_d.__name__] = _prim
    intercept(ss.dirichlet, _method, _prim, _impl_d, arrays=("x", "alpha"))


# ---- multivariate_normal: x (..., d), mean (d,), cov (d, d), a vector (diagonal) or a number ----
def _mvn_parts(x: Any, mean: Any, cov: Any) -> tuple[Any, Any, int]:
    """x as (..., d), the full (symmetric) covariance matrix, and d."""
    d = np.shape(cov)[0] if np.ndim(cov) else (np.shape(mean)[-1] if np.ndim(mean) else 1)
    if d == 1 and (np.ndim(x) == 0 or np.shape(x)[-1] != 1):
        x = np.expand_dims(x, -1)  # a batch of scalars, as scipy reads it
    if np.ndim(cov) == 2:  # the lower triangle, as scipy reads it
        S = np.tril(cov) + np.swapaxes(np.tril(cov, -1), 0, 1)
    elif np.ndim(cov) == 1:
        S = np.diag(cov)
    else:
        S = cov * np.eye(d, dtype=np.result_type(cov, float_dtype(x)))
    return x, S, d


def _mvn_a(x: Any, mean: Any, S: Any) -> Any:
    """Sigma^-1 (x - mean), per point: (..., d)."""
    r = x - (0.0 if mean is None else mean)
    return np.swapaxes(
        np.linalg.solve(S, np.swapaxes(np.reshape(r, (-1, np.shape(r)[-1])), 0, 1)), 0, 1
    ).reshape(np.shape(r))


def _mvn_dy(dy: Any, y: Any, log: bool, x: Any) -> Any:
    """dy (or dy * y for the pdf) with x's batch shape and a trailing axis."""
    w = dy if log else dy * y
    return np.reshape(w, np.shape(x)[:-1] + (1,))


def _mvn_rules(log: bool) -> list:
    def rx(dy: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, singular: Any = 0) -> Any:
        x2, S, d = _mvn_parts(x, mean, cov)
        return np.reshape(-_mvn_dy(dy, y, log, x2) * _mvn_a(x2, mean, S), np.shape(x))

    def rmean(dy: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, singular: Any = 0) -> Any:
        x2, S, d = _mvn_parts(x, mean, cov)
        g = _mvn_dy(dy, y, log, x2) * _mvn_a(x2, mean, S)
        return np.reshape(np.sum(np.reshape(g, (-1, d)), axis=0), np.shape(mean))

    def rcov(dy: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, singular: Any = 0) -> Any:
        """0.5 (sum_i w_i a_i a_i^T - sum_i w_i Sigma^-1), mapped back to cov's form."""
        x2, S, d = _mvn_parts(x, mean, cov)
        w = _mvn_dy(dy, y, log, x2)
        a = np.reshape(_mvn_a(x2, mean, S), (-1, d))
        wa = np.reshape(w, (-1, 1)) * a
        G = (np.matmul(np.swapaxes(wa, 0, 1), a) - np.sum(w) * np.linalg.inv(S)) / 2
        if np.ndim(cov) == 2:  # scipy reads the lower triangle only: it gets the gradient
            return np.tril(G + np.swapaxes(G, 0, 1)) - G * np.eye(d, dtype=G.dtype)
        if np.ndim(cov) == 1:
            return np.diagonal(G)
        return np.trace(G)

    return [rx, rmean, rcov]


def _mvn_impl(method: str) -> Any:
    original = getattr(ss.multivariate_normal, method)

    def impl(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        return _cast(original(x, mean, cov, allow_singular), x, mean, cov)

    impl.__name__ = impl.__qualname__ = f"multivariate_normal.{method}"
    impl.__module__ = "scipy.stats"  # what the catalog and errors name
    return impl


def _mvn_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    d = int(rng.integers(2, 4))
    m = rng.uniform(-1.0, 1.0, size=(d, d))
    cov = m @ m.T / d + np.eye(d)
    shape = (d,) if rng.integers(0, 2) else (3, d)
    return (rng.uniform(-2.0, 2.0, size=shape), rng.uniform(-1.0, 1.0, size=(d,)), cov), {}


for _method in ("logpdf", "pdf"):
    _impl_m = _mvn_impl(_method)
    _prim = primitive(
        _impl_m, *_mvn_rules(_method == "logpdf"), None, domain=Domain(sample=_mvn_sample)
    )
    PRIMITIVES[_impl_m.__name__] = _prim
    intercept(ss.multivariate_normal, _method, _prim, _impl_m, arrays=("x", "mean", "cov"))


# ---- multivariate_normal.cdf, logcdf: the rules are in rulegrad.scipy.mvn ----
#: order 1: the rules are first order (they call scipy's cdf, a quasi-Monte Carlo estimate
#: for d >= 3, on plain values; differentiating them again raises RuleError).
for _method in ("cdf", "logcdf"):
    _impl_c = mvn.make_impl(_method)
    _prim = primitive(
        _impl_c, *mvn.rules(_method), jvp=mvn.forward(_method),
        domain=Domain(sample=mvn.sample, order=1),
    )  # fmt: skip
    PRIMITIVES[_impl_c.__name__] = _prim
    intercept(ss.multivariate_normal, _method, _prim, _impl_c, arrays=("x", "mean", "cov"))
