"""np.fft in forward mode: native forward rules, complex tangents, nesting with reverse mode."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.core import PRIMITIVES

NAMES = [
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftshift",
    "ifftshift",
]

rng = np.random.default_rng(16)
X = rng.standard_normal((3, 6))
Z = X + 1j * rng.standard_normal((3, 6))
TZ = rng.standard_normal((3, 6)) + 1j * rng.standard_normal((3, 6))
TX = rng.standard_normal((3, 6))


def _central(f, x, t, eps=1e-6):
    return (f(x + eps * t) - f(x - eps * t)) / (2 * eps)


@pytest.mark.parametrize("name", NAMES)
def test_every_fft_function_has_a_native_forward_rule(name: str) -> None:
    """Each np.fft method pushes tangents through its own forward rule, not a derived jvp."""
    methods = PRIMITIVES[getattr(np.fft, name)].methods
    assert methods and all(m.forward and m.forward[0] is not None for m in methods)


# (name, keyword arguments, primal, tangent): complex inputs take complex tangents; the
# real-input transforms (rfft*, ihfft) take real ones.
CASES = {
    "fft": ("fft", {"n": 8, "norm": "ortho"}, Z, TZ),
    "ifft_axis0": ("ifft", {"axis": 0, "norm": "forward"}, Z, TZ),
    "fft_real_input": ("fft", {"n": 4}, X, TX),
    "fft2": ("fft2", {"s": (4, 5)}, Z, TZ),
    "ifftn": ("ifftn", {"axes": (1, 0)}, Z, TZ),
    "rfft": ("rfft", {"n": 7}, X, TX),
    "irfft": ("irfft", {"n": 9, "norm": "ortho"}, Z, TZ),
    "irfft2": ("irfft2", {}, Z, TZ),
    "irfftn": ("irfftn", {"s": (2, 6), "axes": (0, 1)}, Z, TZ),
    "rfftn": ("rfftn", {"norm": "forward"}, X, TX),
    "hfft": ("hfft", {"n": 6}, Z, TZ),
    "ihfft": ("ihfft", {}, X, TX),
    "fftshift": ("fftshift", {"axes": 1}, Z, TZ),
    "ifftshift": ("ifftshift", {}, Z, TZ),
}


@pytest.mark.parametrize(("name", "kwargs", "x", "t"), CASES.values(), ids=list(CASES))
def test_jvp_matches_central_differences_along_complex_tangents(name, kwargs, x, t) -> None:
    """The output tangent is J t as central differences give it, complex tangent included."""
    f = getattr(np.fft, name)
    out, tout = rg.jvp(lambda a: f(a, **kwargs), (x,), (t,))
    np.testing.assert_allclose(out, f(x, **kwargs))
    assert tout.dtype == out.dtype and tout.shape == out.shape
    np.testing.assert_allclose(tout, _central(lambda a: f(a, **kwargs), x, t), atol=1e-8)


def test_float32_stays_float32() -> None:
    """A complex64 input's tangent through fft is complex64, a float32's through irfft float32."""
    z = Z.astype(np.complex64)
    assert rg.jvp(np.fft.fft, (z,), (TZ.astype(np.complex64),))[1].dtype == np.complex64
    assert rg.jvp(np.fft.irfft, (z,), (TZ.astype(np.complex64),))[1].dtype == np.float32


def test_forward_over_reverse_through_fft() -> None:
    """hvp of sum |fft(x)|^2 (= n |x|^2 by Parseval) is 2 n v: jvp of a grad through fft."""
    f = lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2)  # noqa: E731
    v = rng.standard_normal(6)
    np.testing.assert_allclose(rg.hvp(f, X[0], v), 12 * v, atol=1e-10)


def test_reverse_over_forward_through_rfft() -> None:
    """The grad of a jvp through rfft matches central differences of that jvp."""

    def g(x):
        return np.sum(np.abs(rg.jvp(np.fft.rfft, (x,), (x**2,))[1]) ** 2)

    rg.checkgrad(g, X[0], order=1)


def test_out_keeps_the_primal() -> None:
    """fft(x, out=buf) in a jvp: buf holds fft(x), and the tangent is a new array, not
    written over the output."""
    buf = np.zeros(6, complex)
    out, t = rg.jvp(lambda x: np.fft.fft(x, out=buf), (X[0],), (TX[0],))
    np.testing.assert_allclose(out, np.fft.fft(X[0]))
    np.testing.assert_allclose(buf, np.fft.fft(X[0]))
    np.testing.assert_allclose(t, np.fft.fft(TX[0]))
