"""rulegrad/scipy/stats.py: distribution methods against central differences and HIPS autograd."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

import rulegrad as rg
from rulegrad import plugins
from rulegrad.scipy.stats import PRIMITIVES

plugins.load()  # intercepts the distribution methods
ag = pytest.importorskip("autograd")
ast = pytest.importorskip("autograd.scipy.stats")

X = np.array([0.3, 0.55, 0.8])
LOC, SCALE = np.array([0.1, -0.2, 0.3]), np.array([0.9, 1.4, 0.6])
# distribution -> (shape parameters, standardized x inside the support)
FAMILIES = {
    "norm": ((), X),
    "t": ((np.array([1.5, 3.0, 7.0]),), X),
    "gamma": ((np.array([1.5, 2.0, 3.5]),), X + 0.5),
    "beta": ((np.array([1.5, 2.0, 3.5]), np.array([2.5, 1.2, 0.9])), X * 0.5 + 0.3),
    "chi2": ((np.array([2.5, 4.0, 5.0]),), X + 0.5),
    "expon": ((), X + 0.5),
}
METHODS = ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_continuous_argument_matches_central_differences(name: str, method: str) -> None:
    """x, loc, scale (and the shapes of the densities), first and second order."""
    shapes, z = FAMILIES[name]  # z: standardized points inside the support
    f = getattr(getattr(ss, name), method)
    loc = LOC
    x = loc + SCALE * z
    assert rg.checkgrad(lambda x, m, s: f(x, *shapes, m, s), x, loc, SCALE, order=2) < 1e-4
    if method in ("logpdf", "pdf") and shapes:
        args = lambda *th: f(x, *th, loc=loc, scale=SCALE)  # noqa: E731
        assert rg.checkgrad(args, *shapes, order=2) < 1e-4


@pytest.mark.parametrize("method", ["pdf", "cdf", "sf", "logsf"])
@pytest.mark.parametrize("name", ["gamma", "beta", "chi2", "expon"])
def test_points_outside_the_support_get_zero_gradients(name: str, method: str) -> None:
    """Outside the support the density is 0 and the cdf constant: every derivative is 0,
    reverse and forward (expon.cdf(-1) had d/dx = e, gamma's and beta's cdf nan there)."""
    shapes = tuple(th[0] for th in FAMILIES[name][0])
    f = getattr(getattr(ss, name), method)
    x = np.array([-1.0, 1.5]) if name == "beta" else np.array([-1.0, -0.2])
    args = (x, *shapes, 0.0, 1.0)
    for i in range(len(args)):
        g = rg.grad(lambda *a: np.sum(f(*a)), i)(*args)  # noqa: B023
        np.testing.assert_array_equal(g, 0.0)
        t = tuple(np.ones_like(a) if j == i else None for j, a in enumerate(args))
        np.testing.assert_array_equal(rg.jvp(f, args, t)[1], 0.0)


def test_keyword_parameters_are_recorded_and_dtype_kept() -> None:
    """norm.logpdf(x, scale=s) with s tracked by keyword; float32 in, float32 out and grad."""
    s = np.float32([1.5, 0.5])
    x = np.float32([0.2, -0.4])
    g = rg.grad(lambda s: np.sum(ss.norm.logpdf(x, scale=s)))(s)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, (x * x / s**2 - 1) / s, rtol=1e-5)


def test_plain_calls_are_scipys_own() -> None:
    """Without a tracked argument the method is scipy's (frozen distributions too)."""
    assert ss.norm.logpdf.__wrapped__ is not None
    assert ss.norm.logpdf(0.0) == pytest.approx(-0.9189385332)
    assert ss.norm(loc=1.0).cdf(1.0) == 0.5


def test_cdf_shape_parameter_has_no_second_derivative() -> None:
    """gamma.cdf's second derivative in its shape a is a RuleError naming it (the first is
    numeric, tests/scipy/test_scipy_incomplete.py)."""
    with pytest.raises(rg.RuleError, match=r"gammainc_da: no derivative w.r.t. a"):
        rg.grad(rg.grad(lambda a: ss.gamma.cdf(1.0, a)))(2.0)


