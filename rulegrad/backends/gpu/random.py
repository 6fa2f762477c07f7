"""Random numbers on the GPU: the functions of `rulegrad.backends.cpu.random`, drawn by cupy.

cupy is imported when a function is first called, not when this module is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..geometry import fans

__all__ = ["bernoulli", "gaussian", "generator", "rand", "randn", "seed", "xavier"]

_state: dict[str, Any] = {"rng": None}


def generator() -> Any:
    """The ``cupy.random.RandomState`` these functions draw from (made on first use)."""
    if _state["rng"] is None:
        import cupy

        _state["rng"] = cupy.random.RandomState()
    return _state["rng"]


def seed(n: int) -> None:
    """Reseed the generator these functions draw from."""
    import cupy

    _state["rng"] = cupy.random.RandomState(n)


def rand(*shape: int, dtype: Any = np.float64) -> Any:
    """Uniform numbers in [0, 1)."""
    return generator().random_sample(shape, dtype=np.dtype(dtype))


def randn(*shape: int, dtype: Any = np.float64) -> Any:
    """Standard normal numbers."""
    return generator().standard_normal(shape, dtype=np.dtype(dtype))


def gaussian(*shape: int, mean: float = 0.0, std: float = 0.01, dtype: Any = np.float64) -> Any:
    """Normal numbers with the given mean and standard deviation (Knet's ``gaussian``)."""
    return randn(*shape, dtype=dtype) * std + mean


def xavier(*shape: int, gain: float = 1.0, dtype: Any = np.float64) -> Any:
    """Uniform in +-gain*sqrt(6 / (fan_in + fan_out)) (Knet's ``xavier``)."""
    fan_in, fan_out = fans(shape)
    s = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rand(*shape, dtype=dtype) * (2 * s) - s


def bernoulli(*shape: int, p: float, dtype: Any = np.float64) -> Any:
    """1 with probability ``p``, else 0 (dropout masks)."""
    return (rand(*shape, dtype=dtype) < p).astype(dtype)
