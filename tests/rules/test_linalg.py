"""Linear algebra rules: products, contractions, einsum, np.linalg's inverses and factorizations."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import check_complex, family_tests

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


def _svd_product(a, hermitian=False):
    u, s, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    return (u * s[..., None, :]) @ vh


def _eig_matrix(block: list[list[float]]) -> np.ndarray:
    """A real 4 x 4 matrix Q D Q^-1 with separated eigenvalues: D has 1 and 4 on its
    diagonal around the 2 x 2 ``block`` (a complex pair when the block is a rotation)."""
    q = np.eye(4) + 0.3 * rng.standard_normal((4, 4))
    d = np.diag([1.0, 0.0, 0.0, 4.0])
    d[1:3, 1:3] = block
    return q @ d @ np.linalg.inv(q)


EIG = _eig_matrix([[2.5, 1.5], [-1.5, 2.5]])  # eigenvalues 1, 2.5 +- 1.5i, 4
EIGR = _eig_matrix([[2.0, 0.0], [0.0, 3.0]])  # eigenvalues 1, 2, 3, 4
EIGB = np.stack([EIG, EIGR])
T6 = np.reshape(rng.standard_normal((6, 6)) + 4 * np.eye(6), (2, 3, 6))


def parts(z):
    """A real function of every real and imaginary part of ``z``."""
    return np.real(z) + 2 * np.imag(z)


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
    "einsum_sublist": (lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), A, B),
    "einsum_sublist_implicit": (lambda a, b: np.einsum(a, [0, 1], b, [1, 2]), A, B),
    "einsum_sublist_ellipsis": (lambda t, b: np.einsum(t, [..., 1], b, [1, 2], [..., 2]), T, B),
    "einsum_sublist_diagonal": (lambda s: np.einsum(s, [0, 0], [0]), S),
    "einsum_optimize": (
        lambda a, b, v: np.einsum("ij,jk,j->ik", a, b, v, optimize="optimal"),
        A,
        B,
        V,
    ),
    "einsum_optimize_path": (
        lambda a, b, v: np.einsum("ij,jk,j->ik", a, b, v, optimize=["einsum_path", (0, 2), (0, 1)]),
        A,
        B,
        V,
    ),
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
    "multi_dot_four": (lambda a, b: np.linalg.multi_dot([a, b, b.T, a.T]), A, B),
    "matrix_power_batched": (lambda s: np.linalg.matrix_power(s, 3), SB),
    "matrix_power_batched_negative": (lambda s: np.linalg.matrix_power(s, -1), SB),
    "lstsq": (lambda a, b: np.linalg.lstsq(a, b)[0], A.T, B),
    "lstsq_vector": (lambda a, v: np.linalg.lstsq(a, v)[0], A.T, V),
    "lstsq_residuals": (lambda a, b: np.linalg.lstsq(a, b)[1], A.T, B),
    "lstsq_wide": (lambda a, b: np.linalg.lstsq(a, b)[0], A, A[:, :2]),
    "lstsq_singular_values": (lambda a: np.linalg.lstsq(a, V)[3], A.T),
    "cond": (np.linalg.cond, S),
    "cond_batched_minus_2": (lambda s: np.linalg.cond(s, -2), SB),
    "cond_1": (lambda s: np.linalg.cond(s, 1), SB),
    "cond_fro": (lambda s: np.linalg.cond(s, "fro"), S),
    "eigh_batched": (
        lambda a: np.linalg.eigh(sym(a))[1] ** 2,
        np.stack([SPD, SPD + np.diag([0, 1, 2])]),
    ),
    "svd_batched": (lambda t: _svd_product(t) + np.linalg.svd(t)[1][..., None], T),
    "pinv_batched": (np.linalg.pinv, T),
    "tensorinv": (lambda t: np.linalg.tensorinv(t, 1), np.reshape(T6, (6, 2, 3))),
    "tensorinv_two": (np.linalg.tensorinv, np.reshape(T6, (2, 3, 3, 2))),
    "tensorsolve": (np.linalg.tensorsolve, T6, A[:2, :3]),
    "tensorsolve_axes": (
        lambda t, b: np.linalg.tensorsolve(t, b, axes=(0,)),
        np.moveaxis(T6, 2, 0),
        A[:2, :3],
    ),
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
    "eig_values": (lambda a: parts(np.linalg.eig(a)[0]), EIG),
    "eig_vectors": (lambda a: parts(np.linalg.eig(a)[1]), EIG),  # numpy's gauge, raw entries
    # (real arrays from numpy < 2.5 when the eigenvalues are real; complex ones from 2.5 on)
    "eig_real": (
        lambda a: parts(np.linalg.eig(a).eigenvectors * np.linalg.eig(a).eigenvalues),
        EIGR,
    ),
    "eig_batched": (lambda a: parts(np.linalg.eig(a)[1] * np.linalg.eig(a)[0][..., None]), EIGB),
    "eigvals": (lambda a: parts(np.linalg.eigvals(a)), EIGB),
    "qr_tall": (lambda a: np.linalg.qr(a)[0] * np.linalg.qr(a)[1][0], A.T),
    "qr_square": (lambda s: np.linalg.qr(s).Q + np.linalg.qr(s).R, S),
    "qr_wide": (lambda a: np.linalg.qr(a)[0] @ np.linalg.qr(a)[1] ** 2, A),
    "qr_r": (lambda a: np.linalg.qr(a, mode="r"), A.T),
    "qr_r_wide": (lambda a: np.linalg.qr(a, mode="r"), A),
    "qr_complete_wide": (lambda a: np.linalg.qr(a, "complete")[0] * 2 + 1, A),
    "qr_complete_tall_r": (lambda a: np.linalg.qr(a, "complete")[1], A.T),
    "qr_batched": (lambda t: np.linalg.qr(t)[0] * np.linalg.qr(t)[1][..., :1, :1], T),
    "qr_batched_tall": (lambda t: np.linalg.qr(t)[0] ** 3, np.swapaxes(T, 1, 2)),
    "svd_values": (lambda a: np.linalg.svd(a, compute_uv=False), A),
    "svd_u": (lambda a: np.linalg.svd(a, full_matrices=False)[0] ** 2, A),
    "svd_vh": (lambda a: np.linalg.svd(a, full_matrices=False).Vh ** 2, A),
    "svd_tall": (lambda a: np.linalg.svd(a.T, full_matrices=False)[0] ** 2, A),
    "svd_square_full": (lambda s: np.linalg.svd(s)[2] ** 2 * np.linalg.svd(s)[1], S),
    "svd_product": (
        lambda a: (lambda u, s, vh: (u * s) @ vh)(*np.linalg.svd(a, full_matrices=False)),
        A,
    ),
    "svd_hermitian_values": (lambda a: np.linalg.svd(a, hermitian=True, compute_uv=False), SPD),
    "svd_hermitian_indefinite": (
        lambda a: np.linalg.svd(a, hermitian=True)[0] ** 2 * np.linalg.svd(a, hermitian=True)[1],
        SPD - 4 * np.eye(3),
    ),
    "svd_hermitian_product": (lambda s: _svd_product(s, hermitian=True), SPD - 4 * np.eye(3)),
    "pinv_hermitian": (lambda a: np.linalg.pinv(a, hermitian=True), SPD - 4 * np.eye(3)),
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


def test_einsum_sublist_form_matches_the_string_form() -> None:
    """The sublist form gives the string form's value and gradients, for every operand."""
    u = rng.standard_normal((3, 2))

    def loss(form):
        return lambda a, b: np.sum(u * form(a, b))

    sub = rg.grad(loss(lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2])), argnums=(0, 1))
    text = rg.grad(loss(lambda a, b: np.einsum("ij,jk->ik", a, b)), argnums=(0, 1))
    for g, h in zip(sub(A, B), text(A, B)):
        np.testing.assert_allclose(g, h, rtol=1e-12)
    out = rg.value(rg.diff(lambda a: np.einsum(a, [0, 1], [1]), rg.Param(A)))
    np.testing.assert_allclose(out, np.einsum(A, [0, 1], [1]))


