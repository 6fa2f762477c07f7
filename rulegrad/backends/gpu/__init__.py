"""The cupy backend, a plugin registered through rulegrad's own entry point (``gpu``).

Installing rulegrad never installs cupy and importing it never imports cupy: the
backend is registered cheaply, and cupy is imported (and the ``cupy.ndarray`` methods
registered: conv4/pool kernels, fused activations) the first time the backend is used,
by ``rg.to(x, "gpu")``, ``rulegrad.plugins.backend("gpu")``, or conv4/pool meeting cupy
arrays. Generic rules need none of this: they run on cupy arrays through numpy's
dispatch protocols. Install cupy with the ``cuda12`` or ``cuda13`` extra.
"""

from __future__ import annotations

import sys

from ...plugins.hookspecs import hookimpl
from .arrays import GpuBackend

_BACKEND = GpuBackend()


@hookimpl
def rulegrad_register_backends() -> list[GpuBackend]:
    """The cupy backend (not loaded yet)."""
    return [_BACKEND]


@hookimpl
def rulegrad_register_rules() -> None:
    """If the program already imported cupy, load the backend now (registers its methods)."""
    if "cupy" in sys.modules:
        _BACKEND.available  # noqa: B018
