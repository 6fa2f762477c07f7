"""Random numbers on the CPU: one seedable generator and Knet's weight initializers.

Every backend's ``random`` module has these functions with these signatures, so model
code can ask its backend for them (``rg.plugins.backend("gpu").random.xavier(...)``).
Arrays come out in the requested dtype (float64 unless told), never upcast later.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..geometry import fans

__all__ = ["bernoulli", "fans", "gaussian", "generator", "rand", "randn", "seed", "xavier"]

_state: dict[str, np.random.Generator] = {"rng": np.random.default_rng()}


def seed(n: int) -> None:
    """Reseed the generator these functions draw from.

    Examples:
        >>> seed(0); a = rand(3); seed(0)
        >>> bool((a == rand(3)).all())
        True
    """
    _state["rng"] = np.random.default_rng(n)


def generator() -> np.random.Generator:
    """The numpy ``Generator`` these functions draw from."""
    return _state["rng"]


def rand(*shape: int, dtype: Any = np.float64) -> np.ndarray:
    """Uniform numbers in [0, 1)."""
    return _state["rng"].random(shape, dtype=np.dtype(dtype))


def randn(*shape: int, dtype: Any = np.float64) -> np.ndarray:
    """Standard normal numbers."""
    return _state["rng"].standard_normal(shape, dtype=np.dtype(dtype))


def gaussian(*shape: int, mean: float = 0.0, std: float = 0.01, dtype: Any = np.float64) -> Any:
    """Normal numbers with the given mean and standard deviation (Knet's ``gaussian``)."""
    return randn(*shape, dtype=dtype) * std + mean


def xavier(*shape: int, gain: float = 1.0, dtype: Any = np.float64) -> Any:
    """Uniform in +-gain*sqrt(6 / (fan_in + fan_out)) (Knet's ``xavier``, Glorot & Bengio).

    Examples:
        >>> w = xavier(20, 1, 5, 5, dtype=np.float32)
        >>> w.dtype, bool(np.abs(w).max() <= np.sqrt(6 / 525))
        (dtype('float32'), True)
    """
    fan_in, fan_out = fans(shape)
    s = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rand(*shape, dtype=dtype) * (2 * s) - s


def bernoulli(*shape: int, p: float, dtype: Any = np.float64) -> Any:
    """1 with probability ``p``, else 0 (dropout masks)."""
    return (rand(*shape, dtype=dtype) < p).astype(dtype)