def test_eig_vectors_are_numpys_gauge() -> None:
    """eig's eigenvectors are numpy's (unit norm, largest component real) and the gradient
    of a raw entry (not invariant under a phase) matches central differences."""
    _, v = rg.value(rg.vjp(np.linalg.eig, EIG)[0])
    np.testing.assert_allclose(np.linalg.norm(v, axis=0), 1.0)
    big = np.abs(v).argmax(axis=0)
    np.testing.assert_allclose(np.imag(v[big, range(4)]), 0.0, atol=1e-12)
    k = np.flatnonzero(np.abs(np.imag(np.linalg.eig(EIG)[0])) > 0)[0]
    entry = (int(big[k]) + 1) % 4
    rg.checkgrad(lambda a: np.imag(np.linalg.eig(a)[1][entry, k]), EIG)


def test_eig_values_at_repeated_eigenvalues() -> None:
    """eigvals alone have finite gradients at repeated eigenvalues (the vectors' terms are
    skipped): d tr(A) / dA is the identity."""
    g = rg.grad(lambda a: np.real(np.sum(np.linalg.eigvals(a))))(np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [lambda a: np.linalg.qr(a, "complete")[0], lambda a: np.linalg.qr(a, "raw")[0]],
    ids=["complete_tall_q", "raw"],
)
def test_qr_without_a_gradient_says_which_mode_works(call) -> None:
    """qr(mode="complete") of a tall matrix with its arbitrary columns of Q used, and
    mode="raw", have no rule: the error names mode reduced."""
    with pytest.raises(rg.NoRuleError, match="reduced"):
        rg.grad(lambda a: np.sum(call(a)))(A.T)


