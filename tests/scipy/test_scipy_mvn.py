"""rulegrad/scipy/mvn.py: multivariate_normal.cdf and logcdf against closed forms and central
differences of scipy's cdf (seeded, so that d >= 3, a quasi-Monte Carlo estimate, is smooth)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

import rulegrad as rg
from rulegrad import plugins
from rulegrad.scipy.mvn import SEEDED, reads_upper

plugins.load()  # intercepts the distribution methods
mvn = ss.multivariate_normal

S3 = np.array([[2.0, 0.5, 0.3], [0.5, 1.5, -0.4], [0.3, -0.4, 1.0]])
X3 = np.array([0.3, -0.2, 0.5])
M3 = np.array([0.1, 0.0, -0.2])
#: What scipy's cdf is told for d >= 3 in the central differences: tight, seeded.
QMC = {"abseps": 1e-6, "rng": 0} if SEEDED else {}
#: How closely two evaluations of the cdf for d >= 3 agree (relative): 1.15 has no seed, and
#: its error at the default abseps is up to 3e-4 of a cdf of 0.03.
AGREE = 1e-12 if SEEDED else 2e-3
UNSEEDED = pytest.mark.skipif(not SEEDED, reason="scipy 1.15's cdf (d >= 3) cannot be seeded")
T, W = np.polynomial.legendre.leggauss(80)


def exact3(x, m, S):
    """The cdf for d = 3 by 80-point Gauss-Legendre quadrature over x_1 of the marginal
    density times scipy's bivariate conditional cdf (closed form): deterministic, to ~1e-15."""
    S = np.triu(S) + np.triu(S, 1).T if reads_upper(3) else np.tril(S) + np.tril(S, -1).T
    r, s = x - m, np.sqrt(S[0, 0])
    b = S[1:, 0] / S[0, 0]
    C = S[1:, 1:] - np.outer(b, S[0, 1:])
    lo = -9 * s
    t = lo + (r[0] - lo) * (T + 1) / 2
    f = ss.norm.pdf(t, scale=s) * mvn.cdf(r[1:] - t[:, None] * b, np.zeros(2), C)
    return (r[0] - lo) / 2 * np.sum(W * f)


def grads(f, *args):
    """The gradients of sum(f(*args)) with respect to every argument."""
    return rg.grad(lambda *a: np.sum(f(*a)), argnums=tuple(range(len(args))))(*args)


def central(F, a, h=1e-4):
    """Central differences of F at a, one entry of a at a time."""
    a = np.asarray(a, dtype=np.float64)
    out = np.zeros_like(a)
    for k in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[k] = h
        out[k] = (np.sum(F(a + e)) - np.sum(F(a - e))) / (2 * h)
    return out


def triangle(G):
    """The symmetric-matrix gradient (dF/dS_ij for a pair, once) from either triangle."""
    return G + G.T - np.diag(np.diag(G))


def test_d1_equals_the_normal_density() -> None:
    """d = 1: dF/dx = phi, dF/dmean = -phi, dF/dvar = -phi(z) z / (2 var), for cov as a
    number, a vector and a matrix, and x as a batch of scalars."""
    x, m, v = np.array([-1.0, 0.2, 0.7, 2.0]), 0.3, 1.7
    z = (x - m) / np.sqrt(v)
    pdf = ss.norm.pdf(z) / np.sqrt(v)
    for cov in (v, np.array([v]), np.array([[v]])):
        gx, gm, gc = grads(mvn.cdf, x, m, cov)
        np.testing.assert_allclose(gx, pdf, rtol=1e-12)
        np.testing.assert_allclose(gm, -np.sum(pdf), rtol=1e-12)
        assert np.shape(gc) == np.shape(cov)
        np.testing.assert_allclose(np.sum(gc), np.sum(-ss.norm.pdf(z) * z / (2 * v)), rtol=1e-12)


