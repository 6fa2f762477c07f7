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


def test_found_through_its_entry_point() -> None:
    """Loading plugins imports it from the 'rulegrad' group (as 'sparse'), crediting its methods."""
    record = plugins.load().plugins["sparse"]
    assert record.ok, record.error
    assert record.dist.startswith("rulegrad-scipy") or record.dist.startswith("rulegrad_scipy")
    assert len(record.methods) >= 10


def test_does_not_overlap_rulegrads_scipy_rules() -> None:
    """Both load: the example registers nothing rulegrad's own scipy plugin registers."""
    registry = plugins.load()
    ours, theirs = registry.plugins["scipy"], registry.plugins["sparse"]
    assert ours.ok and theirs.ok, (ours.error, theirs.error)
    assert not {id(m.primitive) for m in ours.methods} & {id(m.primitive) for m in theirs.methods}


def test_owens_t_gradients() -> None:
    """scipy.special.owens_t, the example's ufunc rule: both arguments, second order, float32."""
    import scipy.special

    h, a = np.array([-0.5, 0.3, 1.2]), np.array([0.4, -1.1, 2.0])
    assert rg.checkgrad(scipy.special.owens_t, h, a, order=2) < 1e-5
    w = rg.Param(a.astype(np.float32))
    assert rg.grad(rg.diff(lambda: np.sum(scipy.special.owens_t(h, w))), w).dtype == np.float32


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
