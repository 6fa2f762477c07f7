"""Linear algebra rules: products, contractions, einsum, np.linalg's inverses and factorizations."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import family_tests

import rulegrad as rg

rng = np.random.default_rng(5)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 2))
V = rng.standard_normal(4)
T = rng.standard_normal((2, 3, 4))
S = rng.standard_normal((3, 3)) + 3 * np.eye(3)
SB = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
_b = rng.standard_normal((3, 3))
SPD = _b @ _b.T + 3 * np.eye(3)


def sym(a):
    """The symmetric part: cholesky and eigh read one triangle, so checks go through this."""
    return (a + np.swapaxes(a, -1, -2)) / 2


CASES = {
    # products
    "dot": (np.dot, A, B),
    "dot_vector": (np.dot, A, V),
    "dot_scalar": (lambda a: np.dot(a, 2.0), A),
    "dot_nd": (lambda a, t: np.dot(a, t), A[:, :3], T),
    "dot_method": (lambda a, b: a.dot(b), A, B),
    "inner": (np.inner, A, T),
    "inner_vectors": (np.inner, V, V[::-1]),
    "outer": (np.outer, A, V),
    "vdot": (np.vdot, A, A[::-1]),
    "vecdot": (lambda a, t: np.vecdot(a, t), A, T),
    "matvec": (lambda t, v: np.matvec(t, v), T, V),
    "vecmat": (lambda v, t: np.vecmat(v, t), V[:3], T),
    "kron": (np.kron, A[:2, :3], B),
    "kron_mixed_ndim": (np.kron, V[:2], A),
    "trace": (np.trace, S),
    "trace_offset_axes": (lambda t: np.trace(t, 1, 1, 2), T),
    "cross": (np.cross, A[:, :3], A[::-1, 1:]),
    "cross_axes": (lambda a, b: np.cross(a, b, axisa=0, axisb=0), A[:, :3], A[:, 1:]),
    # contractions
    "tensordot_int": (lambda a, t: np.tensordot(a, t, axes=1), A[:, :2], T),
    "tensordot_pairs": (
        lambda t, b: np.tensordot(t, b, axes=([2, 0], [0, 1])),
        T,
        rng.standard_normal((4, 2, 5)),
    ),
    "tensordot_zero": (lambda a, v: np.tensordot(a, v, axes=0), A, V),
    "tensordot_two": (lambda t, a: np.tensordot(t, a, axes=2), T, A),
    "einsum_matmul": (lambda a, b: np.einsum("ij,jk->ik", a, b), A, B),
    "einsum_implicit": (lambda a, b: np.einsum("ij,jk", a, b), A, B),
    "einsum_trace": (lambda s: np.einsum("ii", s), S),
    "einsum_diagonal": (lambda s: np.einsum("ii->i", s), S),
    "einsum_sum_only_here": (lambda a, v: np.einsum("ij,j->", a, v), A, V),
    "einsum_batched": (lambda t, b: np.einsum("bij,jk->bik", t, b), T, B),
    "einsum_ellipsis": (lambda t, b: np.einsum("...j,jk->...k", t, b), T, B),
    "einsum_broadcast_one": (lambda a, c: np.einsum("ij,ij->i", a, c), A, A[:, :1]),
    "einsum_three": (lambda a, b, v: np.einsum("ij,jk,j->ik", a, b, v), A, B, V),
    "einsum_outer_transpose": (lambda a, v: np.einsum("ij,k->kji", a, v), A, V),
    # inverses and determinants
    "inv": (np.linalg.inv, S),
    "inv_batched": (np.linalg.inv, SB),
    "det": (np.linalg.det, S),
    "det_batched": (np.linalg.det, SB),
    "slogdet": (lambda s: np.linalg.slogdet(s)[1], S),
    "slogdet_batched": (lambda s: np.linalg.slogdet(s).logabsdet, SB),
    "solve": (np.linalg.solve, S, A[:, :2]),
    "solve_vector": (np.linalg.solve, S, V[:3]),
    "solve_batched": (np.linalg.solve, SB, rng.standard_normal((2, 3, 2))),
    "solve_batched_vector": (np.linalg.solve, SB, V[:3]),
    "matrix_power": (lambda s: np.linalg.matrix_power(s, 5), S),
    "matrix_power_negative": (lambda s: np.linalg.matrix_power(s, -2), S),
    "pinv": (np.linalg.pinv, A),
    "pinv_tall": (np.linalg.pinv, A.T),
    "multi_dot": (lambda a, b, v: np.linalg.multi_dot([v[:3], a, b]), A, B, V),
    # factorizations
    "cholesky": (lambda a: np.linalg.cholesky(sym(a)), SPD),
    "cholesky_batched": (lambda a: np.linalg.cholesky(sym(a)), np.stack([SPD, SPD + np.eye(3)])),
    "cholesky_raw": (np.linalg.cholesky, SPD),
    "cholesky_upper": (lambda a: np.linalg.cholesky(a, upper=True), SPD),
    "eigh_values": (lambda a: np.linalg.eigh(a)[0], SPD),
    "eigh_vectors": (lambda a: np.linalg.eigh(a)[1] ** 2, SPD),
    "eigh_upper": (lambda a: np.linalg.eigh(a, "U").eigenvectors ** 2, SPD),
    "eigh_both_symmetrized": (
        lambda a: np.linalg.eigh(sym(a))[0][:, None] * np.linalg.eigh(sym(a))[1] ** 2,
        SPD,
    ),
    "eigvalsh": (np.linalg.eigvalsh, SPD),
    "svd_values": (lambda a: np.linalg.svd(a, compute_uv=False), A),
    "svd_u": (lambda a: np.linalg.svd(a, full_matrices=False)[0] ** 2, A),
    "svd_vh": (lambda a: np.linalg.svd(a, full_matrices=False).Vh ** 2, A),
    "svd_tall": (lambda a: np.linalg.svd(a.T, full_matrices=False)[0] ** 2, A),
    "svd_square_full": (lambda s: np.linalg.svd(s)[2] ** 2 * np.linalg.svd(s)[1], S),
    "svd_product": (
        lambda a: (lambda u, s, vh: (u * s) @ vh)(*np.linalg.svd(a, full_matrices=False)),
        A,
    ),
    # norms
    "norm": (np.linalg.norm, A),
    "norm_vector_axis": (lambda a: np.linalg.norm(a, axis=1), A),
    "norm_keepdims": (lambda a: np.linalg.norm(a, axis=0, keepdims=True), A),
    "norm_1": (lambda a: np.linalg.norm(a, 1, axis=-1), A),
    "norm_3": (lambda v: np.linalg.norm(v, 3), V),
    "norm_inf": (lambda v: np.linalg.norm(v, np.inf), V),
    "norm_fro": (lambda a: np.linalg.norm(a, "fro"), A),
    "norm_nuc": (lambda a: np.linalg.norm(a, "nuc"), A),
    "norm_2_matrix": (lambda a: np.linalg.norm(a, 2), A),
    "norm_minus_2_matrix": (lambda a: np.linalg.norm(a, -2), A),
    "norm_1_matrix": (lambda a: np.linalg.norm(a, 1), A),
    "norm_inf_matrix_axes": (lambda t: np.linalg.norm(t, np.inf, axis=(2, 1)), T),
    "vector_norm": (lambda t: np.linalg.vector_norm(t, axis=(0, 2)), T),
    "matrix_norm": (lambda t: np.linalg.matrix_norm(t, keepdims=True), T),
}


# functions newer than the oldest supported numpy (2.0) are checked where they exist
for _name in ("matvec", "vecmat"):
    if not hasattr(np, _name):
        CASES.pop(_name)

test_gradient, test_float32 = family_tests(CASES, rtol=2e-2)


def test_cholesky_gradient_lives_on_the_lower_triangle() -> None:
    """numpy's cholesky reads the lower triangle: the upper one gets no gradient, and
    symmetrizing the input gives autograd's symmetric gradient."""
    g = rg.grad(lambda a: np.sum(np.linalg.cholesky(a)))(SPD)
    np.testing.assert_array_equal(np.triu(g, 1), 0.0)
    gs = rg.grad(lambda a: np.sum(np.linalg.cholesky(sym(a))))(SPD)
    np.testing.assert_allclose(gs, gs.T)
    np.testing.assert_allclose(gs, sym(g))


