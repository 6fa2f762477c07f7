"""rulegrad/scipy/_incomplete.py: the incomplete gamma and beta functions' derivatives in
their shape parameters, against mpmath (when installed), Richardson differences of scipy's
own functions and closed forms; and the rules of scipy.special and scipy.stats using them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as ss

import rulegrad as rg
from rulegrad import plugins
from rulegrad.scipy._incomplete import betainc_dab, gammainc_da, t_cdf_ddf

plugins.load()

# Hard regions: small a, x near 0, far tails, x near a (and the switch at a + 1) for large a.
A = [0.01, 0.1, 0.5, 1.0, 2.5, 10.0, 100.0, 1000.0]
X = [1e-3, 0.05, 0.5, 1.0, 3.0, 20.0, 200.0, 1000.0]
# Beta: small and large a, b; x near 0 and 1 and near the mean, on both sides of the switch.
AB = [0.01, 0.3, 1.0, 4.0, 50.0, 1000.0]
U = [1e-6, 1e-3, 0.1, 0.5, 0.9, 0.999, 1 - 1e-6]


def _gamma_grid() -> tuple[np.ndarray, np.ndarray]:
    pts = [(a, x) for a in A for x in X]
    pts += [(a, a * f) for a in A for f in (0.9, 1.0, 1.01) if a >= 1] + [(a, a + 1) for a in A]
    return tuple(np.array(c) for c in zip(*pts))  # type: ignore[return-value]


def _beta_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pts = [(a, b, x) for a in AB for b in AB for x in U]
    means = [(a, b, a / (a + b)) for a in AB for b in AB]
    pts += [(a, b, m + f * m * (1 - m)) for a, b, m in means for f in (-0.05, 0.0, 0.05)]
    return tuple(np.array(c) for c in zip(*pts))  # type: ignore[return-value]


def _rel(got: np.ndarray, ref: np.ndarray) -> float:
    keep = np.abs(ref) > 1e-290
    return float(np.max(np.abs(got[keep] - ref[keep]) / np.abs(ref[keep])))


# ---- against mpmath ----
def test_gammainc_da_matches_mpmath() -> None:
    """d/da P(a, x) agrees with mpmath's 40-digit derivative to 1e-11 over the grid."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def ref(a: float, x: float) -> float:
        a, x = mp.mpf(a), mp.mpf(x)
        if x < a:  # the smaller tail, whose digits survive
            return float(mp.diff(lambda s: mp.gammainc(s, 0, x, regularized=True), a))
        return -float(mp.diff(lambda s: mp.gammainc(s, x, mp.inf, regularized=True), a))

    a, x = _gamma_grid()
    want = np.array([ref(ai, xi) for ai, xi in zip(a, x)])
    assert _rel(gammainc_da(a, x), want) < 1e-11


def test_betainc_dab_matches_mpmath() -> None:
    """d/da and d/db I_x(a, b) agree with mpmath's 40-digit derivatives to 1e-10."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def ref(a: float, b: float, x: float) -> tuple[float, float]:
        a, b, x = mp.mpf(a), mp.mpf(b), mp.mpf(x)
        if x < a / (a + b):
            f = lambda s, t: mp.betainc(s, t, 0, x, regularized=True)  # noqa: E731
        else:  # 1 - I_{1-x}(b, a), with 1 - x exact
            f = lambda s, t: -mp.betainc(t, s, 0, 1 - x, regularized=True)  # noqa: E731
        return (
            float(mp.re(mp.diff(lambda s: f(s, b), a))),
            float(mp.re(mp.diff(lambda t: f(a, t), b))),
        )

    a, b, x = _beta_grid()
    want = np.array([ref(*p) for p in zip(a, b, x)])
    da, db = betainc_dab(a, b, x)
    assert _rel(da, want[:, 0]) < 1e-10
    assert _rel(db, want[:, 1]) < 1e-10


def test_t_cdf_ddf_matches_mpmath() -> None:
    """d/ddf of t's cdf agrees with mpmath to 1e-10 for df up to 100, near z = 0 included
    (2e-9 at df = 1000, where its two terms cancel)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def lower(z: float, nu: float) -> float:
        """d/ddf of the cdf at -|z|, the smaller tail, with G from I_{1-x}(1/2, df/2)."""
        z2 = mp.mpf(z) ** 2

        def cdf(n: object) -> object:
            return (1 - mp.betainc(0.5, n / 2, 0, z2 / (n + z2), regularized=True)) / 2

        return float(mp.diff(cdf, mp.mpf(nu)))

    for nu, tol in ((0.05, 1e-10), (1.0, 1e-10), (3.0, 1e-10), (100.0, 1e-10), (1000.0, 2e-9)):
        z = np.array([-300.0, -5.0, -1.0, -1e-3, 1e-6, 0.5, 2.0, 30.0])
        want = np.array([np.sign(zi) * -lower(zi, nu) for zi in z])
        assert _rel(t_cdf_ddf(z, nu), want) < tol, nu


