"""conv4, pool and unpool as primitives: gradients (first and second order), dtypes, and the
hand-over from the declared method to the backend kernels."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
import rulegrad.plugins  # noqa: F401  (hands conv4 the backend loader, as `import rulegrad` will)
from rulegrad.core import NoRuleError
from rulegrad.rules.conv import (
    CONV,
    CONV_BACK,
    POOL,
    UNPOOL,
    UNPOOL_DX,
    conv4,
    conv4_dw,
    conv4_dx,
    pool,
    pool_dx,
    pool_jvp,
    unpool,
    unpool_dx,
)

RNG = np.random.default_rng(0)
CONV_CASES = [
    dict(),
    dict(padding=1, stride=2),
    dict(padding=(1, 0), dilation=2, mode=1),
    dict(stride=(1, 2), dilation=(2, 1), mode=1),
]
POOL_CASES = [
    dict(),
    dict(window=3, stride=2, padding=1),
    dict(window=3, stride=1, padding=1, mode=1),
    dict(window=(2, 3), stride=(1, 2), padding=(1, 1), mode=2),
    dict(window=2, stride=1, mode=0),  # overlapping max pooling
]


def distinct(shape: tuple) -> np.ndarray:
    """Values far enough apart that no finite-difference step changes a maximum."""
    return (RNG.permutation(int(np.prod(shape))).reshape(shape) - 40.0) / 10


@pytest.mark.parametrize("kw", CONV_CASES)
def test_conv4_gradients_to_second_order(kw: dict) -> None:
    """conv4's rules (conv4_dw, conv4_dx) and theirs pass the numeric check at order 2."""
    w, x = RNG.standard_normal((3, 2, 3, 2)), RNG.standard_normal((2, 2, 7, 6))
    assert rg.checkgrad(lambda w, x: conv4(w, x, **kw), w, x, order=2) < 1e-5


@pytest.mark.parametrize("kw", POOL_CASES)
def test_pool_gradients_to_second_order(kw: dict) -> None:
    """pool's rule (pool_dx) and pool_dx's (pool_jvp) pass the numeric check at order 2."""
    x = distinct((2, 2, 6, 5))
    u = RNG.standard_normal(pool(x, **kw).shape)
    assert rg.checkgrad(lambda x, u: pool(x, **kw) * u, x, u, order=2) < 1e-5


@pytest.mark.parametrize("kw", POOL_CASES[:4])
def test_unpool_gradients_to_second_order(kw: dict) -> None:
    """unpool and unpool_dx are each other's adjoints."""
    kw = {k: v for k, v in kw.items() if k != "mode"}
    x = RNG.standard_normal((2, 1, 3, 4))
    assert rg.checkgrad(lambda x: unpool(x, **kw) ** 2, x, order=2) < 1e-5


def test_pool_jvp_is_the_directional_derivative() -> None:
    """pool_jvp(x, y, v) matches (pool(x + t v) - pool(x)) / t for small t."""
    x, v = distinct((1, 2, 5, 5)), RNG.standard_normal((1, 2, 5, 5))
    kw = dict(window=3, stride=2, padding=1)
    t = 1e-6
    numeric = (pool(x + t * v, **kw) - pool(x, **kw)) / t
    assert np.allclose(pool_jvp(x, pool(x, **kw), v, **kw), numeric, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype: type) -> None:
    """float32 weights and images give float32 outputs and gradients."""
    w = rg.Param(RNG.standard_normal((4, 1, 5, 5)).astype(dtype))
    x = RNG.standard_normal((2, 1, 12, 12)).astype(dtype)
    J = rg.diff(lambda: np.sum(unpool(pool(np.tanh(conv4(w, x)), mode=1)) ** 2))
    assert rg.value(J).dtype == dtype and rg.grad(J, w).dtype == dtype


def test_lenet_layer_trains() -> None:
    """A conv4 + pool + dense model lowers its loss with plain gradient steps."""
    rng = np.random.default_rng(0)
    w1 = rg.Param(rng.standard_normal((4, 1, 3, 3)) * 0.3)
    w2 = rg.Param(rng.standard_normal((2, 4 * 3 * 3)) * 0.3)
    x = rng.standard_normal((8, 1, 8, 8))
    y = rng.standard_normal((2, 8))

    def loss() -> object:
        h = pool(np.maximum(conv4(w1, x), 0))
        return np.mean((w2 @ h.reshape(8, -1).T - y) ** 2)

    losses = []
    for _ in range(20):
        J = rg.diff(loss)
        losses.append(float(rg.value(J)))
        for p in (w1, w2):
            p.value -= 0.03 * rg.grad(J, p)
    assert losses[-1] < 0.2 * losses[0]


def test_samples_are_valid_inputs() -> None:
    """Every declared domain's sample runs through its primitive (the automatic checks)."""
    rng = np.random.default_rng(1)
    for prim, domain in [(conv4, CONV), (conv4_dw, CONV_BACK), (conv4_dx, CONV_BACK),
                         (pool, POOL), (unpool, UNPOOL), (unpool_dx, UNPOOL_DX)]:  # fmt: skip
        for _ in range(10):
            args, kw = domain.sample(rng)
            assert np.all(np.isfinite(prim(*args, **kw)))
    for _ in range(10):
        args, kw = pool_dx.methods[0].domain.sample(rng)
        assert pool_dx(*args, **kw).shape == args[0].shape


def test_unknown_array_types_get_a_clear_error() -> None:
    """With no backend for the argument types, the declared method says where kernels come from."""

    class Foreign:
        shape, dtype = (1, 1, 1, 1), np.dtype(float)

    with pytest.raises(NoRuleError, match="conv4 has no kernel for arguments.*backend plugins"):
        conv4(Foreign(), Foreign())


def test_nested_lists_are_numpy_arrays() -> None:
    """As numpy's functions do, conv4 and pool take nested lists."""
    assert conv4([[[[2.0]]]], [[[[1.0, 3.0]]]]).tolist() == [[[[2.0, 6.0]]]]
    assert pool([[[[1.0, 3.0], [2.0, 0.0]]]]).tolist() == [[[[3.0]]]]


def test_every_method_has_a_domain() -> None:
    """The declared and the CPU methods all carry a domain for `rulegrad check`."""
    for prim in (conv4, conv4_dw, conv4_dx, pool, pool_dx, pool_jvp, unpool, unpool_dx):
        assert prim.methods and all(m.domain is not None for m in prim.methods), prim
