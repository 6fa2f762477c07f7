"""1-d convolution and correlation: np.convolve and np.correlate, modes "full", "same" and "valid",
real or complex (scipy.signal's n-d functions are in rulegrad's scipy plugin).

Each result is a crop of a full convolution ``a * w``: ``w = v`` for ``convolve``, and
``w = conj(flip(v))`` for ``correlate``, which conjugates its second argument. numpy crops
"same" to the longer input's length and "valid" to the overlap, starting ``(s - 1) // 2``
and ``s - 1`` entries in (``s`` the shorter length); it swaps ``a`` and ``v`` when ``v`` is
the longer, which changes nothing for ``convolve`` (it commutes) but starts ``correlate``'s
"same" at ``s // 2`` instead. So each rule pads the output gradient back to the full
length at that offset, then, for ``y = a * w``, ``abar = convolve(ybar, flip(w), "valid")``
and ``wbar = convolve(ybar, flip(a), "valid")``: convolutions again, which differentiate
to any order. Both functions are linear in each argument (correlate conjugate-linear in
``v``, which is real-linear), so the forward rules run the function with one argument's
tangent in its place. Complex arguments follow autograd's convention (complex.py); a real
argument of a complex result gets the real part of its gradient.

Examples:
    >>> import rulegrad as rg
    >>> v = np.array([1.0, 2.0])
    >>> rg.grad(lambda a: np.sum(np.convolve(a, v, mode="valid")))(np.ones(3))
    array([2., 3., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Domain, primitive
from ._util import cast_like, conj

#: numpy's modes by number: ``np.convolve`` takes the name or its number.
MODES = ("valid", "same", "full")


def _mode(mode: Any) -> str:
    """The first letter of ``mode``'s name ("full" and 2 give "f")."""
    return mode[:1] if isinstance(mode, str) else MODES[int(mode)][:1]


def _padded(dy: Any, a: Any, v: Any, mode: Any, swapped_later: bool) -> Any:
    """The output gradient ``dy`` zero-padded to the full length ``n + m - 1``, at the
    offset numpy cropped it from; ``swapped_later`` for correlate's "same" of a shorter
    ``a``, which starts at ``s // 2``."""
    n, m = np.shape(a)[-1], np.shape(v)[-1]
    s, k = min(n, m), np.shape(dy)[-1]
    start = {"f": 0, "v": s - 1, "s": s // 2 if swapped_later and n < m else (s - 1) // 2}
    before = start[_mode(mode)]
    after = n + m - 1 - k - before
    return np.pad(dy, (before, after)) if before or after else dy


# ---- convolve: y = a * v ----
def _convolve_da(dy: Any, y: Any, a: Any, v: Any, mode: Any = "full") -> Any:
    return cast_like(np.convolve(_padded(dy, a, v, mode, False), np.flip(v), "valid"), a)


def _convolve_dv(dy: Any, y: Any, a: Any, v: Any, mode: Any = "full") -> Any:
    return cast_like(np.convolve(_padded(dy, a, v, mode, False), np.flip(a), "valid"), v)


# ---- correlate: y = a * conj(flip(v)) ----
def _correlate_da(dy: Any, y: Any, a: Any, v: Any, mode: Any = "valid") -> Any:
    return cast_like(np.convolve(_padded(dy, a, v, mode, True), conj(v), "valid"), a)


def _correlate_dv(dy: Any, y: Any, a: Any, v: Any, mode: Any = "valid") -> Any:
    """The gradient of ``w = conj(flip(v))``, flipped and conjugated back."""
    g = np.convolve(_padded(dy, a, v, mode, True), np.flip(a), "valid")
    return cast_like(conj(np.flip(g)), v)


# ---- inputs for the checks: any two lengths 1..6, every mode, real or complex ----
def _sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    n, m = (int(k) for k in rng.integers(1, 7, size=2))
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    if rng.random() < 0.3:
        a = a + 1j * rng.standard_normal(n)
    if rng.random() < 0.3:
        v = v + 1j * rng.standard_normal(m)
    mode = ("full", "same", "valid", 1)[int(rng.integers(0, 4))]
    if rng.random() < 0.5:
        return (a, v, mode), {}
    return (a, v), {"mode": mode}


DOMAIN = Domain(args=("complex", "complex"), sample=_sample)


def _register(f: Any, da: Any, dv: Any, default: str) -> None:
    """Register ``f(a, v, mode=default)`` (np.convolve or np.correlate) with its reverse rules
    and its forward rules, ``f`` of one tangent and the other argument (``f`` is bilinear)."""
    primitive(
        f,
        da,
        dv,
        None,  # mode
        jvp=(
            lambda ta, y, a, v, mode=default: f(ta, v, mode),
            lambda tv, y, a, v, mode=default: f(a, tv, mode),
            None,
        ),
        domain=DOMAIN,
    )


_register(np.convolve, _convolve_da, _convolve_dv, "full")
_register(np.correlate, _correlate_da, _correlate_dv, "valid")
