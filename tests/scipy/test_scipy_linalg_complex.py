"""rulegrad/scipy/linalg.py on complex matrices: gradients in autograd's convention (for a
real loss of z = x + iy, dL/dx - i dL/dy), checked along complex directions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import rulegrad as rg
from rulegrad import plugins

plugins.load()  # intercepts scipy.linalg's functions
RNG = np.random.default_rng(0)
A = 2 * np.eye(3) + 0.3 * (RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3)))
B = RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))

CASES = {
    "inv": (lambda a: sl.inv(a), (A,)),
    "det": (lambda a: sl.det(a), (A,)),
    "solve_triangular": (lambda a, b: sl.solve_triangular(np.triu(a), b), (A, B)),
    "solve_triangular_lower": (lambda a, b: sl.solve_triangular(a, b, lower=True), (A, B)),
    "expm": (lambda a: sl.expm(a), (A,)),
    "sqrtm": (lambda a: sl.sqrtm(a), (A,)),
    "logm": (lambda a: sl.logm(a), (A,)),
    "cholesky": (lambda a: sl.cholesky(a @ np.conj(a).T + np.eye(3), lower=True), (A,)),
    "cho_solve_lower": (lambda c, b: sl.cho_solve((np.tril(c), True), b), (A, B)),
    "lu_factor_lu_solve": (lambda a, b: sl.lu_solve(sl.lu_factor(a[[2, 0, 1]]), b), (A, B)),
    "lu_solve_T": (lambda a, b: sl.lu_solve(sl.lu_factor(a[[1, 2, 0]]), b, trans=1), (A, B)),
    "cho_factor_cho_solve": (
        lambda a, b: sl.cho_solve(sl.cho_factor(a @ np.conj(a).T + np.eye(3)), b),
        (A, B),
    ),
    "cho_factor_lower": (lambda a: sl.cho_factor(a @ np.conj(a).T + np.eye(3), True)[0], (A,)),
    "cho_solve_upper": (lambda c, b: sl.cho_solve((np.triu(c), False), b), (A, B)),
    "eigh_eigvals_only": (lambda a: sl.eigh(a, eigvals_only=True), (A @ np.conj(A).T,)),
    "eigh_eigvals_only_upper": (
        lambda a: sl.eigh(a, lower=False, eigvals_only=True),
        (A @ np.conj(A).T,),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_matrix_gradient_matches_central_differences(name: str) -> None:
    """Each function of complex matrices agrees with central differences along complex
    directions (first order; the matrix functions also to second)."""
    f, args = CASES[name]
    order = 1 if name in ("logm", "cholesky") else 2
    assert rg.checkgrad(f, *args, order=order) < 1e-5


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", ["sqrtm", "logm"])
def test_complex_matrix_function_keeps_the_imaginary_part(name: str, dtype: type) -> None:
    """sqrtm and logm of a tracked complex matrix are scipy's (complex64 kept), not those
    of its real part."""
    f = getattr(sl, name)
    a = rg.Param(A.astype(dtype))
    y = rg.value(rg.diff(lambda: f(a)))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, f(A), rtol=1e-5 if dtype == np.complex64 else 1e-12)


def test_complex_logarithm_of_a_real_matrix_as_a_complex_one() -> None:
    """A real matrix with a negative eigenvalue: logm refuses it as real and says to pass it
    as complex; as complex its logarithm differentiates."""
    a = np.array([[-2.0, 0.3], [0.1, 1.5]])
    with pytest.raises(rg.RuleError, match=r"astype\(complex\)"):
        rg.grad(lambda a: np.sum(np.abs(sl.logm(a))))(a)
    assert rg.checkgrad(lambda a: sl.logm(a.astype(complex)), a) < 1e-5


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_forward_mode_matches_central_differences(name: str) -> None:
    """rg.jvp of each function of complex matrices along complex tangents is J t as central
    differences give it."""
    f, args = CASES[name]
    rng = np.random.default_rng(7)
    ts = tuple(rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape) for x in args)
    _, jt = rg.jvp(f, args, ts)
    h = 1e-6
    plus = f(*(x + h * t for x, t in zip(args, ts)))
    minus = f(*(x - h * t for x, t in zip(args, ts)))
    np.testing.assert_allclose(jt, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-7)
