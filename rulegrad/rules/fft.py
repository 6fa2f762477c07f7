"""Discrete Fourier transforms: all of np.fft's transforms and shifts (16 of 16; the helpers
fftfreq and rfftfreq take no array to differentiate).

Every transform is linear, so its gradient is its transpose applied to the output gradient,
and the transpose of a transform is again a transform: fft's is fft, ifft's ifft, rfft's an
irfft of the Hermitian-weighted half spectrum, irfft's an rfft. The n-d transforms run as
numpy runs them, one 1-D transform per axis, and their gradients run the transposes of
those steps in reverse, so repeated axes work. ``n``/``s`` pad or cut the input, and the
gradient cuts or pads back; ``norm`` ("backward", "ortho", "forward") scales the transpose
by the same factor, which for the real transforms is the other direction's norm. Complex
gradients follow autograd's convention (complex.py); a real input gets the real part.

Forward mode: every transform and shift is linear (over the reals: irfft and hfft read
only a Hermitian half), so its forward rule is the transform itself on the tangent, with
the same ``n``/``s``, axes and ``norm`` (not ``out``, which holds the output); a complex
tangent goes through as it is.

Examples:
    >>> import rulegrad as rg
    >>> x = np.array([1.0, 2.0, 0.0, -1.0])
    >>> rg.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)  # Parseval: 2 n x
    array([ 8., 16.,  0., -8.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import LINEAR, Domain, primitive, value
from ._util import cast_like, dtype_of

#: The norm whose scale factor is the same in the other direction.
FLIP = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}
NORMS = (None, "backward", "ortho", "forward")


# ---- building blocks: fitting a length, Hermitian weights ----
def _fit(g: Any, axis: int, size: int) -> Any:
    """``g`` cut or zero-padded along ``axis`` to ``size`` (as numpy's ``n`` does to inputs)."""
    have = np.shape(g)[axis]
    if have > size:
        return g[(slice(None),) * axis + (slice(0, size),)]
    if have < size:
        widths = [(0, 0)] * np.ndim(g)
        widths[axis] = (0, size - have)
        return np.pad(g, widths)
    return g


def _hermitian(g: Any, n: int, axis: int, inner: float) -> Any:
    """Weights along ``axis`` for the ``n // 2 + 1`` terms of a real signal's half spectrum:
    1 for the terms that appear once in the full spectrum (the zero frequency and, for even
    ``n``, the Nyquist frequency), ``inner`` for the others, which stand for a pair."""
    raw = value(g)
    like = {"like": raw} if hasattr(raw, "__array_function__") else {}  # on g's device
    w = np.full(n // 2 + 1, inner, dtype=np.finfo(dtype_of(g)).dtype, **like)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.reshape((-1,) + (1,) * (np.ndim(g) - axis - 1))


# ---- the transposes of the 1-D transforms: (g, n, axis, norm) -> gradient of length n ----
def _fft_t(g: Any, n: int, axis: int, norm: Any) -> Any:
    """fft is symmetric: its transpose is itself, with the same scale."""
    return np.fft.fft(g, axis=axis, norm=norm)


def _ifft_t(g: Any, n: int, axis: int, norm: Any) -> Any:
    return np.fft.ifft(g, axis=axis, norm=norm)


def _rfft_t(g: Any, n: int, axis: int, norm: Any) -> Any:
    """``Re(fft(pad(g)))``, computed as an irfft: each inner term of the half spectrum
    ``g_k`` enters ``irfft`` twice (as ``g_k`` and ``conj(g_k)``), so it is halved."""
    h = np.conj(g) * _hermitian(g, n, axis, 0.5)
    return np.fft.irfft(h, n, axis=axis, norm=FLIP[norm])


def _irfft_t(g: Any, n: int, axis: int, norm: Any) -> Any:
    """irfft reads the inner half-spectrum terms twice (k and n - k), so they are doubled;
    the zero (and Nyquist) term's imaginary part is ignored: its gradient is real."""
    return np.conj(np.fft.rfft(g, axis=axis, norm=FLIP[norm])) * _hermitian(g, n, axis, 2.0)


def _hfft_t(g: Any, n: int, axis: int, norm: Any) -> Any:
    """hfft(a) is irfft(conj(a)) with the other norm: conj of irfft's transpose."""
    return np.fft.rfft(g, axis=axis, norm=norm) * _hermitian(g, n, axis, 2.0)


def _ihfft_t(g: Any, n: int, axis: int, norm: Any) -> Any:
    """ihfft(a) is conj(rfft(a)) with the other norm: rfft's transpose of conj(g)."""
    return np.fft.irfft(g * _hermitian(g, n, axis, 0.5), n, axis=axis, norm=norm)


#: One 1-D transform: its transpose, and its output length for transform length n.
Step = tuple[Callable[..., Any], int, int]  # (transpose, n, axis)
FULL, HALF = (lambda n: n), (lambda n: n // 2 + 1)
OUT = {_fft_t: FULL, _ifft_t: FULL, _rfft_t: HALF, _irfft_t: FULL, _hfft_t: FULL, _ihfft_t: HALF}


def _pull(dy: Any, a: Any, steps: Sequence[Step], norm: Any) -> Any:
    """The gradient of a chain of 1-D transforms (``steps``, in the order they ran on ``a``):
    the transposes in reverse order, each cutting or padding back to its input's length."""
    shape, before = list(np.shape(a)), []
    for t, n, axis in steps:
        before.append(shape[axis])
        shape[axis] = OUT[t](n)
    g = dy
    for (t, n, axis), size in zip(reversed(steps), reversed(before)):
        g = _fit(t(g, n, axis, norm), axis, size)
    return cast_like(g, a)


# ---- 1-D transforms ----
HALF_IN = (_irfft_t, _hfft_t)  # their input is a half spectrum: n defaults to 2(m - 1)


def _one(t: Callable[..., Any], dy: Any, a: Any, n: Any, axis: int, norm: Any) -> Any:
    """The gradient of a 1-D transform whose transpose is ``t``."""
    axis = axis % np.ndim(a)
    if n is None:
        m = np.shape(a)[axis]
        n = 2 * (m - 1) if t in HALF_IN else m
    return _pull(dy, a, [(t, int(n), axis)], norm)


def _fft_dx(
    dy: Any, y: Any, a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None
) -> Any:
    return _one(_fft_t, dy, a, n, axis, norm)


def _ifft_dx(
    dy: Any, y: Any, a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None
) -> Any:
    return _one(_ifft_t, dy, a, n, axis, norm)


def _rfft_dx(
    dy: Any, y: Any, a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None
) -> Any:
    return _one(_rfft_t, dy, a, n, axis, norm)


def _irfft_dx(
    dy: Any, y: Any, a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None
) -> Any:
    return _one(_irfft_t, dy, a, n, axis, norm)


def _hfft_dx(
    dy: Any, y: Any, a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None
) -> Any:
    return _one(_hfft_t, dy, a, n, axis, norm)


def _ihfft_dx(
    dy: Any, y: Any, a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None
) -> Any:
    return _one(_ihfft_t, dy, a, n, axis, norm)


# ---- n-d transforms: one 1-D transform per axis, as numpy runs them ----
def _nd(a: Any, s: Any, axes: Any, half: bool = False) -> tuple[list[int], list[int]]:
    """Transform lengths and (non-negative) axes as numpy reads ``s`` and ``axes``: all
    axes, or the last ``len(s)``, by default; -1 in ``s`` for the input's length; for a
    half spectrum (irfftn) a last length of ``2(m - 1)`` by default."""
    shape, ndim = np.shape(a), np.ndim(a)
    if axes is None:
        axes = range(-(ndim if s is None else len(s)), 0)
    axes = [int(ax) % ndim for ax in axes]
    if s is None:
        s = [shape[ax] for ax in axes]
        if half:
            s[-1] = 2 * (s[-1] - 1)
    return [shape[ax] if n == -1 else int(n) for n, ax in zip(s, axes)], axes


def _fftn_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None
) -> Any:
    s, axes = _nd(a, s, axes)
    return _pull(dy, a, [(_fft_t, n, ax) for n, ax in reversed(list(zip(s, axes)))], norm)


def _ifftn_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None
) -> Any:
    s, axes = _nd(a, s, axes)
    return _pull(dy, a, [(_ifft_t, n, ax) for n, ax in reversed(list(zip(s, axes)))], norm)


def _rfftn_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None
) -> Any:
    """rfft along the last axis, then fft along the others from last to first."""
    s, axes = _nd(a, s, axes)
    rest = [(_fft_t, n, ax) for n, ax in reversed(list(zip(s[:-1], axes[:-1])))]
    return _pull(dy, a, [(_rfft_t, s[-1], axes[-1]), *rest], norm)


