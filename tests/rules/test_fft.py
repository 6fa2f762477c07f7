"""np.fft: gradients against HIPS autograd and central differences, dtypes, second order."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import check_complex

import rulegrad as rg

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # the numeric tests below still run
    autograd = anp = None
needs_autograd = pytest.mark.skipif(autograd is None, reason="HIPS autograd is not installed")

rng = np.random.default_rng(16)
X = rng.standard_normal((4, 6))
Z = X + 1j * rng.standard_normal((4, 6))
X3 = rng.standard_normal((2, 4, 6))
Z3 = X3 + 1j * rng.standard_normal((2, 4, 6))

# (function name, keyword arguments, inputs): every case autograd differentiates correctly.
# autograd's real transforms need an even last length, scale wrongly for an explicit
# norm="backward" or "forward" (it divides by n only for norm=None), and its rfft rule
# ignores n given by keyword (it reads n only positionally), so those cases are below.
AUTOGRAD = {
    "fft": ("fft", {}, (X, Z)),
    "fft_n_pad": ("fft", {"n": 9, "axis": 0}, (X, Z)),
    "fft_n_cut_ortho": ("fft", {"n": 3, "norm": "ortho"}, (X, Z)),
    "fft_forward": ("fft", {"norm": "forward", "axis": -2}, (X, Z)),
    "fft_backward": ("fft", {"norm": "backward"}, (X, Z)),
    "ifft": ("ifft", {}, (X, Z)),
    "ifft_n_ortho": ("ifft", {"n": 8, "norm": "ortho"}, (X, Z)),
    "ifft_forward": ("ifft", {"norm": "forward", "n": 5, "axis": 0}, (X, Z)),
    "fft2": ("fft2", {}, (X, Z, X3, Z3)),
    "fft2_s_axes": ("fft2", {"s": (3, 8), "axes": (0, 2), "norm": "ortho"}, (X3, Z3)),
    "ifft2": ("ifft2", {"s": (5, 4)}, (X, Z)),
    "fftn": ("fftn", {}, (X3, Z3)),
    "fftn_axes": ("fftn", {"axes": (2, 0), "s": (4, 3), "norm": "forward"}, (X3, Z3)),
    "ifftn": ("ifftn", {"axes": (1,), "norm": "ortho"}, (X3, Z3)),
    "ifftn_s": ("ifftn", {"s": (1, 5, 7), "axes": (0, 1, 2)}, (X3, Z3)),
    "rfft": ("rfft", {}, (X,)),
    "irfft": ("irfft", {}, (X, Z)),
    "irfft_n_ortho": ("irfft", {"n": 8, "norm": "ortho"}, (X, Z)),
    "irfft_n_cut": ("irfft", {"n": 4, "axis": 0}, (X, Z)),
    "rfft2": ("rfft2", {}, (X, X3)),
    "rfft2_s": ("rfft2", {"s": (3, 4), "norm": "ortho"}, (X,)),
    "irfft2": ("irfft2", {}, (X, Z)),
    "irfft2_s_axes": ("irfft2", {"s": (3, 6), "axes": (2, 0)}, (X3, Z3)),
    "rfftn": ("rfftn", {}, (X3,)),
    "rfftn_axes": ("rfftn", {"axes": (0, 2), "s": (3, 8), "norm": "ortho"}, (X3,)),
    "irfftn": ("irfftn", {"axes": (1, 2)}, (X3, Z3)),
    "irfftn_s": ("irfftn", {"s": (2, 3, 4), "axes": (0, 1, 2), "norm": "ortho"}, (X3, Z3)),
    "fftshift": ("fftshift", {}, (X, Z)),
    "fftshift_axes": ("fftshift", {"axes": (0,)}, (X3, Z3)),
    "ifftshift": ("ifftshift", {"axes": 1}, (X, Z)),
}

# What autograd does not differentiate (hfft, ihfft, odd lengths, repeated axes) or
# scales wrongly (explicit norms of the real transforms): central differences only.
NUMERIC = {
    "rfft_odd": ("rfft", {"n": 7}, (X,)),
    "rfft_odd_input": ("rfft", {"axis": 0, "norm": "forward"}, (X3[:, :3],)),
    "rfft_backward": ("rfft", {"norm": "backward"}, (X,)),
    "rfft_n_pad": ("rfft", {"n": 10, "axis": 0}, (X,)),
    "rfft_n_cut_ortho": ("rfft", {"n": 4, "norm": "ortho"}, (X,)),
    "irfft_odd": ("irfft", {"n": 9, "norm": "forward"}, (X, Z)),
    "irfft_n_pad": ("irfft", {"n": 15, "norm": "backward"}, (X, Z)),
    "hfft": ("hfft", {}, (X, Z)),
    "hfft_odd_ortho": ("hfft", {"n": 7, "norm": "ortho", "axis": 0}, (X, Z)),
    "hfft_forward": ("hfft", {"n": 4, "norm": "forward"}, (X, Z)),
    "ihfft": ("ihfft", {}, (X,)),
    "ihfft_odd": ("ihfft", {"n": 5, "norm": "forward", "axis": 0}, (X,)),
    "ihfft_ortho": ("ihfft", {"n": 10, "norm": "ortho"}, (X,)),
    "fftn_repeated_axis": ("fftn", {"axes": (1, 1), "s": (5, 3)}, (X, Z)),
    "rfftn_repeated_axis": ("rfftn", {"axes": (1, 0, 1), "norm": "forward"}, (X,)),
    "rfftn_odd": ("rfftn", {"axes": (0, 1), "s": (3, 5), "norm": "backward"}, (X,)),
    "irfftn_odd": ("irfftn", {"s": (3, 5), "axes": (1, 0), "norm": "forward"}, (X, Z)),
    "irfft2_repeated": ("irfft2", {"axes": (1, 1), "s": (4, 7)}, (X, Z)),
}


def _params(table: dict) -> list:
    return [
        pytest.param(name, kw, a, id=f"{key}-{a.dtype}-{a.ndim}d")
        for key, (name, kw, inputs) in table.items()
        for a in inputs
    ]


def _loss(np_: object, name: str, kw: dict, u: tuple) -> object:
    """A real loss of the transform's output, weighing real and imaginary parts."""

    def loss(a: object) -> object:
        y = getattr(np_.fft, name)(a, **kw)
        return np_.sum(np_.real(y) * u[0] + np_.imag(y) * u[1])

    return loss