AUTOGRAD = [("norm", m, ()) for m in ("logpdf", "pdf", "logcdf", "cdf", "sf", "logsf")] + [
    ("t", m, (np.array([1.5, 3.0, 7.0]),)) for m in ("logpdf", "pdf")
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, method, shapes", AUTOGRAD)
def test_location_scale_matches_autograd(
    name: str, method: str, shapes: tuple, dtype: type
) -> None:
    """x, loc and scale gradients equal HIPS autograd's; float32 stays float32."""
    f, h = getattr(getattr(ss, name), method), getattr(getattr(ast, name), method)
    args = tuple(np.asarray(a, dtype) for a in (X, LOC, SCALE))
    ours = rg.grad(lambda x, m, s: np.sum(f(x, *shapes, m, s)), argnums=(0, 1, 2))(*args)
    theirs = ag.grad(lambda x, m, s: ag.numpy.sum(h(x, *shapes, m, s)), argnum=(0, 1, 2))(
        X, LOC, SCALE
    )
    for o, t in zip(ours, theirs):
        assert o.dtype == dtype
        np.testing.assert_allclose(o, t, rtol=1e-3 if dtype == np.float32 else 1e-7)


@pytest.mark.parametrize(
    "name, method, args, argnum",
    [
        ("t", "logpdf", (X, np.array([1.5, 3.0, 7.0])), 1),
        ("t", "cdf", (X, np.array([1.5, 3.0, 7.0])), 0),
        ("gamma", "logpdf", (X + 0.5, np.array([1.5, 2.0, 3.5])), 1),
        ("gamma", "pdf", (X + 0.5, np.array([1.5, 2.0, 3.5])), 0),
        ("gamma", "cdf", (X + 0.5, np.array([1.5, 2.0, 3.5])), 0),
        ("beta", "logpdf", (X, np.array([1.5, 2.0, 3.5]), np.array([2.5, 1.2, 0.9])), 2),
        ("beta", "pdf", (X, np.array([1.5, 2.0, 3.5]), np.array([2.5, 1.2, 0.9])), 1),
        ("beta", "cdf", (X, np.array([1.5, 2.0, 3.5]), np.array([2.5, 1.2, 0.9])), 0),
        # autograd's chi2.logpdf gradient is right for integer df only (0 otherwise)
        ("chi2", "logpdf", (X + 0.5, np.array([2.0, 4.0, 5.0])), 0),
        ("chi2", "cdf", (X + 0.5, np.array([2.5, 4.0, 5.0])), 0),
        ("poisson", "logpmf", (np.array([0, 2, 5]), np.array([0.5, 2.0, 4.0])), 1),
        ("poisson", "pmf", (np.array([0, 2, 5]), np.array([0.5, 2.0, 4.0])), 1),
        ("poisson", "cdf", (np.array([0, 2, 5]), np.array([0.5, 2.0, 4.0])), 1),
    ],
)
def test_shape_parameters_match_autograd(name: str, method: str, args: tuple, argnum: int) -> None:
    """Shape parameters (df, a, b, mu) and x where autograd has them: the same gradient."""
    f, h = getattr(getattr(ss, name), method), getattr(getattr(ast, name), method)

    def ours(z: np.ndarray) -> object:
        return np.sum(f(*args[:argnum], z, *args[argnum + 1 :]))

    def theirs(z: np.ndarray) -> object:
        return ag.numpy.sum(h(*args[:argnum], z, *args[argnum + 1 :]))

    np.testing.assert_allclose(rg.grad(ours)(args[argnum]), ag.grad(theirs)(args[argnum]))


def test_poisson_all_methods_match_central_differences() -> None:
    """poisson's mu, to second order, for every method; k stays an integer."""
    k = np.array([0, 2, 5])
    for method in ["logpmf", "pmf", "logcdf", "cdf", "sf", "logsf"]:
        f = getattr(ss.poisson, method)
        assert rg.checkgrad(lambda mu, f=f: f(k, mu), np.array([0.5, 2.0, 4.0]), order=2) < 1e-5


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_dirichlet_matches_autograd_and_differences(method: str) -> None:
    """dirichlet x and alpha: autograd's gradient for one point; central differences for
    several (scipy's columns; autograd reads points as rows)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 1.0, (3, 4))
    x = x / np.sum(x, axis=0)
    alpha = np.array([1.5, 2.0, 3.0])
    f, h = getattr(ss.dirichlet, method), getattr(ast.dirichlet, method)
    ours = rg.grad(lambda x, a: np.sum(f(x, a)), argnums=(0, 1))(x[:, 0], alpha)
    theirs = ag.grad(lambda x, a: ag.numpy.sum(h(x, a)), argnum=(0, 1))(x[:, 0], alpha)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-7)
    # the primitive itself: a plain call is scipy's, which refuses the perturbed x
    prim = PRIMITIVES[f"dirichlet.{method}"]
    assert rg.checkgrad(lambda x, a: prim(x, a), x, alpha, order=2) < 1e-5


def test_dirichlet_off_the_simplex_raises() -> None:
    """x that does not sum to 1 is scipy's ValueError, tracked or not."""
    with pytest.raises(ValueError, match="simplex"):
        rg.grad(lambda x: ss.dirichlet.logpdf(x, np.ones(3)))(np.array([0.2, 0.2, 0.2]))


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
@pytest.mark.parametrize("shape", [(3,), (4, 3)])
def test_multivariate_normal_matches_autograd_and_differences(method: str, shape: tuple) -> None:
    """x and mean match autograd; cov is checked numerically (scipy reads its lower
    triangle, which gets the gradient) and its symmetric part matches autograd's."""
    rng = np.random.default_rng(1)
    m = rng.standard_normal((3, 3))
    cov, mean, x = m @ m.T / 3 + np.eye(3), rng.standard_normal(3), rng.standard_normal(shape)
    f, h = getattr(ss.multivariate_normal, method), getattr(ast.multivariate_normal, method)
    assert rg.checkgrad(lambda x, m, c: f(x, m, c), x, mean, cov, order=2) < 1e-5
    ours = rg.grad(lambda x, m, c: np.sum(f(x, m, c)), argnums=(0, 1, 2))(x, mean, cov)
    theirs = ag.grad(lambda x, m, c: ag.numpy.sum(h(x, m, c)), argnum=(0, 1, 2))(x, mean, cov)
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1])
    np.testing.assert_allclose((ours[2] + ours[2].T) / 2, (theirs[2] + theirs[2].T) / 2)


def test_multivariate_normal_diagonal_and_scalar_cov() -> None:
    """A vector cov (the diagonal) and a number get gradients of their own shape."""
    x, mean = np.array([[0.3, -0.2], [1.0, 0.5]]), np.array([0.1, 0.2])
    f = ss.multivariate_normal.logpdf
    assert rg.checkgrad(lambda c: f(x, mean, c), np.array([0.7, 1.3]), order=2) < 1e-5
    assert rg.checkgrad(lambda c: f(x, mean, c), 0.8, order=2) < 1e-5


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_multivariate_normal_gradient_ignores_covs_upper_triangle(method: str) -> None:
    """scipy reads cov's lower triangle: the gradient must not depend on the upper one
    (the rules used the whole matrix, so rg.hessian in cov was off, by 0.03 here)."""
    f = getattr(ss.multivariate_normal, method)
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])
    skew = cov + np.triu(np.full((3, 3), 0.25), 1)
    x = np.array([0.4, -0.3, 1.1])
    g = rg.grad(lambda c: f(x, None, c))
    np.testing.assert_allclose(g(skew), g(cov))
    assert rg.checkgrad(lambda c: f(x, None, c), cov, order=2) < 1e-5