def test_lstsq_returns_numpys_outputs() -> None:
    """lstsq of tracked values: numpy's x, residuals, rank (a plain int) and singular
    values, for vector and matrix right-hand sides, tall and wide."""
    for a, b in [(A.T, V), (A.T, B), (A, A[:, :2])]:
        ours = rg.vjp(lambda a_, b_=b: np.linalg.lstsq(a_, b_), a)[0]
        want = np.linalg.lstsq(a, b)
        assert isinstance(ours[2], int) and ours[2] == want[2]
        for x, y in zip(rg.value(ours[:2]) + (rg.value(ours[3]),), want[:2] + (want[3],)):
            assert np.shape(x) == np.shape(y)
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def test_matrix_rank_has_no_gradient() -> None:
    """matrix_rank of a tracked matrix is a constant integer: d(rank * sum(a)) = rank."""
    g = rg.grad(lambda a: np.linalg.matrix_rank(a) * np.sum(a))(S)
    np.testing.assert_array_equal(g, np.full((3, 3), 3.0))


def test_tensor_inverses_are_numpys() -> None:
    """tensorinv and tensorsolve (with axes=) of tracked values have numpy's values."""
    t = np.reshape(T6, (6, 2, 3))
    out = rg.value(rg.diff(lambda a: np.linalg.tensorinv(a, 1), rg.Param(t)))
    np.testing.assert_allclose(out, np.linalg.tensorinv(t, 1))
    moved = np.moveaxis(T6, 2, 0)
    out = rg.value(rg.diff(lambda a: np.linalg.tensorsolve(a, A[:2, :3], (0,)), rg.Param(moved)))
    np.testing.assert_allclose(out, np.linalg.tensorsolve(moved, A[:2, :3], (0,)))


def test_matmul_of_vectors_is_a_dot_product() -> None:
    """1-d @ 1-d is a scalar whose gradients are the other vector."""
    ga, gb = rg.grad(lambda a, b: a @ b, argnums=(0, 1))(V, V[::-1])
    np.testing.assert_array_equal(ga, V[::-1])
    np.testing.assert_array_equal(gb, V)


