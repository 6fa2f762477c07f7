"""scipy.signal: convolve, correlate, fftconvolve and oaconvolve (n-d), convolve2d and correlate2d
(2-d), modes "full", "same" and "valid", real or complex.

All are intercepted on ``scipy.signal`` while the plugin is loaded (see
`rulegrad.scipy._intercept`). A "same" or "valid" result is the "full" result cropped
(centred, as scipy crops it: ``correlate2d``'s "same" rounds the other way), so the
gradient pads the output gradient back to the full shape first. Then, for ``y =
convolve(a, b, "full")``, ``abar = correlate(ybar, b, "valid")`` and ``bbar = correlate(ybar,
a, "valid")``; ``correlate(a, b)`` is ``convolve(a, flip(b))``. The rules call these
primitives again, so they differentiate to any order; ``method`` ("auto", "direct",
"fft") is passed on to scipy. ``fftconvolve`` and ``oaconvolve`` compute the same
convolution by FFT (along ``axes``, broadcasting the others): their rules are those
convolutions again, with the other argument flipped along ``axes``. ``convolve2d`` and
``correlate2d`` are differentiable with ``boundary="fill"`` and ``fillvalue=0`` only; for
"valid" with a larger second argument, scipy's ``correlate2d`` swaps the arguments and
returns the conjugate of the correlation, and the rules follow it. All are bilinear, so
the forward rules run the function itself with one argument's tangent in its place
(``convolve(da, b)``, ``convolve(a, db)``), with the same keywords.

Complex arrays follow autograd's convention (``docs/primitives.md``): ``convolve`` is
bilinear, so its rules multiply unconjugated, and scipy's ``correlate`` conjugates the
second argument, so the rules conjugate it back (``np.conj`` only where an argument is
complex: real arrays record the same operations as before). A real argument of a complex
result gets the real part of its gradient.

Examples:
    >>> import numpy as np, scipy.signal, rulegrad as rg
    >>> b = np.array([1.0, 2.0])
    >>> rg.grad(lambda a: np.sum(scipy.signal.convolve(a, b, mode="valid")))(np.ones(3))
    array([2., 3., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal as sg

from ..core import Domain, RuleError, primitive
from ..rules._util import conj, is_complex
from ._intercept import intercept
from ._util import float_dtype

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d"]

ORIGINAL = {name: getattr(sg, name) for name in __all__}
MODES = ("full", "same", "valid")


def _check(name: str, a: Any, b: Any, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"scipy.signal.{name}: mode must be one of {MODES}, not {mode!r}")


def _axes(x: Any, axes: Any) -> list[int]:
    """``axes`` (None for all, an int, or a sequence) as non-negative ints."""
    ndim = np.ndim(x)
    if axes is None:
        return list(range(ndim))
    return [int(ax) % ndim for ax in np.atleast_1d(axes)]


def _full_grad(dy: Any, a: Any, b: Any, axes: Any = None, up: bool = False) -> Any:
    """The output gradient padded to the "full" shape: ``n + m - 1`` along ``axes``, the
    broadcast size along the others (which scipy's "same" crops to ``a``'s too). scipy crops
    it centred, starting ``(f - o) // 2`` in (``up``: ``(f - o + 1) // 2``, correlate2d's
    "same")."""
    widths, convolved = [], _axes(dy, axes)
    for ax, (n, m, o) in enumerate(zip(np.shape(a), np.shape(b), np.shape(dy))):
        f = n + m - 1 if ax in convolved else max(n, m)
        start = (f - o + up) // 2
        widths.append((start, f - o - start))
    return np.pad(dy, widths) if any(w != (0, 0) for w in widths) else dy


def _like(g: Any, x: Any) -> Any:
    """The gradient ``g`` of argument ``x``: its real part for a real ``x``."""
    return np.real(g) if is_complex(g) and not is_complex(x) else g


def _conv_da(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    return _like(correlate(_full_grad(dy, a, b), conj(b), "valid", method), a)


def _conv_db(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    return _like(correlate(_full_grad(dy, a, b), conj(a), "valid", method), b)


def _corr_da(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    return _like(correlate(_full_grad(dy, a, b), np.flip(b), "valid", method), a)


def _corr_db(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    """``correlate(a, b) = convolve(a, conj(flip(b)))``: conjugate ``conv_db``'s gradient."""
    g = np.flip(correlate(_full_grad(dy, a, b), conj(a), "valid", method))
    return _like(conj(g), b)


