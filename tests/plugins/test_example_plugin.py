"""The example plugin examples/plugins/rulegrad-scipy, as installed by pip (as CI does)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import plugins
from rulegrad.testing import gradient_tests, signature_tests

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("rulegrad_scipy") is None,
    reason="rulegrad-scipy is not installed (pip install ./examples/plugins/rulegrad-scipy)",
)

X = np.array([0.3, 0.55, 0.8])  # inside every domain, (0, 1) included
UNARY = ["gamma", "gammaln", "digamma", "erf", "erfc", "erfcx", "erfinv", "expit", "log_expit",
         "logit", "ndtr", "log_ndtr", "ndtri", "i0", "i1", "entr"]  # fmt: skip


def test_found_through_its_entry_point() -> None:
    """Loading plugins imports it from the 'rulegrad' group and credits its methods."""
    record = plugins.load().plugins["scipy"]
    assert record.ok, record.error
    assert record.dist.startswith("rulegrad-scipy") or record.dist.startswith("rulegrad_scipy")
    assert len(record.methods) >= 20


@pytest.mark.parametrize("name", UNARY)
def test_special_gradients(name: str) -> None:
    """Each scipy.special rule passes the numeric check, first and second order."""
    import scipy.special

    f = getattr(scipy.special, name)
    assert rg.checkgrad(f, X, order=2) < 1e-4


@pytest.mark.parametrize("name", ["xlogy", "xlog1py", "betaln"])
def test_special_binary_gradients(name: str) -> None:
    """Binary scipy.special rules, both arguments, second order."""
    import scipy.special

    assert rg.checkgrad(getattr(scipy.special, name), X, X[::-1] + 0.5, order=2) < 1e-4


def test_special_keeps_float32() -> None:
    """A float32 argument gets a float32 gradient, through digamma and polygamma too."""
    import scipy.special

    w = rg.Param(X.astype(np.float32))
    g = rg.grad(rg.diff(lambda: np.sum(scipy.special.gammaln(w) * scipy.special.digamma(w))), w)
    assert g.dtype == np.float32


def test_sparse_gradients() -> None:
    """CSR products and sums: gradients of the stored values and of the dense side."""
    from rulegrad_scipy import sparse as sp

    rng = np.random.default_rng(0)
    A, x, y = sp.random_csr(rng), rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    v, D = sp.values(A), rng.standard_normal((1, 3))
    assert rg.checkgrad(lambda v, x: sp.matmul(sp.with_values(A, v), x), v, x) < 1e-6
    assert rg.checkgrad(lambda v, y: sp.matmul(y, sp.with_values(A, v)), v, y) < 1e-6
    assert rg.checkgrad(lambda v, D: sp.todense(sp.multiply(sp.with_values(A, v), D)), v, D) < 1e-6
    for axis in (None, 0, 1):
        assert rg.checkgrad(lambda v, a=axis: sp.sum(sp.with_values(A, v), axis=a) ** 2, v) < 1e-6


def test_sparse_arguments_directly() -> None:
    """checkgrad perturbs a CSR argument's stored values (its declared vector space), and
    its gradient is a CSR matrix with the argument's pattern."""
    from rulegrad_scipy import sparse as sp

    rng = np.random.default_rng(1)
    A, x = sp.random_csr(rng), rng.standard_normal((3, 2))
    assert rg.checkgrad(lambda A, x: sp.matmul(A, x), A, x, order=2) < 1e-6
    assert rg.checkgrad(lambda A: sp.sum(sp.multiply(A, A), axis=0), A, order=2) < 1e-6
    P = rg.Param(A)
    g = rg.grad(rg.diff(lambda: np.sum(sp.matmul(P, x) ** 2)), P)
    assert type(g) is type(A) and np.array_equal(g.indices, A.indices)


def test_unused_sparse_argument_has_a_zero_sparse_gradient() -> None:
    """The gradient of a CSR argument the function never uses is a CSR matrix of zeros with
    its pattern (the plugin's method of np.zeros_like), as a used one's would be."""
    from rulegrad_scipy import sparse as sp

    A = sp.random_csr(np.random.default_rng(2))
    gx, gA = rg.grad(lambda x, A: np.sum(x * 2.0), argnums=(0, 1))(np.ones(3), A)
    np.testing.assert_array_equal(gx, [2.0, 2.0, 2.0])
    assert type(gA) is type(A) and gA.shape == A.shape
    assert np.array_equal(gA.indices, A.indices) and not gA.data.any()


# CI installs the example plugin, so these run there: the generated gradient checks of
# every method it registers (the sparse ones through the CSR vector space it declares),
# and its signatures against rulegrad's. Without it they are skipped (see pytestmark).
test_generated_checks = gradient_tests("rulegrad_scipy")
test_generated_signatures = signature_tests("rulegrad_scipy")
