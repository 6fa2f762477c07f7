"""Helpers for the rule tests: case tables, float32 gradients, checks along complex directions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import rulegrad as rg

Case = tuple  # (function, *arguments)


def cases(table: dict[str, Case]) -> list[Any]:
    """pytest parameters ``(f, args)`` for a table ``{id: (f, *args)}``, with readable ids."""
    return [pytest.param(f, tuple(args), id=name) for name, (f, *args) in table.items()]


ORDERS = pytest.mark.parametrize("order", [1, 2], ids=["first", "second"])


def family_tests(
    table: dict[str, Case], rtol: float = 2e-3, float32: dict[str, Case] | None = None
) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two tests every rule family runs over its case table, for a test module to bind:
    numeric checks at first and second order in float64, and float32 in, float32 out
    (over ``float32``, a subset of the table, when given)."""

    @ORDERS
    @pytest.mark.parametrize(("f", "args"), cases(table))
    def test_gradient(f: Callable[..., Any], args: tuple, order: int) -> None:
        """Every rule matches central differences, first and second order, in float64."""
        rg.checkgrad(f, *args, order=order)

    @pytest.mark.parametrize(("f", "args"), cases(table if float32 is None else float32))
    def test_float32(f: Callable[..., Any], args: tuple) -> None:
        """float32 in, float32 gradient out."""
        check_float32(f, *args, rtol=rtol)

    return test_gradient, test_float32


def grads(f: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """rulegrad's gradient of ``sum(f(*args))`` with respect to every argument."""
    return rg.grad(lambda *xs: np.sum(f(*xs)), argnums=tuple(range(len(args))))(*args)


def check_float32(f: Callable[..., Any], *args: Any, rtol: float = 2e-3) -> None:
    """float32 arguments get float32 gradients, close to the float64 ones."""
    wide = grads(f, *(np.asarray(a, np.float64) for a in args))
    narrow = grads(f, *(np.asarray(a, np.float32) for a in args))
    for g32, g64 in zip(narrow, wide):
        assert np.asarray(g32).dtype == np.float32, f"gradient upcast to {np.asarray(g32).dtype}"
        np.testing.assert_allclose(g32, g64, rtol=rtol, atol=rtol)


def check_complex(
    f: Callable[..., Any], z: np.ndarray, eps: float = 1e-6, tol: float = 1e-6
) -> None:
    """The gradient of a real loss of complex ``z`` follows autograd's convention: along any
    complex direction ``v``, ``dL = Re(sum(g * v))``, with ``g = dL/dx - i dL/dy``."""
    rng = np.random.default_rng(1)
    u1, u2 = rng.standard_normal(np.shape(f(z))), rng.standard_normal(np.shape(f(z)))

    def loss(w: Any) -> Any:
        out = f(w)
        return np.sum(np.real(out) * u1 + np.imag(out) * u2)

    g = rg.grad(loss)(z)
    for _ in range(3):
        v = rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)
        numeric = (loss(z + eps * v) - loss(z - eps * v)) / (2 * eps)
        assert abs(np.real(np.sum(g * v)) - numeric) <= tol * (1 + abs(numeric))