def test_eigh_values_at_repeated_eigenvalues() -> None:
    """Eigenvalues alone have finite gradients even when repeated (the eigenvector term is
    skipped when its gradient is zero)."""
    g = rg.grad(lambda a: np.sum(np.linalg.eigvalsh(a) ** 2))(np.eye(3))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, 2 * np.eye(3))


def test_svd_full_matrices_of_non_square_has_no_rule() -> None:
    """svd(full_matrices=True) of a wide matrix: the extra vectors are arbitrary."""
    with pytest.raises(rg.NoRuleError, match="full_matrices=False"):
        rg.grad(lambda a: np.sum(np.linalg.svd(a)[0]))(A)


def test_einsum_sublist_form_has_no_rule() -> None:
    """The operand-list form of einsum says which form works."""
    with pytest.raises(rg.NoRuleError, match="subscripts"):
        rg.grad(lambda a: np.sum(np.einsum(a, [0, 1], [1])))(A)


def test_matmul_of_vectors_is_a_dot_product() -> None:
    """1-d @ 1-d is a scalar whose gradients are the other vector."""
    ga, gb = rg.grad(lambda a, b: a @ b, argnums=(0, 1))(V, V[::-1])
    np.testing.assert_array_equal(ga, V[::-1])
    np.testing.assert_array_equal(gb, V)
