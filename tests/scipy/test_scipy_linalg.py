"""rulegrad/scipy/linalg.py: scipy.linalg functions against central differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as la

import rulegrad as rg
from rulegrad import plugins

plugins.load()  # intercepts scipy.linalg's functions
ag = pytest.importorskip("autograd")
asl = pytest.importorskip("autograd.scipy.linalg")

rng = np.random.default_rng(5)
M = rng.uniform(-1.0, 1.0, (3, 3))
SPD = M @ M.T / 3 + np.eye(3)
WELL = 1.5 * np.eye(3) + M / 6  # eigenvalues near 3/2
B = rng.uniform(-1.0, 1.0, (3, 2))
TRI = np.tril(M) + 2 * np.eye(3)
SHUFFLED = WELL[[2, 0, 1]]  # LU pivots

CASES = {
    "inv": (lambda a: la.inv(a), (WELL,)),
    "det": (lambda a: la.det(a), (WELL,)),
    "cholesky_upper": (lambda a: la.cholesky(a), (SPD,)),
    "cholesky_lower": (lambda a: la.cholesky(a, lower=True), (SPD,)),
    "cho_solve": (lambda c, b: la.cho_solve((c, True), b), (la.cholesky(SPD, lower=True), B)),
    "cho_solve_upper_vec": (lambda c, b: la.cho_solve((c, False), b), (la.cholesky(SPD), B[:, 0])),
    "cho_factor_upper": (lambda a: la.cho_factor(a)[0], (SPD,)),
    "cho_factor_lower": (lambda a: la.cho_factor(a, lower=True)[0], (SPD,)),
    "cho_factor_cho_solve": (lambda a, b: la.cho_solve(la.cho_factor(a), b), (SPD, B)),
    "lu_factor": (lambda a: la.lu_factor(a)[0], (SHUFFLED,)),
    "lu_factor_lu_solve": (lambda a, b: la.lu_solve(la.lu_factor(a), b), (SHUFFLED, B)),
    "lu_solve_T_vec": (lambda a, b: la.lu_solve(la.lu_factor(a), b, trans=1), (SHUFFLED, B[:, 0])),
    "lu_solve_factors": (
        lambda lu, b: la.lu_solve((lu, la.lu_factor(SHUFFLED)[1]), b, 2),
        (la.lu_factor(SHUFFLED)[0], B),
    ),
    "solve_triangular": (lambda a, b: la.solve_triangular(a, b, lower=True), (TRI, B)),
    "solve_triangular_T": (lambda a, b: la.solve_triangular(a.T, b, trans="T"), (TRI.T, B)),
    "solve_triangular_unit": (
        lambda a, b: la.solve_triangular(a, b, lower=True, unit_diagonal=True),
        (TRI, B[:, 1]),
    ),
    "solve_banded": (
        lambda ab, b: la.solve_banded((1, 1), ab, b),
        (np.array([[0.0, 0.3, -0.2], [2.0, 2.5, 3.0], [0.4, -0.1, 0.0]]), B),
    ),
    "solve_sylvester": (lambda a, b, q: la.solve_sylvester(a, b, q), (WELL, WELL.T + 0.5, M)),
    "eigvalsh": (lambda a: la.eigh(a, eigvals_only=True), (SPD,)),
    "eigh_vectors_squared": (lambda a: la.eigh(a, lower=False)[1] ** 2, (SPD,)),
    "expm": (lambda a: la.expm(a), (M,)),
    "logm": (lambda a: la.logm(a), (WELL,)),
    "sqrtm": (lambda a: la.sqrtm(a), (WELL,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_central_differences(name: str) -> None:
    """Every argument's gradient agrees with central differences, first and second order."""
    f, args = CASES[name]
    assert rg.checkgrad(f, *args, order=2) < 1e-4


@pytest.mark.parametrize(
    "name",
    [
        "inv",
        "expm",
        "solve_triangular",
        "cholesky_lower",
        "cho_factor_cho_solve",
        "lu_factor_lu_solve",
    ],
)
def test_float32_in_float32_out(name: str) -> None:
    """float32 arguments give a float32 result and float32 gradients."""
    f, args = CASES[name]
    args32 = [a.astype(np.float32) for a in args]
    gs = rg.grad(lambda *xs: np.sum(f(*xs)), argnums=tuple(range(len(args32))))(*args32)
    assert all(g.dtype == np.float32 for g in gs)


