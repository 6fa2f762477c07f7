"""Complex inputs: abs, real, imag, conj, angle and holomorphic functions, autograd's convention."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import check_complex

import rulegrad as rg

rng = np.random.default_rng(2)
Z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
W = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))

COMPLEX = {
    "abs": np.abs,
    "real": np.real,
    "imag": np.imag,
    "conj": np.conj,
    "conj_method": lambda z: z.conj() * z,
    "angle": np.angle,
    "angle_deg": lambda z: np.angle(z, deg=True),
    "real_attribute": lambda z: z.real * z.imag,
    "exp": np.exp,
    "sin": np.sin,
    "log": np.log,
    "sqrt": np.sqrt,
    "square": np.square,
    "tanh": np.tanh,
    "multiply": lambda z: z * (2 - 1j) * z,
    "divide": lambda z: 1 / z,
    "matmul": lambda z: z @ W,
    "sum": lambda z: np.sum(z, axis=0),
    "var": lambda z: np.var(z, axis=1),
    "abs_squared": lambda z: np.abs(z) ** 2,
}


@pytest.mark.parametrize("f", COMPLEX.values(), ids=COMPLEX.keys())
def test_complex_gradient(f) -> None:
    """Along complex directions v, dL = Re(sum(g * v)) with g = dL/dx - i dL/dy."""
    check_complex(f, Z)


def test_convention_on_abs_squared() -> None:
    """For L = |z|^2 the gradient is 2 conj(z) = dL/dx - i dL/dy."""
    g = rg.grad(lambda z: np.sum(np.abs(z) ** 2))(Z)
    np.testing.assert_allclose(g, 2 * np.conj(Z))


def test_real_input_parts() -> None:
    """Real inputs: real() passes the gradient, imag() and angle() give zeros."""
    x = rng.standard_normal(3)
    assert rg.grad(lambda x: np.sum(np.real(x)))(x).tolist() == [1.0, 1.0, 1.0]
    assert rg.grad(lambda x: np.sum(np.imag(x) + x))(x).tolist() == [1.0, 1.0, 1.0]
    assert rg.grad(lambda x: np.sum(np.angle(x) + x))(x).tolist() == [1.0, 1.0, 1.0]


def test_complex64_keeps_its_dtype() -> None:
    """complex64 in, complex64 gradient out."""
    g = rg.grad(lambda z: np.sum(np.abs(z) + np.real(z * z) + np.angle(z)))(Z.astype(np.complex64))
    assert g.dtype == np.complex64