# ---- complex inputs: every rule against central differences along real and imaginary
# directions (check_complex: dL = Re(sum(g * v)) with g = dL/dx - i dL/dy) ----
def _c(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def herm(a):
    """The Hermitian part: complex cholesky and eigh read one triangle (and the real diagonal)."""
    return (a + np.conj(np.swapaxes(a, -1, -2))) / 2


ZA, ZT, ZV = _c(3, 4), _c(2, 3, 4), _c(4)
ZS = _c(3, 3) + 3 * np.eye(3)
ZSB = _c(2, 3, 3) + 3 * np.eye(3)
_zb = _c(3, 3)
HPD = _zb @ _zb.conj().T + 3 * np.eye(3)
HPDB = np.stack([HPD, HPD + np.eye(3)])


COMPLEX = {
    "inv": (np.linalg.inv, ZS),
    "inv_batched": (np.linalg.inv, ZSB),
    "det": (np.linalg.det, ZS),
    "det_batched": (np.linalg.det, ZSB),
    "slogdet_logabsdet": (lambda s: np.linalg.slogdet(s)[1], ZSB),
    "slogdet_sign": (lambda s: np.linalg.slogdet(s)[0], ZS),
    "slogdet_sign_batched": (lambda s: np.linalg.slogdet(s).sign, ZSB),
    "solve_a": (lambda s: np.linalg.solve(s, ZA[:, :2]), ZS),
    "solve_b": (lambda b: np.linalg.solve(ZS, b), ZA[:, :2]),
    "solve_vector": (lambda b: np.linalg.solve(ZSB, b), ZV[:3]),
    "solve_batched_a": (lambda s: np.linalg.solve(s, ZV[:3]), ZSB),
    "pinv": (np.linalg.pinv, ZA),
    "pinv_tall": (np.linalg.pinv, ZA.T.copy()),
    "pinv_batched": (np.linalg.pinv, ZT),
    "cholesky": (lambda a: np.linalg.cholesky(herm(a)), HPD),
    "cholesky_batched": (lambda a: np.linalg.cholesky(herm(a)), HPDB),
    "cholesky_raw": (np.linalg.cholesky, HPD),
    "cholesky_upper": (lambda a: np.linalg.cholesky(a, upper=True), HPDB),
    "eigh_values": (lambda a: np.linalg.eigh(a)[0], HPDB),
    "eigh_vectors": (lambda a: np.abs(np.linalg.eigh(herm(a))[1]) ** 2, HPDB),
    "eigh_upper": (lambda a: np.abs(np.linalg.eigh(a, "U")[1]) ** 2, HPD),
    "eigvalsh": (np.linalg.eigvalsh, HPD),
    "svd_values": (lambda a: np.linalg.svd(a, compute_uv=False), ZT),
    "svd_values_with_vectors": (lambda a: np.linalg.svd(a)[1], ZT),
    "svd_u": (lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[0]) ** 2, ZT),
    "svd_vh": (lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[2]) ** 2, ZT),
    "svd_tall": (lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[0]) ** 2, ZA.T.copy()),
    "svd_product": (_svd_product, ZT),
    "svd_product_tall": (_svd_product, ZA.T.copy()),
    "svd_hermitian_values": (lambda a: np.linalg.svd(a, hermitian=True)[1], HPD - 4 * np.eye(3)),
    "svd_hermitian_vectors": (
        lambda a: np.abs(np.linalg.svd(a, hermitian=True)[0]) ** 2,
        HPD - 4 * np.eye(3),
    ),
    "svd_hermitian_product": (lambda a: _svd_product(a, hermitian=True), HPDB - 4 * np.eye(3)),
    "pinv_hermitian": (lambda a: np.linalg.pinv(a, hermitian=True), HPDB - 4 * np.eye(3)),
    "norm": (np.linalg.norm, ZA),
    "norm_nuc": (lambda a: np.linalg.norm(a, "nuc"), ZA),
    "norm_2_matrix": (lambda a: np.linalg.norm(a, 2), ZA),
    "norm_1_matrix": (lambda a: np.linalg.norm(a, 1), ZA),
    "norm_3": (lambda a: np.linalg.norm(a, 3, axis=1), ZA),
    "matrix_norm": (lambda t: np.linalg.matrix_norm(t, ord="nuc"), ZT),
    "matrix_power": (lambda s: np.linalg.matrix_power(s, 3), ZSB),
    "matrix_power_negative": (lambda s: np.linalg.matrix_power(s, -2), ZS),
    "multi_dot": (lambda a: np.linalg.multi_dot([a, a.T, a]), ZA),
    "trace": (np.trace, ZS),
    "dot": (lambda a: np.dot(a, ZA.T), ZA),
    "vdot": (lambda a: np.vdot(a, ZA), ZA),
    "vdot_second": (lambda a: np.vdot(ZA, a), ZA),
    "inner": (lambda a: np.inner(a, ZT), ZA),
    "outer": (lambda v: np.outer(v, ZA), ZV),
    "kron": (lambda s: np.kron(s, ZA), ZS),
    "tensordot": (lambda t: np.tensordot(t, ZA, 2), ZT),
    "einsum": (lambda a: np.einsum("ij,bkj->bik", a, ZT), ZA),
    "vecdot": (lambda a: np.vecdot(a, ZT), ZA),
    "vecdot_second": (lambda t: np.vecdot(ZA, t), ZT),
    "cross": (lambda a: np.cross(a, ZA[:, :3]), ZA[:, 1:].copy()),
    "eig_values": (lambda a: np.linalg.eig(a)[0], ZS),
    "eig_vectors": (lambda a: np.linalg.eig(a)[1], ZSB),  # numpy's gauge, raw entries
    "eigvals": (np.linalg.eigvals, ZSB),
    "qr_tall": (lambda a: np.linalg.qr(a)[0] * np.linalg.qr(a)[1][0], ZA.T.copy()),
    "qr_wide": (lambda a: np.linalg.qr(a)[0] @ np.linalg.qr(a)[1], ZA),
    "qr_batched": (lambda t: np.linalg.qr(t).Q * np.linalg.qr(t).R[..., :1, :1], ZT),
    "qr_r": (lambda a: np.linalg.qr(a, "r"), ZA.T.copy()),
    "qr_complete": (lambda a: np.linalg.qr(a, "complete")[0], ZA),
    "lstsq": (lambda a: np.linalg.lstsq(a, ZA.T[:, :2])[0], ZA.T.copy()),
    "lstsq_b": (lambda b: np.linalg.lstsq(ZA.T, b)[0], ZV),
    "lstsq_residuals": (lambda a: np.linalg.lstsq(a, ZV)[1], ZA.T.copy()),
    "tensorinv": (
        lambda t: np.linalg.tensorinv(np.reshape(t, (3, 3, 3, 3))),
        _c(9, 9) + 4 * np.eye(9),
    ),
    "tensorsolve": (
        lambda t: np.linalg.tensorsolve(np.reshape(t, (2, 3, 6)), ZA[:2, :3]),
        _c(6, 6) + 4 * np.eye(6),
    ),
    "einsum_sublist": (lambda a: np.einsum(a, [0, 1], ZT, [2, 3, 1], [2, 0, 3]), ZA),
    "cond": (np.linalg.cond, ZSB),
    "cond_inf": (lambda s: np.linalg.cond(s, np.inf), ZS),
}