def _sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Two arrays of the same rank 1..3; for "valid", one at least as large on every axis."""
    ndim, mode = int(rng.integers(1, 4)), MODES[int(rng.integers(0, 3))]
    big = tuple(int(n) for n in rng.integers(2, 5, ndim))
    small = tuple(int(rng.integers(1, n + 1)) for n in big)
    shapes = [big, small] if rng.integers(0, 2) else [small, big]
    if mode != "valid" and rng.integers(0, 2):
        shapes[1] = tuple(int(n) for n in rng.integers(1, 5, ndim))  # any sizes
    a, b = (rng.uniform(-1.0, 1.0, s) for s in shapes)
    return (a, b, mode), {}


DOMAIN = Domain(args=("real", "real", "plain"), sample=_sample)


def _bilinear(f: Any) -> tuple:
    """The forward rules of ``f``, linear in each of its first two arguments (``f`` is a
    lambda calling the primitive being defined, which is looked up when a rule runs)."""

    def fa(da: Any, y: Any, a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        return f(da, b, *args, **kwargs)

    def fb(db: Any, y: Any, a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        return f(a, db, *args, **kwargs)

    return (fa, fb, None)


@primitive(
    _conv_da, _conv_db, None, jvp=_bilinear(lambda *a, **k: convolve(*a, **k)), domain=DOMAIN
)
def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """scipy.signal.convolve of real or complex arrays, in their float (complex) dtype."""
    _check("convolve", in1, in2, mode)
    y = ORIGINAL["convolve"](in1, in2, mode, method)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


@primitive(
    _corr_da, _corr_db, None, jvp=_bilinear(lambda *a, **k: correlate(*a, **k)), domain=DOMAIN
)
def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """scipy.signal.correlate of real or complex arrays, in their float (complex) dtype."""
    _check("correlate", in1, in2, mode)
    y = ORIGINAL["correlate"](in1, in2, mode, method)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


# ---- fftconvolve, oaconvolve: the convolution along axes, by FFT ----
def _fft_rules(f: Any) -> tuple:
    """The rules of convolution ``f(in1, in2, mode, axes)`` (a lambda calling the primitive
    being defined): ``in1bar = f(ybar, flip(in2), "valid")``, the output gradient padded to
    the full shape and both flipped along ``axes``; ``in2bar`` likewise with ``in1``."""

    def da(dy: Any, y: Any, in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
        g = _full_grad(dy, in1, in2, axes)
        return _like(f(g, np.flip(in2, _axes(in2, axes)), "valid", axes), in1)

    def db(dy: Any, y: Any, in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
        g = _full_grad(dy, in1, in2, axes)
        return _like(f(g, np.flip(in1, _axes(in1, axes)), "valid", axes), in2)

    return (da, db, None)


def _sample_axes(rng: np.random.Generator) -> tuple[tuple, dict]:
    """`_sample`'s arrays, complex now and then; ``axes`` some of the axes, the others
    broadcasting (size 1 in one argument) or equal."""
    (a, b, mode), _ = _sample(rng)
    a, b = (x + 1j * rng.uniform(-1.0, 1.0, x.shape) if rng.random() < 0.3 else x for x in (a, b))
    if a.ndim == 1 or rng.random() < 0.4:
        return (a, b, mode), {}
    axes = [int(ax) for ax in rng.choice(a.ndim, int(rng.integers(1, a.ndim)), replace=False)]
    shape = [int(n) for n in rng.integers(1, 4, a.ndim)]
    for ax in set(range(a.ndim)) - set(axes):  # a batch axis: equal sizes, or broadcast
        a, b = (np.resize(x, x.shape[:ax] + (shape[ax],) + x.shape[ax + 1 :]) for x in (a, b))
        if rng.random() < 0.3:
            a = np.take(a, [0], axis=ax) if rng.random() < 0.5 else a
            b = b if a.shape[ax] == 1 else np.take(b, [0], axis=ax)
    one = len(axes) == 1 and rng.random() < 0.5  # an int, negative
    return (a, b, mode), {"axes": axes[0] - a.ndim if one else axes}


AXES = Domain(args=("complex", "complex", "plain"), sample=_sample_axes)


@primitive(*_fft_rules(lambda *args: fftconvolve(*args)),
           jvp=_bilinear(lambda *a, **k: fftconvolve(*a, **k)), domain=AXES)  # fmt: skip
def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """scipy.signal.fftconvolve of real or complex arrays, in their float (complex) dtype."""
    _check("fftconvolve", in1, in2, mode)
    y = ORIGINAL["fftconvolve"](in1, in2, mode, axes)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


@primitive(*_fft_rules(lambda *args: oaconvolve(*args)),
           jvp=_bilinear(lambda *a, **k: oaconvolve(*a, **k)), domain=AXES)  # fmt: skip
def oaconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """scipy.signal.oaconvolve (overlap-add) of real or complex arrays, in their float
    (complex) dtype."""
    _check("oaconvolve", in1, in2, mode)
    y = ORIGINAL["oaconvolve"](in1, in2, mode, axes)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


# ---- convolve2d, correlate2d: 2-d, zero padding ----
def _check2d(name: str, a: Any, b: Any, mode: str, boundary: str, fillvalue: Any) -> None:
    _check(name, a, b, mode)
    if boundary != "fill" or np.any(fillvalue != 0):
        raise RuleError(
            f"scipy.signal.{name}: boundary={boundary!r}, fillvalue={fillvalue!r} is not "
            "differentiable here; rulegrad differentiates boundary='fill' with fillvalue=0 "
            "(zero padding) only: pad the input yourself (np.pad(in1, ..., mode='wrap' or "
            "'symmetric' or constant_values=...)) and use mode='valid'"
        )


def _swapped(mode: str, a: Any, b: Any) -> bool:
    """Whether scipy swaps the arguments: "valid" with ``b`` the larger."""
    return mode == "valid" and not all(n >= m for n, m in zip(np.shape(a), np.shape(b)))


def _conv2d_da(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", *rest: Any) -> Any:
    return _like(convolve2d(_full_grad(dy, a, b), np.flip(b), "valid"), a)


def _conv2d_db(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", *rest: Any) -> Any:
    return _like(convolve2d(_full_grad(dy, a, b), np.flip(a), "valid"), b)


def _corr2d_full(dy: Any, a: Any, b: Any, mode: str) -> Any:
    """correlate2d's output gradient, padded to the full shape (its "same" starts rounded
    up), of ``convolve(a, conj(flip(b)))``: conjugated where scipy's swap conjugates."""
    return _full_grad(conj(dy) if _swapped(mode, a, b) else dy, a, b, up=mode == "same")