# ---- without mpmath: Richardson differences of scipy's own functions, closed forms ----
def _richardson(f, a: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """f'(a) from central differences at steps h and h/2, extrapolated (error ~h^4)."""
    h = 2e-3 * np.minimum(a, 1.0)

    def central(h: np.ndarray) -> np.ndarray:
        return (f(a + h) - f(a - h)) / (2 * h)

    return (4 * central(h / 2) - central(h)) / 3


def test_gammainc_da_matches_richardson_differences_of_scipy() -> None:
    """d/da P agrees to 1e-8 with extrapolated differences of scipy's P (-Q in the upper
    tail)."""
    a, x = _gamma_grid()
    low = x < a
    want = np.where(
        low,
        _richardson(lambda s: sc.gammainc(s, x), a),
        -_richardson(lambda s: sc.gammaincc(s, x), a),
    )
    assert _rel(gammainc_da(a, x), want) < 1e-8


def test_betainc_dab_matches_richardson_differences_of_scipy() -> None:
    """d/da, d/db I agree to 1e-8 with extrapolated differences of scipy's betainc, for a, b
    in 0.3..50 (scipy's own accuracy limits the comparison beyond)."""
    a, b, x = _beta_grid()
    keep = (a >= 0.3) & (a <= 50) & (b >= 0.3) & (b <= 50)
    a, b, x = a[keep], b[keep], x[keep]
    low = x < a / (a + b)
    da = np.where(
        low,
        _richardson(lambda s: sc.betainc(s, b, x), a),
        -_richardson(lambda s: sc.betaincc(s, b, x), a),
    )
    db = np.where(
        low,
        _richardson(lambda t: sc.betainc(a, t, x), b),
        -_richardson(lambda t: sc.betaincc(a, t, x), b),
    )
    got = betainc_dab(a, b, x)
    assert _rel(got[0], da) < 1e-8
    assert _rel(got[1], db) < 1e-8


def test_betainc_dab_closed_forms() -> None:
    """I_x(a, 1) = x^a and I_x(1, b) = 1 - (1-x)^b: their derivatives to 1e-13."""
    a = np.array([0.01, 0.5, 3.0, 200.0])
    x = np.array([1e-4, 0.3, 0.7, 0.999])
    np.testing.assert_allclose(betainc_dab(a, 1.0, x)[0], x**a * np.log(x), rtol=1e-13)
    np.testing.assert_allclose(
        betainc_dab(1.0, a, x)[1], -((1 - x) ** a) * np.log1p(-x), rtol=1e-13
    )


def test_edges_and_invalid_arguments() -> None:
    """x = 0 (and x = 1, x = inf) give 0; a shape <= 0 or x outside the domain gives nan."""
    np.testing.assert_array_equal(
        gammainc_da([1.0, 2.0, -1.0, 1.0], [0.0, np.inf, 1.0, -1.0]), [0, 0, np.nan, np.nan]
    )
    da, db = betainc_dab([1.0, 1.0, 0.0, 1.0], 2.0, [0.0, 1.0, 0.5, 1.5])
    np.testing.assert_array_equal(da, [0, 0, np.nan, np.nan])
    np.testing.assert_array_equal(db, [0, 0, np.nan, np.nan])


# ---- the rules ----
@pytest.mark.parametrize(
    "f, x",
    [
        (lambda a: sc.gammainc(a, np.array([0.1, 2.0, 9.0])), np.array([0.3, 2.5, 6.0])),
        (lambda a: sc.gammaincc(a, np.array([0.1, 2.0, 9.0])), np.array([0.3, 2.5, 6.0])),
        (lambda a: sc.gammaincinv(a, np.array([0.1, 0.5, 0.9])), np.array([0.3, 2.5, 6.0])),
        (lambda a: sc.betainc(a, 2.0, np.array([0.1, 0.5, 0.9])), np.array([0.3, 2.5, 6.0])),
        (lambda b: sc.betainc(2.0, b, np.array([0.1, 0.5, 0.9])), np.array([0.3, 2.5, 6.0])),
        (lambda a: sc.betaincc(a, 0.7, np.array([0.1, 0.5, 0.9])), np.array([0.3, 2.5, 6.0])),
        (lambda b: sc.betaincinv(1.5, b, np.array([0.1, 0.5, 0.9])), np.array([0.3, 2.5, 6.0])),
    ],
    ids=[
        "gammainc",
        "gammaincc",
        "gammaincinv",
        "betainc_a",
        "betainc_b",
        "betaincc",
        "betaincinv",
    ],
)
def test_special_shape_gradients_match_differences(f, x) -> None:  # type: ignore[no-untyped-def]
    """scipy.special's incomplete gamma and beta functions differentiate in a shape."""
    assert rg.checkgrad(f, x) < 1e-6


def test_special_shape_gradient_in_x_and_a_at_once() -> None:
    """A tracked a and x of gammainc together: both gradients, as central differences."""
    assert (
        rg.checkgrad(lambda a, x: sc.gammainc(a, x), np.array([0.7, 3.0]), np.array([1.0, 2.0]))
        < 1e-6
    )


X_STATS = np.array([0.2, 1.1, 3.5])


@pytest.mark.parametrize(
    "f, shape",
    [
        (lambda a: ss.gamma.cdf(X_STATS, a), np.array([0.6, 1.5, 4.0])),
        (lambda a: ss.gamma.logsf(X_STATS, a, loc=0.1, scale=0.8), np.array([0.6, 1.5, 4.0])),
        (lambda a: ss.beta.cdf(X_STATS / 4, a, 2.5), np.array([0.6, 1.5, 4.0])),
        (lambda b: ss.beta.logcdf(X_STATS / 4, 1.7, b), np.array([0.6, 1.5, 4.0])),
        (lambda df: ss.chi2.sf(X_STATS, df), np.array([1.0, 2.5, 6.0])),
        (lambda df: ss.t.cdf(X_STATS - 1.5, df), np.array([0.8, 2.5, 30.0])),
        (lambda df: ss.t.logsf(X_STATS - 1.5, df, scale=2.0), np.array([0.8, 2.5, 30.0])),
    ],
    ids=["gamma.cdf", "gamma.logsf", "beta.cdf_a", "beta.logcdf_b", "chi2.sf", "t.cdf", "t.logsf"],
)
def test_stats_cdf_shape_gradients_match_differences(f, shape) -> None:  # type: ignore[no-untyped-def]
    """The cdf family of gamma, beta, chi2 and t differentiates in its shape parameters."""
    assert rg.checkgrad(f, shape) < 1e-6


@pytest.mark.parametrize(
    "f",
    [
        lambda a: sc.gammainc(a, np.float32(1.5)),
        lambda a: sc.betainc(a, a, np.float32(0.3)),
        lambda a: ss.gamma.cdf(np.float32(1.5), a),
        lambda a: ss.t.sf(np.float32(0.5), a),
    ],
    ids=["gammainc", "betainc", "gamma.cdf", "t.sf"],
)
def test_float32_shape_gives_float32_gradient(f) -> None:  # type: ignore[no-untyped-def]
    """float32 arguments give a float32 shape gradient, close to the float64 one."""
    a = np.array([0.8, 2.0], np.float32)
    g = rg.grad(lambda a: np.sum(f(a)))(a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, rg.grad(lambda a: np.sum(f(a)))(a.astype(np.float64)), rtol=1e-4)
