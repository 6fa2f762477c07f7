"""The GPU backend: cupy arrays on the current CUDA device, memory from cupy's pool."""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import numpy as np

from ...plugins.registry import Backend
from . import random

__all__ = ["GpuBackend"]

INSTALL = "pip install 'rulegrad[cuda12]' (CUDA 12) or 'rulegrad[cuda13]' (CUDA 13)"


class GpuBackend(Backend):
    """cupy: arrays in GPU memory. cupy is imported the first time the backend is used.

    Allocations go through cupy's default memory pool (cupy's default allocator; the
    backend leaves an allocator the program set alone): arrays the backward pass lets
    go of (the tape drops each node's arrays once its rules have run) return to the pool
    at once and are reused by the next allocation, without a trip to the CUDA driver.
    `memory` reports the pool, `free` hands its unused blocks back to the driver.
    """

    name = "gpu"
    modules = ("cupy",)
    install = INSTALL
    random = random

    def __init__(self) -> None:
        super().__init__()
        self._activated = False
        self._lock = threading.Lock()

    def load(self) -> ModuleType:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()  # raises without a driver
        if count == 0:
            raise RuntimeError("cupy is installed, but no CUDA device is visible")
        cupy.zeros(1).sum()  # make sure a kernel can run
        return cupy

    def array_types(self) -> tuple[type, ...]:
        return (self.xp.ndarray,)

    def from_host(self, a: Any) -> Any:
        return self.xp.asarray(a)

    def to_host(self, a: Any) -> np.ndarray:
        return self.xp.asnumpy(a)

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()

    def activate(self) -> None:
        """Register the cupy methods: conv4/pool kernels and fused activations."""
        # cupy allocates from its default memory pool unless the program chose another
        # allocator (managed memory, RMM, none): that choice is the program's to make.
        with self._lock:  # held while registering: no thread sees half the methods
            if self._activated:
                return
            self._activated = True
            cupy = self._xp
            from ...rules.conv import register_kernels
            from . import conv, fused

            origin = __name__.rsplit(".", 1)[0]
            register_kernels(cupy.ndarray, conv, origin=origin, asarray=cupy.asarray)
            fused.register(cupy.ndarray, origin=origin)

    def memory(self) -> dict[str, int]:
        """Bytes in use and held by cupy's memory pool."""
        pool = self.xp.get_default_memory_pool()
        return {"used": int(pool.used_bytes()), "held": int(pool.total_bytes())}

    def free(self) -> None:
        """Give the pool's unused blocks back to the CUDA driver."""
        self.xp.get_default_memory_pool().free_all_blocks()