def _corr2d_da(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", *rest: Any) -> Any:
    return _like(convolve2d(_corr2d_full(dy, a, b, mode), conj(b), "valid"), a)


def _corr2d_db(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", *rest: Any) -> Any:
    """The gradient of ``w = conj(flip(b))``, flipped and conjugated back."""
    g = convolve2d(_corr2d_full(dy, a, b, mode), np.flip(a), "valid")
    return _like(conj(np.flip(g)), b)


def _sample_2d(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Two matrices, complex now and then; for "valid", one at least as large on both axes."""
    while True:
        (a, b, mode), _ = _sample(rng)
        if a.ndim == 2:
            break
    a, b = (x + 1j * rng.uniform(-1.0, 1.0, x.shape) if rng.random() < 0.3 else x for x in (a, b))
    return (a, b, mode), {}


TWO_D = Domain(args=("complex", "complex", "plain"), sample=_sample_2d)


@primitive(_conv2d_da, _conv2d_db, None, jvp=_bilinear(lambda *a, **k: convolve2d(*a, **k)),
           domain=TWO_D)  # fmt: skip
def convolve2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """scipy.signal.convolve2d of real or complex matrices, in their float (complex) dtype."""
    _check2d("convolve2d", in1, in2, mode, boundary, fillvalue)
    y = ORIGINAL["convolve2d"](in1, in2, mode, boundary, fillvalue)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


@primitive(_corr2d_da, _corr2d_db, None, jvp=_bilinear(lambda *a, **k: correlate2d(*a, **k)),
           domain=TWO_D)  # fmt: skip
def correlate2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """scipy.signal.correlate2d of real or complex matrices, in their float (complex) dtype."""
    _check2d("correlate2d", in1, in2, mode, boundary, fillvalue)
    y = ORIGINAL["correlate2d"](in1, in2, mode, boundary, fillvalue)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


for _name in __all__:
    _prim = globals()[_name]
    intercept(sg, _name, _prim, _prim.methods[0].impl, arrays=("in1", "in2"))
