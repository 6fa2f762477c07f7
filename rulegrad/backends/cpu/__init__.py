"""The numpy backend, a plugin registered through rulegrad's own entry point (``cpu``).

Generic rules already run on numpy arrays; this plugin adds the `Backend` (array type
``numpy.ndarray``) and the numpy kernels of conv4, pool and unpool (im2col + BLAS).
"""

from __future__ import annotations

import numpy as np

from ...plugins.hookspecs import hookimpl
from .arrays import CpuBackend


@hookimpl
def rulegrad_register_backends() -> list[CpuBackend]:
    """The numpy backend."""
    return [CpuBackend()]


@hookimpl
def rulegrad_register_rules() -> None:
    """numpy kernels for conv4, pool and unpool and their backward functions."""
    from ...rules.conv import register_kernels
    from . import conv

    register_kernels(np.ndarray, conv, origin=__name__)