def _weights(name: str, kw: dict, a: np.ndarray) -> tuple:
    shape = getattr(np.fft, name)(a, **kw).shape
    return rng.standard_normal(shape), rng.standard_normal(shape)


@needs_autograd
@pytest.mark.parametrize(("name", "kw", "a"), _params(AUTOGRAD))
def test_matches_autograd(name: str, kw: dict, a: np.ndarray) -> None:
    """rulegrad's gradient equals autograd's, for real and complex inputs."""
    u = _weights(name, kw, a)
    ours = rg.grad(_loss(np, name, kw, u))(a)
    theirs = autograd.grad(_loss(anp, name, kw, u))(a)
    assert ours.dtype == a.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@needs_autograd
@pytest.mark.parametrize(("name", "kw", "a"), _params(AUTOGRAD))
def test_float32_matches_autograd(name: str, kw: dict, a: np.ndarray) -> None:
    """float32 (complex64) in: a complex64 (float32) output and a float32 (complex64)
    gradient, close to autograd's float64 one."""
    narrow = a.astype(np.complex64 if np.iscomplexobj(a) else np.float32)
    u = tuple(w.astype(np.float32) for w in _weights(name, kw, a))
    out = getattr(np.fft, name)(narrow, **kw)
    assert out.dtype in (np.float32, np.complex64)
    ours = rg.grad(_loss(np, name, kw, u))(narrow)
    theirs = autograd.grad(_loss(anp, name, kw, u))(a)
    assert ours.dtype == narrow.dtype
    np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-4 * np.abs(theirs).max())


@pytest.mark.parametrize(("name", "kw", "a"), _params(NUMERIC))
def test_matches_central_differences(name: str, kw: dict, a: np.ndarray) -> None:
    """Where autograd has no (or a wrongly scaled) rule, central differences agree."""
    rg.checkgrad(lambda a: getattr(np.fft, name)(a, **kw), a)


@pytest.mark.parametrize(("name", "kw", "a"), _params(NUMERIC))
def test_float32_keeps_its_dtype(name: str, kw: dict, a: np.ndarray) -> None:
    """float32 and complex64 inputs get gradients of their own dtype."""
    narrow = a.astype(np.complex64 if np.iscomplexobj(a) else np.float32)
    u = tuple(w.astype(np.float32) for w in _weights(name, kw, a))
    ours = rg.grad(_loss(np, name, kw, u))(narrow)
    wide = rg.grad(_loss(np, name, kw, u))(a)
    assert ours.dtype == narrow.dtype
    np.testing.assert_allclose(ours, wide, rtol=2e-4, atol=2e-4 * np.abs(wide).max())


