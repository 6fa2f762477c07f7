"""The cupy backend on a real GPU: loading, moving arrays, random numbers, memory."""

from __future__ import annotations

import numpy as np
import pytest
from devices import cupy  # noqa: F401  (the fixture)

import rulegrad as rg
from rulegrad import plugins
from rulegrad.transfer import to

pytestmark = pytest.mark.gpu


def test_backend_loads_and_owns_cupy_arrays(cupy) -> None:  # noqa: F811
    """Using the backend imports cupy and registers its methods."""
    gpu = plugins.backend("gpu")
    a = gpu.from_host(np.arange(3.0))
    assert isinstance(a, cupy.ndarray) and gpu.owns(a) and plugins.backend_of(a) is gpu
    assert np.array_equal(gpu.to_host(a), np.arange(3.0))
    gpu.synchronize()
    assert any(m.types == (cupy.ndarray, cupy.ndarray) for m in rg.rules.conv.conv4.methods)


def test_to_moves_models_both_ways(cupy) -> None:  # noqa: F811
    """rg.to moves Params and containers to the GPU and back, keeping dtypes."""
    model = {"w": rg.Param(np.ones((2, 3), np.float32)), "b": [np.zeros(2)]}
    to(model, "gpu")
    assert isinstance(model["w"].value, cupy.ndarray) and model["w"].dtype == np.float32
    back = to(model, "cpu")
    assert isinstance(back["w"].value, np.ndarray) and isinstance(back["b"][0], np.ndarray)


def test_random_draws_on_the_device(cupy) -> None:  # noqa: F811
    """The GPU random module returns cupy arrays of the asked dtype, reproducibly."""
    r = plugins.backend("gpu").random
    r.seed(1)
    a = r.xavier(20, 1, 5, 5, dtype=np.float32)
    r.seed(1)
    assert isinstance(a, cupy.ndarray) and a.dtype == np.float32
    assert bool((a == r.xavier(20, 1, 5, 5, dtype=np.float32)).all())


def test_memory_is_released_during_backward(cupy) -> None:  # noqa: F811
    """The backward walk drops each node's arrays: pool usage falls back after grad."""
    gpu = plugins.backend("gpu")
    w = rg.Param(cupy.asarray(np.random.default_rng(0).standard_normal((512, 512))))
    x = cupy.ones((512, 256))
    gpu.synchronize()
    before = gpu.memory()["used"]

    def deep() -> object:
        h = x
        for _ in range(20):
            h = np.tanh(w @ h)
        return np.sum(h)

    J = rg.diff(deep)
    recorded = gpu.memory()["used"]
    g = rg.grad(J, w)
    gpu.synchronize()
    after = gpu.memory()["used"]
    step = 512 * 256 * 8
    assert recorded - before >= 20 * step  # the tape holds every layer's output
    assert after - before <= 3 * step + g.nbytes  # released: only a few arrays remain