@pytest.mark.parametrize(("f", "z"), [pytest.param(f, z, id=k) for k, (f, z) in COMPLEX.items()])
def test_complex_gradient(f, z) -> None:
    """Complex (and stacked complex) inputs: the gradient matches central differences
    along random complex directions, in autograd's convention."""
    check_complex(f, z, tol=1e-5)


def test_pinv_of_complex_matrix_is_numpys() -> None:
    """pinv of a tracked complex matrix has numpy's value (V diag(1/s) U^H, conjugated)."""
    for a in (ZA, ZA.T, ZT):
        out = rg.value(rg.diff(lambda a: np.linalg.pinv(a), rg.Param(a)))
        np.testing.assert_allclose(out, np.linalg.pinv(a), atol=1e-12)


@pytest.mark.parametrize(
    "a",
    [np.zeros((2, 2)), np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]]), np.ones((3, 2))],
    ids=["zero", "wide_rank_deficient", "tall_repeated_zeros"],
)
def test_svd_values_alone_at_zero_singular_values(a) -> None:
    """Only s used: the gradient is U diag(ds) V^T, finite at zero or repeated singular
    values, as with compute_uv=False (no 1/s or 1/(s_i^2 - s_j^2) term)."""
    want = rg.grad(lambda a: np.sum(np.linalg.svd(a, compute_uv=False) * [1.0, 2.0]))(a)
    for full in (True, False):
        g = rg.grad(lambda a, f=full: np.sum(np.linalg.svd(a, full_matrices=f)[1] * [1.0, 2.0]))(a)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, want, atol=1e-12)


OUT_CALLS = {
    "dot": lambda a, buf: np.dot(a, a.T, buf),
    "outer": lambda a, buf: np.outer(a[0], a[1], out=buf),
    "trace": lambda a, buf: np.trace(a, out=buf),
    "multi_dot": lambda a, buf: np.linalg.multi_dot([a, a.T, a], out=buf),
    "einsum": lambda a, buf: np.einsum("ij,kj->ik", a, a, out=buf),
    "einsum_sublist": lambda a, buf: np.einsum(a, [0, 1], a, [2, 1], [0, 2], out=buf),
}


@pytest.mark.parametrize("call", OUT_CALLS.values(), ids=OUT_CALLS.keys())
def test_out_buffer_of_tracked_values_is_refused(call) -> None:
    """out= with tracked values cannot be recorded: an InPlaceError saying to drop it, as
    for ufuncs, never an unwritten buffer."""
    buf = np.zeros(np.shape(call(A, None)))
    with pytest.raises(rg.InPlaceError, match="out="):
        rg.grad(lambda a: np.sum(call(a, buf)))(A)
    np.testing.assert_array_equal(buf, 0.0)


def test_trace_dtype_casts_and_the_gradient_keeps_the_input_dtype() -> None:
    """trace(dtype=float32) of float64 is float32; the gradient stays float64."""
    out = rg.value(rg.diff(lambda: np.trace(rg.Param(S), dtype=np.float32)))
    assert out.dtype == np.float32
    g = rg.grad(lambda s: np.trace(s, dtype=np.float32))(S)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, np.eye(3))