# autograd has no rules for scipy.linalg.expm, inv, det, cholesky, cho_solve, logm, eigh
AUTOGRAD = {
    "solve_triangular": (lambda L, a, b: L.solve_triangular(a, b, lower=True), (TRI, B)),
    "solve_sylvester": (lambda L, a, b, q: L.solve_sylvester(a, b, q), (WELL, WELL.T + 0.5, M)),
    "sqrtm": (lambda L, a: L.sqrtm(a), (WELL,)),
}


@pytest.mark.parametrize("name", sorted(AUTOGRAD))
def test_matches_autograd(name: str) -> None:
    """Where HIPS autograd differentiates the function, both give the same gradients."""
    f, args = AUTOGRAD[name]
    n = tuple(range(len(args)))
    ours = rg.grad(lambda *xs: np.sum(np.sin(f(la, *xs))), argnums=n)(*args)
    theirs = ag.grad(lambda *xs: ag.numpy.sum(ag.numpy.sin(f(asl, *xs))), argnum=n)(*args)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-6, atol=1e-10)


def test_one_triangle_gets_the_gradient() -> None:
    """cholesky(lower=False) reads the upper triangle: the lower one gets no gradient."""
    g = rg.grad(lambda a: np.sum(la.cholesky(a)))(SPD)
    assert np.all(np.tril(g, -1) == 0) and np.any(np.triu(g, 1) != 0)


def test_eigh_generalized_b_has_no_derivative() -> None:
    """A tracked b of eigh is a RuleError naming it."""
    with pytest.raises(rg.RuleError, match="eigh: no derivative w.r.t. b"):
        rg.grad(lambda b: np.sum(la.eigh(SPD, b, eigvals_only=True)))(SPD + np.eye(3))


def test_complex_logm_is_refused() -> None:
    """logm of a matrix with a negative eigenvalue (a complex logarithm) raises."""
    with pytest.raises(rg.RuleError, match="complex"):
        rg.grad(lambda a: np.sum(la.logm(a)))(np.diag([1.0, -2.0]))


@pytest.mark.parametrize("name", ["solve_triangular", "cho_solve"])
def test_a_plain_list_beside_a_tracked_matrix(name: str) -> None:
    """A right-hand side given as a list, as the array (float_dtype read a list as a dtype
    spec: TypeError "Field elements must be 2- or 3-tuples")."""
    f = {
        "solve_triangular": lambda a, b: la.solve_triangular(a, b, lower=True),
        "cho_solve": lambda a, b: la.cho_solve((a, True), b),
    }[name]
    b = [1.0, -2.0, 0.5]
    g = rg.grad(lambda a: np.sum(f(a, b)))(TRI)
    np.testing.assert_allclose(g, rg.grad(lambda a: np.sum(f(a, np.array(b))))(TRI))
    t = rg.jvp(lambda a: f(a, b), (TRI,), (M,))[1]
    np.testing.assert_allclose(t, rg.jvp(lambda a: f(a, np.array(b)), (TRI,), (M,))[1])


@pytest.mark.parametrize("lower", [True, False])
def test_cho_solve_ignores_the_factors_other_triangle(lower: bool) -> None:
    """scipy reads one triangle of c (cho_factor leaves the other as it was): neither the
    gradient nor the tangent may depend on the other (they multiplied by the whole c)."""
    c = la.cholesky(SPD, lower=lower)
    junk = c + (np.triu(M, 1) if lower else np.tril(M, -1))
    f = lambda c: np.sum(la.cho_solve((c, lower), B) ** 2)  # noqa: E731
    np.testing.assert_allclose(rg.grad(f)(junk), rg.grad(f)(c))
    np.testing.assert_allclose(rg.jvp(f, (junk,), (M,))[1], rg.jvp(f, (c,), (M,))[1])