def test_d2_equals_the_bivariate_closed_form() -> None:
    """d = 2: dF/dx_1 = phi(z_1)/s_1 Phi((z_2 - rho z_1)/sqrt(1 - rho^2)), dF/dS_12 is the
    bivariate density, dF/dS_11 = (1/2) d2F/dx_1^2, at several points at once."""
    s1, s2, rho = 1.3, 0.8, -0.6
    S = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    m = np.array([0.2, -0.1])
    x = np.array([[0.5, 0.1], [-1.0, 0.4], [0.3, -0.9]])
    gx, gm, gc = rg.grad(lambda x, m, S: np.sum(mvn.cdf(x, m, S)), argnums=(0, 1, 2))(x, m, S)
    z1, z2 = (x[:, 0] - m[0]) / s1, (x[:, 1] - m[1]) / s2
    c = np.sqrt(1 - rho * rho)
    u = (z2 - rho * z1) / c
    g1 = ss.norm.pdf(z1) / s1 * ss.norm.cdf(u)
    np.testing.assert_allclose(gx[:, 0], g1, rtol=1e-12)
    np.testing.assert_allclose(gx[:, 1], ss.norm.pdf(z2) / s2 * ss.norm.cdf((z1 - rho * z2) / c))
    np.testing.assert_allclose(gm, -np.sum(gx, axis=0), rtol=1e-12)
    G = triangle(gc)
    np.testing.assert_allclose(G[0, 1], np.sum(mvn.pdf(x, m, S)), rtol=1e-12)
    d2 = -z1 / s1 * g1 - ss.norm.pdf(z1) / s1 * ss.norm.pdf(u) * rho / (s1 * c)
    np.testing.assert_allclose(G[0, 0], np.sum(d2) / 2, rtol=1e-12)


def test_d3_matches_central_differences_of_an_exact_cdf() -> None:
    """d = 3: x, mean and every entry of cov against central differences of `exact3`, to
    1e-8 of the largest entry (the rules' conditional cdfs are bivariate, exact)."""
    gx, gm, gc = grads(mvn.cdf, X3, M3, S3)
    for g, num in (
        (gx, central(lambda a: exact3(a, M3, S3), X3)),
        (gm, central(lambda a: exact3(X3, a, S3), M3)),
        (gc, central(lambda a: exact3(X3, M3, a), S3)),
    ):
        np.testing.assert_allclose(g, num, atol=1e-8 * np.max(np.abs(num)), rtol=0)


@pytest.mark.parametrize("d", [2, pytest.param(3, marks=UNSEEDED)])
def test_matches_central_differences_of_scipy(d: int) -> None:
    """x, mean and every entry of cov (either triangle) against central differences of scipy's
    own cdf (seeded for d = 3), to 1e-9 for d = 2 and 2e-5 of the largest entry for d = 3."""
    S, x, m = S3[:d, :d], X3[:d], M3[:d]
    kw, h, tol = (QMC, 1e-4, 2e-5) if d >= 3 else ({}, 1e-5, 1e-9)
    gx, gm, gc = grads(lambda x, m, S: mvn.cdf(x, m, S, **kw), x, m, S)
    for g, num in (
        (gx, central(lambda a: mvn.cdf(a, m, S, **kw), x, h)),
        (gm, central(lambda a: mvn.cdf(x, a, S, **kw), m, h)),
        (gc, central(lambda a: mvn.cdf(x, m, a, **kw), S, h)),
    ):
        np.testing.assert_allclose(g, num, atol=tol * np.max(np.abs(num)), rtol=0)
    assert np.all((np.tril(gc, -1) if reads_upper(d) else np.triu(gc, 1)) == 0)


@UNSEEDED
def test_d4_conditionals_by_quasi_monte_carlo() -> None:
    """d = 4, whose conditional cdfs are 3-dimensional estimates: x and three entries of cov
    against central differences of the seeded cdf, to 1e-4 of the largest entry."""
    S = np.eye(4) * 1.2 + 0.3
    S[0, 3] = S[3, 0] = -0.2
    x, m = np.array([0.3, -0.2, 0.5, 0.1]), np.zeros(4)
    gx, gc = rg.grad(lambda x, S: mvn.cdf(x, m, S, **QMC), argnums=(0, 1))(x, S)
    num = central(lambda a: mvn.cdf(a, m, S, **QMC), x, h=1e-3)
    np.testing.assert_allclose(gx, num, atol=1e-4 * np.max(np.abs(num)), rtol=0)
    assert reads_upper(4) is False  # scipy reads the lower triangle for d >= 3
    for i, j in ((0, 0), (3, 0), (2, 1)):
        e = np.zeros((4, 4))
        e[i, j] = 1e-3
        num = (mvn.cdf(x, m, S + e, **QMC) - mvn.cdf(x, m, S - e, **QMC)) / 2e-3
        np.testing.assert_allclose(gc[i, j], num, atol=1e-4 * np.max(np.abs(gx)), rtol=0)


def test_several_points_equal_one_at_a_time() -> None:
    """x of shape (2, 2, 3): the gradient has x's shape, each point's row is that point's
    gradient, and mean's and cov's gradients are the sums over the points."""
    x = X3 + np.linspace(-1.0, 1.0, 12).reshape(2, 2, 3)
    gx, gm, gc = grads(lambda x, m, S: mvn.cdf(x, m, S, **QMC), x, M3, S3)
    assert gx.shape == x.shape
    sums = [np.zeros(3), np.zeros((3, 3))]
    for k in np.ndindex(2, 2):
        px, pm, pc = grads(lambda x, m, S: mvn.cdf(x, m, S, **QMC), x[k], M3, S3)
        np.testing.assert_allclose(gx[k], px, rtol=1e-12)
        sums[0] += pm
        sums[1] += pc
    np.testing.assert_allclose(gm, sums[0], rtol=1e-12)
    np.testing.assert_allclose(gc, sums[1], rtol=1e-12, atol=1e-15)


