"""Differential test of the functions issue 16 added (eig, multi_dot, einsum's sublist form
and optimize=, np.gradient, np.select, np.real_if_close, complex np.std): rulegrad's
gradients equal HIPS autograd's, in float64 and float32 (the dtype kept), real and complex.

The pattern of tests/rules/test_against_autograd.py: each case is written once against a
numpy module ``m`` and run with ``m = numpy`` under rulegrad, ``m = autograd.numpy`` under
autograd. autograd has no rule for eigvals, qr, lstsq, matrix_power, tensorinv,
tensorsolve or piecewise: those are checked numerically in test_linalg.py and
test_numpy_leftovers.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

rng = np.random.default_rng(16)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
C = rng.standard_normal((4, 2))
V = rng.standard_normal(4)
T = rng.standard_normal((2, 3, 4))
Z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
G = rng.standard_normal((5, 6))  # (autograd's np.gradient needs 5 points along an axis)
_q = np.eye(3) + 0.3 * rng.standard_normal((3, 3))
EIG = _q @ np.array([[1.0, 0, 0], [0, 2.5, 1.5], [0, -1.5, 2.5]]) @ np.linalg.inv(_q)
EIGR = _q @ np.diag([1.0, 2.0, 3.0]) @ np.linalg.inv(_q)
ZS = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)

CASES = {
    "eig_values": (lambda m, a: m.abs(m.linalg.eig(a)[0]), EIG),  # 1, 2.5 +- 1.5i
    # autograd's eig rule holds for phase-free uses of complex eigenvectors (|v|^2); real
    # eigenvectors (real eigenvalues) have numpy's sign, and their raw entries agree
    "eig_vectors": (lambda m, a: m.abs(m.linalg.eig(a)[1]) ** 2 * m.real(m.linalg.eig(a)[0]), EIG),
    "eig_real": (lambda m, a: m.real(m.linalg.eig(a)[1] * m.linalg.eig(a)[0]), EIGR),
    "multi_dot": (lambda m, x, c, v: m.linalg.multi_dot([x, c, c.T, x.T, v]), A, C, V[:3]),
    "einsum_sublist": (lambda m, t, c: m.einsum(t, [0, 1, 2], c, [2, 3], [0, 3, 1]), T, C),
    "einsum_optimize": (lambda m, x, c: m.einsum("ij,jk,k->i", x, c, V[:2], optimize=True), A, C),
    "gradient": (lambda m, g: m.gradient(g, axis=0) * m.gradient(g, axis=1), G),
    "gradient_both_axes": (lambda m, g: m.gradient(g)[1], G),
    "select": (lambda m, x, y: m.select([A > 0.5, A < -0.5], [x, y * x]), A, B),
    "real_if_close": (lambda m, x: m.real_if_close(x * (1 + 0j)) ** 3, A),
    "complex_eig": (lambda m, z: m.abs(m.linalg.eig(z)[1]) ** 2 * m.linalg.eig(z)[0], ZS),
    "complex_std": (lambda m, z: m.std(z, axis=1), Z),
}


def _weights(out: np.ndarray) -> np.ndarray:
    return np.random.default_rng(8).standard_normal(np.shape(out))


def _narrow(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.complex64 if np.iscomplexobj(a) else np.float32)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", CASES)
def test_same_gradient_as_autograd(name: str, dtype: str) -> None:
    """rulegrad's gradient equals autograd's (float64) argument by argument; float32 and
    complex64 inputs keep their dtype and agree to float32's precision."""
    f, *args = CASES[name]
    xs = args if dtype == "float64" else [_narrow(a) for a in args]
    u = _weights(f(np, *args))
    uu = u if dtype == "float64" else u.astype(np.float32)
    ours = rg.grad(lambda *ys: np.sum(np.real(f(np, *ys) * uu)), argnums=tuple(range(len(xs))))(*xs)
    rtol = 1e-6 if dtype == "float64" else 2e-3
    for i, (g, x) in enumerate(zip(ours, xs)):
        assert g.dtype == x.dtype, f"argument {i}: {x.dtype} in, {g.dtype} gradient out"
        wide = [np.asarray(a, np.result_type(a, np.float64)) for a in xs]
        theirs = autograd.grad(lambda *ys: anp.sum(anp.real(f(anp, *ys) * u)), argnum=i)(*wide)
        np.testing.assert_allclose(g, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())