SECOND = {
    "fft": ("fft", {"n": 5, "norm": "ortho"}, (Z,)),
    "rfft_odd": ("rfft", {"n": 7, "axis": 0}, (X,)),
    "irfft": ("irfft", {"n": 6, "norm": "forward"}, (Z,)),
    "hfft": ("hfft", {"n": 5}, (Z,)),
    "ihfft": ("ihfft", {"norm": "ortho"}, (X,)),
    "rfftn": ("rfftn", {"axes": (0, 2), "s": (3, 5)}, (X3,)),
    "irfftn": ("irfftn", {"axes": (0, 1), "s": (3, 4), "norm": "ortho"}, (Z,)),
    "ifft2": ("ifft2", {"s": (3, 7), "norm": "forward"}, (Z,)),
}


@pytest.mark.parametrize(("name", "kw", "a"), _params(SECOND))
def test_second_order(name: str, kw: dict, a: np.ndarray) -> None:
    """The rules are transforms themselves, so they differentiate again."""
    rg.checkgrad(lambda a: np.abs(getattr(np.fft, name)(a, **kw)) ** 2, a, order=2)


def test_complex_convention() -> None:
    """Along complex directions v, dL = Re(sum(g * v)) (autograd's convention)."""
    check_complex(lambda z: np.fft.fft2(z, s=(3, 8)), Z)
    check_complex(lambda z: np.fft.irfft(z, n=9, norm="ortho"), Z)


def test_half_spectrum_power() -> None:
    """The power of the half spectrum, ||A x||^2 with A = rfft's matrix, has gradient
    2 Re(A^H A) x: the Hermitian weighting of rfft's rule is exact, for even and odd n."""
    for n in (8, 7):
        x = rng.standard_normal(n)
        a = np.fft.rfft(np.eye(n), axis=0)  # (n // 2 + 1, n)
        g = rg.grad(lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2))(x)
        np.testing.assert_allclose(g, 2 * np.real(np.conj(a).T @ a) @ x, atol=1e-12)
        full = rg.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)
        np.testing.assert_allclose(full, 2 * n * x)  # Parseval


FLIP = {None: "forward", "ortho": "ortho", "forward": "backward", "backward": "forward"}


@pytest.mark.parametrize(("n", "norm"), [(None, None), (7, "ortho"), (4, "forward")])
def test_hermitian_transforms_are_their_compositions(n: int | None, norm: str | None) -> None:
    """hfft(a) = irfft(conj(a)) and ihfft(x) = conj(rfft(x)), with the other norm: the
    gradients agree with those of the compositions."""
    for z in (Z, X):
        ours = grad_of(lambda z: np.fft.hfft(z, n, norm=norm), z)
        comp = grad_of(lambda z: np.fft.irfft(np.conj(z), n, norm=FLIP[norm]), z)
        np.testing.assert_allclose(ours, comp, atol=1e-12)
    ours = grad_of(lambda x: np.fft.ihfft(x, n, norm=norm), X)
    comp = grad_of(lambda x: np.conj(np.fft.rfft(x, n, norm=FLIP[norm])), X)
    np.testing.assert_allclose(ours, comp, atol=1e-12)


def grad_of(f: object, a: np.ndarray) -> np.ndarray:
    """The gradient of a fixed real weighing of f's output."""
    w = np.cos(np.arange(np.size(f(a)))).reshape(np.shape(f(a)))
    return rg.grad(lambda a: np.sum(np.real(f(a)) * w + np.imag(f(a)) * w[::-1]))(a)


def test_params_in_diff() -> None:
    """A float32 Param inside rg.diff routes np.fft calls to the rules (a power spectrum
    loss): a float32 gradient equal to the float64 one."""

    def power(w: object) -> object:
        return np.sum(np.abs(np.fft.fftshift(np.fft.rfft2(w), axes=0)) ** 2)

    w = rg.Param(X.astype(np.float32))
    g = rg.grad(rg.diff(lambda: power(w)), w)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, rg.grad(power)(X), rtol=1e-4, atol=1e-3)
    rg.checkgrad(power, X, order=2)
