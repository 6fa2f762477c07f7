"""The CPU backend: numpy arrays in host memory."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ...plugins.registry import Backend
from . import random

__all__ = ["CpuBackend"]


class CpuBackend(Backend):
    """numpy: arrays (and numpy scalars) in host memory; moving to or from the host is free.

    Examples:
        >>> b = CpuBackend()
        >>> b.available, b.owns(np.float32(1.0)), b.to_host(np.ones(2))
        (True, True, array([1., 1.]))
    """

    name = "cpu"
    modules = ("numpy",)
    random = random

    def load(self) -> ModuleType:
        return np

    def array_types(self) -> tuple[type, ...]:
        return (np.ndarray, np.generic)

    def from_host(self, a: Any) -> Any:
        return a

    def to_host(self, a: Any) -> Any:
        return a