def test_logcdf_is_the_cdfs_gradient_over_the_cdf() -> None:
    """logcdf's gradients are cdf's divided by the cdf, per point."""
    x = np.array([X3, X3 - 1.0])
    gx, gm, gc = grads(lambda x, m, S: mvn.logcdf(x, m, S, **QMC), x, M3, S3)
    F = mvn.cdf(x, M3, S3, **QMC)
    for k in range(2):
        px, pm, pc = grads(lambda x, m, S: mvn.cdf(x, m, S, **QMC), x[k], M3, S3)
        np.testing.assert_allclose(gx[k], px / F[k], rtol=AGREE)
    assert gc.shape == (3, 3) and gm.shape == (3,)


def test_diagonal_and_scalar_cov() -> None:
    """A vector cov's gradient is the matrix gradient's diagonal, a number's their sum."""
    v = np.array([1.5, 0.7, 1.1])
    gv = rg.grad(lambda v: mvn.cdf(X3, M3, v, **QMC))(v)
    gS = rg.grad(lambda S: mvn.cdf(X3, M3, S, **QMC))(np.diag(v))
    np.testing.assert_allclose(gv, np.diag(gS), rtol=1e-12)
    gc = rg.grad(lambda c: mvn.cdf(X3, M3, c, **QMC))(1.5)
    gI = rg.grad(lambda S: mvn.cdf(X3, M3, S, **QMC))(1.5 * np.eye(3))
    np.testing.assert_allclose(gc, np.trace(gI), rtol=1e-12)


def test_float32_stays_float32() -> None:
    """float32 x, mean and cov: a float32 value and float32 gradients near float64's."""
    x, m, S = (a.astype(np.float32) for a in (X3[:2], M3[:2], S3[:2, :2]))
    assert mvn.cdf(rg.Param(x), m, S).dtype == np.float32
    g32 = grads(mvn.cdf, x, m, S)
    g64 = grads(mvn.cdf, X3[:2], M3[:2], S3[:2, :2])
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


JVP_CASES = [
    (X3, M3, S3),
    (np.array([-1.0, 0.2, 0.7]), 0.3, 1.7),  # d = 1: a batch of scalars, numbers
    (np.array([[0.3, -0.2], [1.0, 0.5]]), M3[:2], np.array([1.5, 0.7])),  # a vector cov
]


@pytest.mark.parametrize("case", range(len(JVP_CASES)))
def test_jvp_is_the_gradient_along_the_tangent(case: int) -> None:
    """Forward mode (the forward rules) gives <grad, t> for x, mean and cov together."""
    args = JVP_CASES[case]
    ts = tuple(np.linspace(-1.0, 1.0, np.size(a)).reshape(np.shape(a)) for a in args)
    f = lambda x, m, S: mvn.logcdf(x, m, S, **QMC)  # noqa: E731
    _, jt = rg.jvp(f, args, ts)
    expected = sum(np.sum(g * t) for g, t in zip(grads(f, *args), ts))
    np.testing.assert_allclose(np.sum(jt), expected, rtol=AGREE)


@pytest.mark.skipif(not SEEDED, reason="scipy 1.15's cdf takes no rng")
def test_the_value_is_scipys_with_its_arguments() -> None:
    """A tracked call passes maxpts, abseps and rng through: the value is scipy's."""
    kw = {"abseps": 1e-4, "rng": 3}
    assert rg.value(mvn.cdf(rg.Param(X3), M3, S3, **kw)) == mvn.cdf(X3, M3, S3, **kw)


def test_lower_limit_has_no_gradient() -> None:
    """A box's probability (lower_limit) raises RuleError rather than a wrong gradient."""
    with pytest.raises(rg.RuleError, match="lower_limit"):
        rg.grad(lambda x: mvn.cdf(x, M3, S3, lower_limit=-np.ones(3)))(X3)


def test_second_order_raises() -> None:
    """Differentiating the gradient raises RuleError (the rules are first order)."""
    f = lambda x: np.sum(rg.grad(lambda y: mvn.cdf(y, M3[:2], S3[:2, :2]))(x))  # noqa: E731
    with pytest.raises(rg.RuleError, match="first order"):
        rg.grad(f)(X3[:2])