def _irfftn_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None
) -> Any:
    """ifft along every axis but the last, first to last, then irfft along the last."""
    s, axes = _nd(a, s, axes, half=True)
    steps = [(_ifft_t, n, ax) for n, ax in zip(s[:-1], axes[:-1])]
    return _pull(dy, a, [*steps, (_irfft_t, s[-1], axes[-1])], norm)


def _fft2_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None
) -> Any:
    return _fftn_dx(dy, y, a, s, axes, norm)


def _ifft2_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None
) -> Any:
    return _ifftn_dx(dy, y, a, s, axes, norm)


def _rfft2_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None
) -> Any:
    return _rfftn_dx(dy, y, a, s, axes, norm)


def _irfft2_dx(
    dy: Any, y: Any, a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None
) -> Any:
    return _irfftn_dx(dy, y, a, s, axes, norm)


# ---- inputs for the automatic checks: small arrays, every norm, lengths cut and padded ----
def _signal(
    rng: np.random.Generator, complex_: bool | None = None, shape: Any = None
) -> np.ndarray:
    """A small array, complex half of the time (``complex_=None``)."""
    if shape is None:
        shape = rng.integers(2, 5, size=rng.integers(1, 3))
    shape = tuple(int(n) for n in shape)
    x = rng.standard_normal(shape)
    if complex_ or (complex_ is None and rng.random() < 0.5):
        x = x + 1j * rng.standard_normal(shape)
    return x