def test_hessian_at_a_fortran_ordered_factor() -> None:
    """rg.hessian (forward-mode jacobian of the gradient) at la.cholesky's factor, which is
    Fortran-ordered (up to scipy 1.17; made so here for later ones): the unit tangents
    were written into a copy, and the Hessian was 0."""
    c = np.asfortranarray(la.cholesky(SPD))
    assert not c.flags.c_contiguous
    f = lambda c: np.sum(la.solve_triangular(c, B) ** 2)  # noqa: E731
    np.testing.assert_allclose(rg.hessian(f)(c), rg.hessian(f)(np.ascontiguousarray(c)))
    assert np.abs(rg.hessian(f)(c)).max() > 1.0


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_gives_scipys_values(lower: bool) -> None:
    """A tracked cho_factor returns scipy's (c, lower) bit for bit: the factor on the
    triangle asked for, and on the other what scipy leaves there (K's own entries, as
    LAPACK leaves them, up to scipy 1.17; zeros from 1.18)."""
    c, low = la.cho_factor(SPD, lower=lower)
    (got, got_low), _ = rg.vjp(lambda k: la.cho_factor(k, lower=lower), SPD)
    np.testing.assert_array_equal(got, c)
    assert got_low == low == lower
    factor = np.tril(got) if lower else np.triu(got)
    np.testing.assert_allclose(factor, la.cholesky(SPD, lower=lower), rtol=1e-14)
    other = np.triu(got, 1) if lower else np.tril(got, -1)
    kept = np.triu(SPD, 1) if lower else np.tril(SPD, -1)
    assert np.array_equal(other, kept) or not other.any()


def _gp_nll(p: np.ndarray, lower: bool = False) -> object:
    """A Gaussian process's negative log marginal likelihood, written as GP code is:
    cho_factor once, cho_solve and the factor's diagonal."""
    d = np.linspace(0.0, 2.0, 5)
    y = np.sin(3 * d)
    k = np.exp(-((d[:, None] - d[None, :]) ** 2) / (2 * np.exp(p[0]) ** 2))
    k = k * np.exp(p[1]) + 0.1 * np.eye(5)
    factor = la.cho_factor(k, lower=lower)
    return 0.5 * y @ la.cho_solve(factor, y) + np.sum(np.log(np.diagonal(factor[0])))


@pytest.mark.parametrize("lower", [False, True])
def test_gaussian_process_through_cho_factor_and_cho_solve(lower: bool) -> None:
    """``la.cho_solve(la.cho_factor(K), y)`` with K tracked: the gradient (reverse), a jvp
    (forward) and rg.hessian (forward over reverse) match central differences."""
    p, v, h = np.array([-0.3, 0.2]), np.array([0.7, -0.4]), 1e-5
    f = lambda p: _gp_nll(p, lower)  # noqa: E731
    assert rg.checkgrad(f, p, order=2) < 1e-6
    num = (f(p + h * v) - f(p - h * v)) / (2 * h)
    np.testing.assert_allclose(rg.jvp(f, (p,), (v,))[1], num, rtol=1e-7)
    g = rg.grad(f)
    hess = np.stack([(g(p + h * e) - g(p - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(rg.hessian(f)(p), hess, rtol=1e-6, atol=1e-8)


def test_lu_factor_gives_scipys_values_and_pivots() -> None:
    """A tracked lu_factor returns scipy's (lu, piv) bit for bit, pivoting included; its
    Hessian through lu_solve (forward over reverse) matches differences of the gradient."""
    lu, piv = la.lu_factor(SHUFFLED)
    assert not np.array_equal(piv, np.arange(3))
    (got, got_piv), _ = rg.vjp(la.lu_factor, SHUFFLED)
    np.testing.assert_array_equal(got, lu)
    np.testing.assert_array_equal(got_piv, piv)
    f = lambda a: np.sum(la.lu_solve(la.lu_factor(a), B[:, 0]) ** 2)  # noqa: E731
    g, h, e = rg.grad(f), 1e-5, np.eye(9).reshape(9, 3, 3)
    num = np.stack([(g(SHUFFLED + h * d) - g(SHUFFLED - h * d)) / (2 * h) for d in e])
    hess = rg.hessian(f)(SHUFFLED).reshape(9, 9)
    np.testing.assert_allclose(hess, num.reshape(9, 9).T, rtol=1e-6, atol=1e-8)


def test_lu_solve_conjugate_transpose_of_a_complex_factor_is_refused() -> None:
    """trans=2 (A^H x = b) of a complex factor is a RuleError naming what works."""
    z = SHUFFLED + 0.5j * M
    with pytest.raises(rg.RuleError, match="trans=2 is not differentiable"):
        rg.grad(lambda a: np.real(np.sum(la.lu_solve(la.lu_factor(a), B, trans=2))))(z)
