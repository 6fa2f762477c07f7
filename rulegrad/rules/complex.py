"""Complex numbers: real, imag, conj, angle (abs is in math.py), in HIPS autograd's convention.

For a real loss ``L`` of ``z = x + iy`` the gradient is ``dL/dx - i dL/dy``: holomorphic
rules multiply by ``f'(z)`` unconjugated (exp, sin, *, @, ... need nothing special), and
a gradient step on a complex Param is ``z -= lr * np.conj(g)``. Not here: real_if_close
(its output dtype depends on the values).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import LINEAR, Domain, primitive
from ._util import is_complex

REAL = Domain(args=("real",))


def _real_dx(dy: Any, y: Any, val: Any) -> Any:
    """dy itself, made complex when the input was complex."""
    return dy + 0j if is_complex(val) else dy


def _imag_dx(dy: Any, y: Any, val: Any) -> Any:
    """-i dy for complex input; the imaginary part of a real array is constant."""
    return -1j * dy if is_complex(val) else np.zeros_like(dy)


def _angle_dx(dy: Any, y: Any, z: Any, deg: bool = False) -> Any:
    """-i dy / z for complex input (dL/dx - i dL/dy of atan2(y, x)); 0 for real input."""
    if not is_complex(z):
        return np.zeros_like(dy)
    g = -1j * dy / z
    return g * (180 / np.pi) if deg else g


def _angle_jvp(dz: Any, y: Any, z: Any, deg: bool = False) -> Any:
    """Im(dz / z) for complex input; the angle of a real array is constant."""
    if not is_complex(z):
        return dz * 0
    t = np.imag(dz / z)
    return t * (180 / np.pi) if deg else t


# Forward mode: real, imag and conj are linear over the reals (their tangent is the part of
# the input's), so each is its own forward rule.
primitive(np.real, _real_dx, jvp=LINEAR, domain=REAL)
primitive(np.imag, _imag_dx, jvp=LINEAR, domain=REAL)
primitive(
    np.conjugate, lambda dy, y, x: np.conj(dy), jvp=LINEAR, domain=REAL
)  # np.conj is np.conjugate
primitive(np.angle, _angle_dx, jvp=_angle_jvp, domain=Domain(args=("real",), avoid=(0.0,)))