def _one_axis(complex_: bool | None, half: bool = False) -> Callable[..., tuple[tuple, dict]]:
    """Sampler of a 1-D transform's inputs: ``n`` left out, shorter or longer, odd or even."""

    def sample(rng: np.random.Generator) -> tuple[tuple, dict]:
        a = _signal(rng, complex_)
        axis = int(rng.integers(-a.ndim, a.ndim))
        kwargs = {"axis": axis, "norm": NORMS[rng.integers(len(NORMS))]}
        if rng.random() < 0.7:
            kwargs["n"] = int(rng.integers(1 + half, 7))  # irfft and hfft need n >= 2
        return (a,), kwargs

    return sample


def _many_axes(complex_: bool | None, two: bool = False) -> Callable[..., tuple[tuple, dict]]:
    """Sampler of an n-d transform's inputs: all axes or some (repeated now and then),
    ``s`` left out or cutting and padding."""

    def sample(rng: np.random.Generator) -> tuple[tuple, dict]:
        a = _signal(rng, complex_, rng.integers(2, 4, size=3 if two else rng.integers(2, 4)))
        kwargs: dict[str, Any] = {"norm": NORMS[rng.integers(len(NORMS))]}
        k = 2 if two else int(rng.integers(1, a.ndim + 1))
        repeat = not two and rng.random() < 0.3
        axes = [int(ax) for ax in rng.choice(a.ndim, size=k, replace=repeat)]
        if rng.random() < 0.2:  # the default axes: all (fftn) or the last two (fft2)
            return (a,), kwargs
        if not two or rng.random() < 0.5:
            kwargs["axes"] = axes
        if rng.random() < 0.6:
            kwargs["s"] = [int(n) for n in rng.integers(2, 5, size=k)]
        return (a,), kwargs

    return sample


