"""Per-type methods: numpy arrays, the example plugin's CSR matrices and a class of our own
each get their own method of the same numpy primitive, with their own gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import plum
import pytest

import rulegrad as rg
from rulegrad.core.primitive import PRIMITIVES


class NanArray(np.ndarray):
    """A user-defined array type whose sum skips NaNs (a numpy subclass)."""


def _nansum(x: NanArray, axis: Any = None, **kw: Any) -> Any:
    return np.nansum(x.view(np.ndarray), axis=axis)


@pytest.fixture(autouse=True)
def nan_sum() -> Any:
    """np.sum gets a NanArray method for these tests only."""
    prim = PRIMITIVES[np.sum]
    rg.primitive(
        lambda dy, y, x, **kw: np.where(np.isnan(x), 0.0, np.broadcast_to(dy, np.shape(x))),
        of=np.sum,
        domain=rg.Domain(args=("real",)),
    )(_nansum)
    yield
    prim._methods.pop(_nansum)  # primitives have no "unregister": rebuild np.sum's plum function
    prim._fn = plum.Function(prim.func)
    for m in prim._methods.values():
        prim._fn.register(m.impl, m.signature)
    prim._cache.clear()


@pytest.fixture
def csr(scipy_plugin: Any) -> Any:
    return scipy_plugin.sparse.random_csr(np.random.default_rng(0))


def test_each_type_resolves_to_its_own_method(csr: Any) -> None:
    """np.sum's method is chosen by the argument type: generic, CSR, or NanArray."""
    resolve = PRIMITIVES[np.sum].resolve
    assert resolve((np.ndarray,)).origin == "rulegrad.rules.reductions"
    assert resolve((type(csr),)).origin == "rulegrad_scipy.sparse"
    assert resolve((NanArray,)).origin == __name__


def test_sum_gradients_follow_the_type(csr: Any) -> None:
    """The same model code gets a dense, a sparse and a NaN-skipping gradient."""
    dense = rg.Param(np.array([[1.0, np.nan], [2.0, 3.0]]))
    nan = rg.Param(dense.value.view(NanArray))
    sparse = rg.Param(csr)
    g_dense = rg.grad(rg.diff(lambda: np.sum(dense)), dense)
    g_nan = rg.grad(rg.diff(lambda: np.sum(nan)), nan)
    g_sparse = rg.grad(rg.diff(lambda: np.sum(sparse)), sparse)
    assert np.array_equal(g_dense, np.ones((2, 2)))
    assert g_nan.tolist() == [[1.0, 0.0], [1.0, 1.0]]
    assert type(g_sparse) is type(csr) and g_sparse.nnz == csr.nnz
    assert np.array_equal(g_sparse.toarray(), (csr.toarray() != 0).astype(float))


def test_matmul_with_a_sparse_operand(csr: Any, scipy_plugin: Any) -> None:
    """A @ x with A sparse runs the CSR method: dense result, sparse and dense gradients."""
    A = rg.Param(csr)
    x = rg.Param(np.arange(6.0).reshape(3, 2))
    J = rg.diff(lambda: np.sum((A @ x) ** 2))
    dense = rg.grad(lambda a, b: np.sum((a @ b) ** 2), argnums=(0, 1))(csr.toarray(), x.value)
    assert np.allclose(rg.value(J), np.sum((csr.toarray() @ x.value) ** 2))
    assert np.allclose(rg.grad(J, A).toarray(), dense[0] * (csr.toarray() != 0))
    assert np.allclose(rg.grad(J, x), dense[1])


def test_sparse_values_gradient_matches_numeric(csr: Any, scipy_plugin: Any) -> None:
    """The gradient of the stored values passes the numeric check."""
    sp = scipy_plugin.sparse
    x = np.random.default_rng(1).standard_normal((3, 2))
    assert rg.checkgrad(lambda v, x: sp.matmul(sp.with_values(csr, v), x), sp.values(csr), x) < 1e-6
