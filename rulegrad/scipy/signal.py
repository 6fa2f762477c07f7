"""scipy.signal: convolve and correlate, n-d, modes "full", "same" and "valid", real or complex.

Both are intercepted on ``scipy.signal`` while the plugin is loaded (see
`rulegrad.scipy._intercept`). A "same" or "valid" result is the "full" result cropped
(centred, as scipy crops it), so the gradient pads the output gradient back to the full
shape first. Then, for ``y = convolve(a, b, "full")``, ``abar = correlate(ybar, b, "valid")``
and ``bbar = correlate(ybar, a, "valid")``; ``correlate(a, b)`` is ``convolve(a, flip(b))``.
The rules call these primitives again, so they differentiate to any order; ``method``
("auto", "direct", "fft") is passed on to scipy. Both are bilinear, so the forward rules
run the function itself with one argument's tangent in its place (``convolve(da, b)``,
``convolve(a, db)``), in the same mode.

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

from ..core import Domain, primitive
from ..rules._util import is_complex
from ._intercept import intercept
from ._util import float_dtype

__all__ = ["convolve", "correlate"]

ORIGINAL = {name: getattr(sg, name) for name in __all__}
MODES = ("full", "same", "valid")


def _check(name: str, a: Any, b: Any, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"scipy.signal.{name}: mode must be one of {MODES}, not {mode!r}")


def _full_grad(dy: Any, a: Any, b: Any) -> Any:
    """The output gradient padded to the "full" shape (scipy crops it centred)."""
    full = [n + m - 1 for n, m in zip(np.shape(a), np.shape(b))]
    widths = []
    for f, o in zip(full, np.shape(dy)):
        start = (f - o) // 2
        widths.append((start, f - o - start))
    return np.pad(dy, widths) if any(w != (0, 0) for w in widths) else dy


def _conj(x: Any) -> Any:
    """``conj(x)`` for a complex ``x``; a real ``x`` as it is (nothing recorded)."""
    return np.conj(x) if is_complex(x) else x


def _like(g: Any, x: Any) -> Any:
    """The gradient ``g`` of argument ``x``: its real part for a real ``x``."""
    return np.real(g) if is_complex(g) and not is_complex(x) else g


def _conv_da(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    return _like(correlate(_full_grad(dy, a, b), _conj(b), "valid", method), a)


def _conv_db(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    return _like(correlate(_full_grad(dy, a, b), _conj(a), "valid", method), b)


def _corr_da(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    return _like(correlate(_full_grad(dy, a, b), np.flip(b), "valid", method), a)


def _corr_db(dy: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
    """``correlate(a, b) = convolve(a, conj(flip(b)))``: conjugate ``conv_db``'s gradient."""
    g = np.flip(correlate(_full_grad(dy, a, b), _conj(a), "valid", method))
    return _like(_conj(g), b)


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

    def fa(da: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
        return f(da, b, mode, method)

    def fb(db: Any, y: Any, a: Any, b: Any, mode: str = "full", method: str = "auto") -> Any:
        return f(a, db, mode, method)

    return (fa, fb, None)


@primitive(_conv_da, _conv_db, None, jvp=_bilinear(lambda *args: convolve(*args)), domain=DOMAIN)
def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """scipy.signal.convolve of real or complex arrays, in their float (complex) dtype."""
    _check("convolve", in1, in2, mode)
    y = ORIGINAL["convolve"](in1, in2, mode, method)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


@primitive(_corr_da, _corr_db, None, jvp=_bilinear(lambda *args: correlate(*args)), domain=DOMAIN)
def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """scipy.signal.correlate of real or complex arrays, in their float (complex) dtype."""
    _check("correlate", in1, in2, mode)
    y = ORIGINAL["correlate"](in1, in2, mode, method)
    return np.asarray(y).astype(float_dtype(in1, in2), copy=False)


for _name in __all__:
    _prim = globals()[_name]
    intercept(sg, _name, _prim, _prim.methods[0].impl, arrays=("in1", "in2"))