def _shift(rng: np.random.Generator) -> tuple[tuple, dict]:
    a = _signal(rng, None, rng.integers(2, 6, size=2))
    return (a,), {"axes": [None, 0, (1,), (0, 1)][rng.integers(4)]}


# ---- the table ----
def _fftshift_dx(dy: Any, y: Any, x: Any, axes: Any = None) -> Any:
    return np.fft.ifftshift(dy, axes)


def _ifftshift_dx(dy: Any, y: Any, x: Any, axes: Any = None) -> Any:
    return np.fft.fftshift(dy, axes)


def _tangent(f: Callable[..., Any]) -> Callable[..., Any]:
    """The forward rule of transform ``f``: ``f`` of the tangent with the same ``n``/``s``,
    axes and ``norm`` (the first three arguments after the input), without ``out``, which
    holds the output itself (`rg.LINEAR`'s rule would write the tangent into it)."""

    def rule(da: Any, y: Any, a: Any, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        return f(da, *args[:3], **kwargs)

    rule.__name__ = f"{f.__name__}_tangent"
    return rule


ANY_1D = Domain(args=("complex",), sample=_one_axis(None))  # real or complex
REAL_1D = Domain(args=("real",), sample=_one_axis(False))  # rfft, ihfft: real input only
HALF_1D = Domain(args=("complex",), sample=_one_axis(True, half=True))
ANY_2D = Domain(args=("complex",), sample=_many_axes(None, two=True))
REAL_2D = Domain(args=("real",), sample=_many_axes(False, two=True))
HALF_2D = Domain(args=("complex",), sample=_many_axes(True, two=True))
ANY_ND = Domain(args=("complex",), sample=_many_axes(None))
REAL_ND = Domain(args=("real",), sample=_many_axes(False))
HALF_ND = Domain(args=("complex",), sample=_many_axes(True))
SHIFT = Domain(args=("complex",), sample=_shift)

primitive(np.fft.fft, _fft_dx, jvp=_tangent(np.fft.fft), domain=ANY_1D)
primitive(np.fft.ifft, _ifft_dx, jvp=_tangent(np.fft.ifft), domain=ANY_1D)
primitive(np.fft.rfft, _rfft_dx, jvp=_tangent(np.fft.rfft), domain=REAL_1D)
primitive(np.fft.irfft, _irfft_dx, jvp=_tangent(np.fft.irfft), domain=HALF_1D)
primitive(np.fft.hfft, _hfft_dx, jvp=_tangent(np.fft.hfft), domain=HALF_1D)
primitive(np.fft.ihfft, _ihfft_dx, jvp=_tangent(np.fft.ihfft), domain=REAL_1D)
primitive(np.fft.fft2, _fft2_dx, jvp=_tangent(np.fft.fft2), domain=ANY_2D)
primitive(np.fft.ifft2, _ifft2_dx, jvp=_tangent(np.fft.ifft2), domain=ANY_2D)
primitive(np.fft.rfft2, _rfft2_dx, jvp=_tangent(np.fft.rfft2), domain=REAL_2D)
primitive(np.fft.irfft2, _irfft2_dx, jvp=_tangent(np.fft.irfft2), domain=HALF_2D)
primitive(np.fft.fftn, _fftn_dx, jvp=_tangent(np.fft.fftn), domain=ANY_ND)
primitive(np.fft.ifftn, _ifftn_dx, jvp=_tangent(np.fft.ifftn), domain=ANY_ND)
primitive(np.fft.rfftn, _rfftn_dx, jvp=_tangent(np.fft.rfftn), domain=REAL_ND)
primitive(np.fft.irfftn, _irfftn_dx, jvp=_tangent(np.fft.irfftn), domain=HALF_ND)
primitive(np.fft.fftshift, _fftshift_dx, jvp=LINEAR, domain=SHIFT)
primitive(np.fft.ifftshift, _ifftshift_dx, jvp=LINEAR, domain=SHIFT)
