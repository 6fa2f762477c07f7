"""Every rule on cupy arrays gives the numpy gradient; models train alike on both backends.

Prints the step times of the MLP and LeNet on both backends (run with -s to see them).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from devices import NEEDS_DEVICE_METHOD, cupy, survey  # noqa: F401  (fixture)

import rulegrad as rg
from rulegrad.rules.conv import conv4, pool
from rulegrad.transfer import to

pytestmark = pytest.mark.gpu

#: Generic rules that run on numpy-like device arrays but whose functions cupy lacks.
CUPY_LACKS: dict[str, str] = {}


def test_every_rule_gives_the_numpy_gradient(cupy) -> None:  # noqa: F811
    """All primitives with a domain: gradients on cupy equal those on numpy."""
    dev = lambda a: cupy.asarray(a) if isinstance(a, np.ndarray) else a  # noqa: E731
    back = lambda a: cupy.asnumpy(a) if isinstance(a, cupy.ndarray) else a  # noqa: E731
    failures, checked = survey(dev, back)
    allowed = set(CUPY_LACKS) | {k for k, v in NEEDS_DEVICE_METHOD.items() if "host" in v}
    assert len(checked) > 20
    assert set(failures) <= allowed, failures


def _mlp(x, y):
    rng = np.random.default_rng(0)
    sizes = [(64, 784), (64, 1), (10, 64), (10, 1)]
    model = [rg.Param(rng.standard_normal(s) * 0.05 * (s[1] > 1)) for s in sizes]

    def loss():
        h = np.maximum(model[0] @ x + model[1], 0)
        z = model[2] @ h + model[3]
        z = z - np.max(z, axis=0, keepdims=True)
        return -np.mean(np.sum(y * (z - np.log(np.sum(np.exp(z), axis=0, keepdims=True))), axis=0))

    return model, loss


def _lenet(x, y):
    rng = np.random.default_rng(0)
    model = [rg.Param(rng.standard_normal((20, 1, 5, 5)) * 0.1),
             rg.Param(rng.standard_normal((10, 20 * 12 * 12)) * 0.01)]  # fmt: skip

    def loss():
        h = pool(np.maximum(conv4(model[0], x), 0))
        z = model[1] @ h.reshape(x.shape[0], -1).T
        z = z - np.max(z, axis=0, keepdims=True)
        return -np.mean(np.sum(y * (z - np.log(np.sum(np.exp(z), axis=0, keepdims=True))), axis=0))

    return model, loss


def _train(model, loss, steps, sync):
    losses, start = [], None
    for i in range(steps):
        if i == 1:
            sync()
            start = time.perf_counter()
        J = rg.diff(loss)
        losses.append(float(rg.value(J)))
        for p in model:
            p.value -= 0.1 * rg.grad(J, p)
    sync()
    return losses, (time.perf_counter() - start) / (steps - 1)


@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_training_steps_match_on_both_backends(cupy, name) -> None:  # noqa: F811
    """The same model code gives the same losses on numpy and cupy (float64)."""
    rng = np.random.default_rng(1)
    if name == "mlp":
        x, y = rng.standard_normal((784, 100)), np.eye(10)[:, rng.integers(0, 10, 100)]
        make = _mlp
    else:
        x, y = rng.standard_normal((100, 1, 28, 28)), np.eye(10)[:, rng.integers(0, 10, 100)]
        make = _lenet
    cpu_model, cpu_loss = make(x, y)
    cpu_losses, cpu_time = _train(cpu_model, cpu_loss, 5, lambda: None)
    gx, gy = to((x, y), "gpu")
    gpu_model, gpu_loss = make(gx, gy)
    to(gpu_model, "gpu")
    gpu = rg.plugins.backend("gpu")
    gpu_losses, gpu_time = _train(gpu_model, gpu_loss, 5, gpu.synchronize)
    print(f"\n{name}: step {cpu_time * 1e3:.2f} ms on cpu, {gpu_time * 1e3:.2f} ms on gpu")
    assert np.allclose(gpu_losses, cpu_losses, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_fused_activations_keep_nan_inf_and_dtype(cupy, dtype) -> None:  # noqa: F811
    """The fused cupy methods give what the generic ones give, NaN and infinities included."""
    from rulegrad.backends.gpu import fused
    from rulegrad.rules.nn import relu, sigm

    x0 = np.array([-2.0, -0.0, 0.0, 1.5, np.nan, np.inf, -np.inf], dtype=dtype)
    dy0 = np.array([1.0, -3.0, np.inf, np.nan, 2.0, -1.0, np.inf], dtype=dtype)
    x, dy = cupy.asarray(x0), cupy.asarray(dy0)
    rtol = 2e-3 if dtype == np.float16 else 1e-5
    with np.errstate(all="ignore"):
        for f in (relu, sigm, np.tanh):
            got, want = f(x), f(x0)
            assert got.dtype == want.dtype
            assert np.allclose(cupy.asnumpy(got), want, rtol=rtol, equal_nan=True)
        for back in (fused.relu_back, fused.sigm_back, fused.tanh_back):
            y0 = np.tanh(x0)
            got, want = back(dy, cupy.asarray(y0)), back.methods[0].impl(dy0, y0)
            assert got.dtype == want.dtype
            assert np.allclose(cupy.asnumpy(got), want, rtol=rtol, equal_nan=True)
    assert relu(cupy.arange(-2, 3)).dtype == np.maximum(np.arange(-2, 3), 0).dtype
    assert sigm(cupy.arange(3)).dtype == np.float64
