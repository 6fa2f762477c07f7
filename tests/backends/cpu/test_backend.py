"""The numpy backend plugin: its Backend, its hooks, its random numbers."""

from __future__ import annotations

import numpy as np

import rulegrad as rg
from rulegrad import plugins
from rulegrad.backends.cpu import random
from rulegrad.backends.cpu.arrays import CpuBackend
from rulegrad.rules.conv import conv4, pool


def test_backend_owns_numpy_arrays_and_scalars() -> None:
    """numpy arrays and scalars are the CPU backend's; Python numbers and lists are nobody's."""
    cpu = plugins.backend("cpu")
    assert isinstance(cpu, CpuBackend) and cpu.available and cpu.reason == ""
    assert cpu.owns(np.zeros(2)) and cpu.owns(np.float32(1))
    assert plugins.backend_of(1.0) is None and plugins.backend_of([1.0]) is None
    a = np.ones(3)
    assert cpu.from_host(a) is a and cpu.to_host(a) is a
    cpu.synchronize()


def test_plugin_registers_the_conv_kernels_for_ndarray() -> None:
    """Its rules hook gives conv4/pool/unpool and their backward functions ndarray methods."""
    record = plugins.load().plugins["cpu"]
    names = sorted(m.name for m in record.methods)
    assert names == sorted(
        ["conv4", "conv4_dw", "conv4_dx", "pool", "pool_dx", "unpool", "unpool_dx"]
    )
    assert all(m.types == (np.ndarray,) * len(m.types) for m in record.methods)
    assert conv4.resolve((np.ndarray, np.ndarray)) in record.methods


def test_kernels_run_without_the_hand_over() -> None:
    """Once loaded, a numpy call goes straight to the kernel (the declared method is skipped)."""
    plugins.load()
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    method = pool.resolve((np.ndarray,))
    assert method.origin == "rulegrad.backends.cpu"
    assert np.array_equal(method.impl(x), pool(x))


def test_random_is_seedable_and_keeps_dtype() -> None:
    """seed() makes draws repeat; each initializer returns the dtype asked for."""
    random.seed(3)
    a = random.randn(2, 3, dtype=np.float32)
    random.seed(3)
    assert np.array_equal(a, random.randn(2, 3, dtype=np.float32)) and a.dtype == np.float32
    for f in (random.rand, random.randn, random.gaussian, random.xavier):
        assert f(4, 5, dtype=np.float32).dtype == np.float32
    mask = random.bernoulli(1000, p=0.25)
    assert set(np.unique(mask)) <= {0.0, 1.0} and 0.15 < mask.mean() < 0.35
    w = random.xavier(20, 1, 5, 5)
    assert np.abs(w).max() <= np.sqrt(6 / (25 + 500))


def test_backend_random_module() -> None:
    """A backend offers its random module, so code can draw on the device it runs on."""
    assert plugins.backend("cpu").random is random
    w = rg.Param(plugins.backend("cpu").random.gaussian(3, 3, std=0.1))
    assert w.shape == (3, 3)
