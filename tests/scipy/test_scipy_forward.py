"""rulegrad's scipy plugin in forward mode: native forward rules, checked against central
differences along full tangents (one triangle read), and nested with reverse mode."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as la
import scipy.signal as sg
import scipy.special as sc
import scipy.stats as ss

import rulegrad as rg
from rulegrad import plugins
from rulegrad.scipy import linalg, signal, special, stats

plugins.load()  # intercepts scipy's functions

rng = np.random.default_rng(15)
M = rng.uniform(-1.0, 1.0, (3, 3))
SPD = M @ M.T / 3 + np.eye(3)
WELL = 1.5 * np.eye(3) + M / 6
TRI = np.tril(M) + 2 * np.eye(3)
B = rng.uniform(-1.0, 1.0, (3, 2))
T = rng.uniform(-1.0, 1.0, (3, 3))  # a full tangent: both triangles
TB = rng.uniform(-1.0, 1.0, (3, 2))

NATIVE = {
    **{f"special.{n}": getattr(special, n) for n in ("gamma", "erf", "xlogy", "jv", "polygamma")},
    **{f"special.{n}": getattr(special, n) for n in ("logsumexp", "softmax", "log_softmax")},
    **{
        f"stats.{n}": stats.PRIMITIVES[n]
        for n in ("norm.logpdf", "t.cdf", "beta.logsf", "poisson.pmf", "dirichlet.logpdf")
    },
    **{
        f"linalg.{n}": getattr(linalg, n)
        for n in linalg.__all__
        if n not in ("cho_factor", "cho_solve", "lu_solve")
    },
    "linalg.cho_solve": linalg.cho_solve_unpacked,
    "linalg.cho_factor": linalg.cho_factor_c,
    "linalg.lu_solve": linalg.lu_solve_unpacked,
    **{f"signal.{n}": getattr(signal, n) for n in signal.__all__},
}


@pytest.mark.parametrize("prim", NATIVE.values(), ids=list(NATIVE))
def test_scipy_families_have_native_forward_rules(prim) -> None:
    """These methods push tangents through forward rules of their own, not derived jvps."""
    assert prim.methods and all(any(r is not None for r in m.forward) for m in prim.methods)


def _central(f, xs, ts, eps=1e-6):
    plus = f(*(x + eps * t for x, t in zip(xs, ts)))
    minus = f(*(x - eps * t for x, t in zip(xs, ts)))
    if isinstance(plus, tuple):
        return tuple((p - m) / (2 * eps) for p, m in zip(plus, minus))
    return (plus - minus) / (2 * eps)


def _check(f, xs, ts, atol=1e-7):
    out, tout = rg.jvp(f, xs, ts)
    num = _central(f, xs, ts)
    for a, b, o in zip(*(v if isinstance(v, tuple) else (v,) for v in (tout, num, out))):
        assert np.shape(a) == np.shape(o) and np.result_type(a) == np.result_type(o)
        np.testing.assert_allclose(a, b, atol=atol)


CASES = {
    "cholesky_lower": (lambda a: la.cholesky(a, lower=True), (SPD,), (T,)),
    "cholesky_upper": (lambda a: la.cholesky(a), (SPD,), (T,)),
    "cho_factor_upper": (lambda a: la.cho_factor(a)[0], (SPD,), (T,)),
    "lu_factor": (lambda a: la.lu_factor(a)[0], (WELL[[1, 2, 0]],), (T,)),
    "lu_factor_lu_solve_T": (
        lambda a, b: la.lu_solve(la.lu_factor(a), b, trans=1),
        (WELL[[1, 2, 0]], B),
        (T, TB),
    ),
    "cho_factor_cho_solve": (
        lambda a, b: la.cho_solve(la.cho_factor(a, True), b),
        (SPD, B),
        (T, TB),
    ),
    "cho_solve_lower": (
        lambda c, b: la.cho_solve((c, True), b),
        (la.cholesky(SPD, lower=True), B),
        (T, TB),
    ),
    "cho_solve_upper_vector": (
        lambda c, b: la.cho_solve((c, False), b),
        (la.cholesky(SPD), B[:, 0]),
        (T, TB[:, 0]),
    ),
    "solve_triangular": (lambda a, b: la.solve_triangular(a, b, lower=True), (TRI, B), (T, TB)),
    "solve_triangular_T_unit": (
        lambda a, b: la.solve_triangular(a, b, trans="T", unit_diagonal=True),
        (TRI.T, B[:, 1]),
        (T, TB[:, 1]),
    ),
    "solve_banded": (
        lambda ab, b: la.solve_banded((1, 1), ab, b),
        (np.array([[0.0, 0.3, -0.2], [2.0, 2.5, 3.0], [0.4, -0.1, 0.0]]), B),
        (T, TB),
    ),
    "solve_sylvester": (
        lambda a, b, q: la.solve_sylvester(a, b, q),
        (WELL, WELL.T + 0.5, M),
        (T, T.T, M * M),
    ),
    "inv": (lambda a: la.inv(a), (WELL,), (T,)),
    "det": (lambda a: la.det(a), (WELL,), (T,)),
    "expm": (lambda a: la.expm(a), (M,), (T,)),
    "sqrtm": (lambda a: la.sqrtm(a), (WELL,), (T,)),
    "logm": (lambda a: la.logm(a), (WELL,), (T,)),
    # the primitive itself: its forward is np.linalg.eigh, whose eigenvector signs are
    # those the rule differentiates (scipy's driver may pick others)
    "eigh_upper": (lambda a: linalg.eigh(a, lower=False), (SPD,), (T,)),
    "eigh_values": (lambda a: linalg.eigh(a, eigvals_only=True), (SPD,), (T,)),
    "convolve_same": (lambda a, b: sg.convolve(a, b, "same"), (M, B), (T, TB)),
    "correlate_valid_2d": (lambda a, b: sg.correlate(a, b, "valid"), (M, B), (T, TB)),
    "correlate_full_1d": (lambda a, b: sg.correlate(a, b), (M[0], B[:, 0]), (T[0], TB[:, 0])),
    "fftconvolve_same_axes": (lambda a, b: sg.fftconvolve(a, b, "same", axes=1), (M, B), (T, TB)),
    "oaconvolve_valid": (lambda a, b: sg.oaconvolve(a, b, "valid"), (M, B), (T, TB)),
    "convolve2d_same": (lambda a, b: sg.convolve2d(a, b, "same"), (M, B), (T, TB)),
    "correlate2d_valid_swapped": (
        lambda a, b: sg.correlate2d(a, b, "valid"),
        (B.T + 1j, M - 1j),
        (TB.T, T + 1j),
    ),
    "logsumexp_b_keepdims": (
        lambda a, b: sc.logsumexp(a, axis=0, b=b, keepdims=True),
        (M, SPD),
        (T, M),
    ),
    "logsumexp_all": (lambda a: sc.logsumexp(a), (M,), (T,)),
    "softmax": (lambda x: sc.softmax(x, axis=1), (M,), (T,)),
    "log_softmax": (lambda x: sc.log_softmax(x, axis=0), (M,), (T,)),
    "dirichlet_pdf": (
        lambda x, a: ss.dirichlet.pdf(x, a),
        (np.array([[0.2, 0.5], [0.3, 0.3], [0.5, 0.2]]), np.array([1.5, 2.0, 3.0])),
        (TB - TB.mean(0), np.array([0.3, -0.2, 0.5])),
    ),
    "t_logpdf": (
        lambda x, df, s: ss.t.logpdf(x, df, scale=s),
        (M[0], np.array([2.0, 3.0, 4.5]), 1.5),
        (T[0], T[1], 0.3),
    ),
}


@pytest.mark.parametrize(("f", "xs", "ts"), CASES.values(), ids=list(CASES))
def test_jvp_matches_central_differences(f, xs, ts) -> None:
    """Each forward rule gives J t as central differences do, with full tangents (the
    triangle a function does not read contributes nothing), shapes and dtypes kept."""
    _check(f, xs, ts)


def test_forward_over_reverse_through_cholesky_and_cho_solve() -> None:
    """A Gaussian-process marginal likelihood's Hessian-vector product (jvp of its gradient,
    through cholesky's and cho_solve's forward rules) matches differences of the gradient."""
    d = np.linspace(0.0, 2.0, 4)
    y = np.sin(3 * d)

    def nll(p):
        k = np.exp(-((d[:, None] - d[None, :]) ** 2) / (2 * np.exp(p[0]) ** 2))
        k = k * np.exp(p[1]) + 0.1 * np.eye(4)
        c = la.cholesky(k, lower=True)
        return 0.5 * y @ la.cho_solve((c, True), y) + np.sum(np.log(np.diagonal(c)))

    p, v = np.array([-0.3, 0.2]), np.array([0.7, -0.4])
    g = rg.grad(nll)
    num = (g(p + 1e-5 * v) - g(p - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(rg.hvp(nll, p, v), num, rtol=1e-6, atol=1e-8)


def test_reverse_over_forward_through_expm_and_logsumexp() -> None:
    """The gradient of a jvp through expm and logsumexp matches central differences."""

    def f(a):
        return rg.jvp(lambda b: sc.logsumexp(la.expm(b)), (a,), (T,))[1]

    rg.checkgrad(f, M / 2, order=1)


def test_float32_stays_float32() -> None:
    """A float32 input's tangent through the forward rules is float32."""
    x, t = M.astype(np.float32), T.astype(np.float32)
    assert rg.jvp(lambda x: ss.norm.logpdf(x, 0.5, 2.0), (x,), (t,))[1].dtype == np.float32
    assert rg.jvp(lambda x: sc.softmax(x, axis=0), (x,), (t,))[1].dtype == np.float32
    assert rg.jvp(lambda x: sg.convolve(x, x), (x,), (t,))[1].dtype == np.float32


def test_eigh_with_a_tracked_b_raises() -> None:
    """eigh's second matrix has no derivative here, in forward mode as in reverse mode."""
    with pytest.raises(rg.RuleError, match="generalized"):
        rg.jvp(lambda b: la.eigh(SPD, b), (SPD,), (T,))
