"""Shape and indexing rules: reshaping, axes, joining, splitting, repeating, sort, pad, indexing."""

from __future__ import annotations

import numpy as np
import pytest
from ruletools import family_tests

import rulegrad as rg

rng = np.random.default_rng(4)
A = rng.standard_normal((3, 4))
T = rng.standard_normal((2, 3, 4))
V = rng.standard_normal(5)

CASES = {
    # reshaping
    "reshape": (lambda a: np.reshape(a, (2, 6)), A),
    "reshape_method": (lambda a: a.reshape(4, -1) * a.reshape((12, 1))[:4], A),
    "ravel": (lambda a: np.ravel(a) * a.flatten(), A),
    "reshape_order_F": (lambda a: np.reshape(a, (2, 6), order="F"), A),
    "reshape_order_F_positional": (lambda a: np.reshape(a, (6, 2), "F")[:, :1], A),
    "reshape_method_order_F": (lambda a: a.reshape((4, 3), order="F")[0], A),
    "reshape_order_A_fortran": (lambda a: np.reshape(a.T, (2, 6), order="A"), A),
    "ravel_order_F": (lambda a: np.ravel(a, order="F")[:5], T),
    "ravel_order_F_positional": (lambda a: np.ravel(a, "F")[3:], A),
    "ravel_order_A": (lambda a: np.ravel(a.T, "A")[:7] * np.ravel(a, "A")[:7], A),
    "ravel_order_K": (lambda a: np.ravel(a.transpose(2, 0, 1)[:, ::-1], order="K")[:9], T),
    "flatten_order_F": (lambda a: a.flatten("F")[:5] * a.flatten(order="f")[2:7], A),
    "flatten_order_K": (lambda a: a.T.flatten("K")[1:], A),
    "expand_dims": (lambda a: np.expand_dims(a, (0, -1)), A),
    "squeeze": (lambda a: np.squeeze(a[:, None], axis=1), A),
    "broadcast_to": (lambda a: np.broadcast_to(a[:, :1], (2, 3, 4)), A),
    "broadcast_arrays": (lambda a, b: np.broadcast_arrays(a, b)[1], A, A[:1]),
    "atleast_1d": (lambda a: np.atleast_1d(a[0, 0]), A),
    "atleast_2d": (lambda a: np.atleast_2d(a[0]), A),
    "atleast_3d": (lambda a: np.atleast_3d(a), A),
    "copy": (lambda a: np.copy(a) * a.copy(), A),
    "astype": (lambda a: a.astype(np.float64) * 2, A),
    # axes
    "transpose": (np.transpose, T),
    "transpose_axes": (lambda a: np.transpose(a, (1, 2, 0)), T),
    "transpose_method": (lambda a: a.transpose(2, 0, 1) * 1, T),
    "transpose_negative_axes": (lambda a: np.transpose(a, (-1, 0, 1)), T),
    "transpose_axes_keyword": (lambda a: np.transpose(a, axes=(1, -1, -3)), T),
    "transpose_method_negative": (lambda a: a.transpose(-1, 0, -2) * 1, T),
    "transpose_method_tuple": (lambda a: a.transpose((0, -1, 1)) * 1, T),
    "T": (lambda a: a.T @ a, A),
    "swapaxes": (lambda a: np.swapaxes(a, 0, -1), T),
    "moveaxis": (lambda a: np.moveaxis(a, 0, -1), T),
    "swapaxes_negative": (lambda a: np.swapaxes(a, -1, -3) * a.swapaxes(-3, 2), T),
    "moveaxes": (lambda a: np.moveaxis(a, (0, 1), (2, 0)), T),
    "moveaxis_negative": (lambda a: np.moveaxis(a, (-1, 0), (0, -2)), T),
    "rollaxis": (lambda a: np.rollaxis(a, 2, 1), T),
    # order
    "flip": (lambda a: np.flip(a, 1), A),
    "flip_all": (np.flip, T),
    "fliplr": (np.fliplr, A),
    "flipud": (np.flipud, A),
    "roll": (lambda a: np.roll(a, 2), A),
    "roll_axes": (lambda a: np.roll(a, (1, -2), axis=(0, 1)), A),
    "rot90": (np.rot90, A),
    "rot90_k": (lambda a: np.rot90(a, k=3, axes=(1, 2)), T),
    "sort": (np.sort, A),
    "sort_axis": (lambda a: np.sort(a, axis=0), A),
    "sort_flat": (lambda a: np.sort(a, axis=None), A),
    "partition": (lambda a: np.partition(a, 2, axis=1), A),
    # repetition
    "repeat": (lambda a: np.repeat(a, 3), A),
    "repeat_axis": (lambda a: np.repeat(a, 2, axis=-1), T),
    "repeat_counts": (lambda a: np.repeat(a, [2, 0, 1], axis=0), A),
    "tile": (lambda a: np.tile(a, 2), A),
    "tile_more_axes": (lambda a: np.tile(a, (2, 1, 3)), A),
    "tile_fewer_reps": (lambda a: np.tile(a, 2), T),
    # triangles and diagonals
    "triu": (np.triu, A),
    "tril_k": (lambda a: np.tril(a, -1), T),
    "diag_vector": (lambda v: np.diag(v, 1), V),
    "diag_matrix": (np.diag, A),
    "diag_matrix_offset": (lambda a: np.diag(a, -1), A),
    "diagflat": (lambda a: np.diagflat(a[:2]), A),
    "diagonal": (lambda a: np.diagonal(a, 1, 2, 0), T),
    # padding
    "pad": (lambda a: np.pad(a, ((1, 2), (0, 1))), A),
    "pad_constant_value": (lambda a: np.pad(a, 1, constant_values=3.0), A),
    "pad_edge": (lambda a: np.pad(a, 2, mode="edge"), A),
    "pad_reflect": (lambda a: np.pad(a, (1, 2), mode="reflect"), A),
    "pad_symmetric": (lambda a: np.pad(a, ((2, 0), (1, 3)), mode="symmetric"), A),
    "pad_wrap": (lambda a: np.pad(a, 3, mode="wrap"), A),
    # joining and splitting
    "concatenate": (lambda a, b: np.concatenate([a, b, a], axis=-1), A, A[:, :2]),
    "concatenate_flat": (lambda a, b: np.concatenate([a, b], axis=None), A, V),
    "stack": (lambda a, b: np.stack([a, b], axis=1), A, A * 2),
    "stack_scalars": (lambda a: np.stack([a[0, 0], a[1, 2] * 2, np.sum(a)]), A),
    "hstack": (lambda a, v: np.hstack([a[0], v]), A, V),
    "hstack_2d": (lambda a: np.hstack([a, a[:, :1]]), A),
    "vstack": (lambda a: np.vstack([a, a[0]]), A),
    "dstack": (lambda a: np.dstack([a, a]), A),
    "column_stack": (lambda a: np.column_stack([a[0], a[1]]), A),
    "append": (lambda a, v: np.append(a, v), A, V),
    "append_axis": (lambda a: np.append(a, a[:1], axis=0), A),
    "split": (lambda a: np.split(a, 2, axis=1)[1] * 2, A),
    "split_indices": (lambda a: np.split(a, [1, 3], axis=1)[2], A),
    "array_split": (lambda a: np.array_split(a, 3, axis=-1)[0], A),
    "hsplit": (lambda a: np.hsplit(a, 2)[0], A),
    "vsplit": (lambda a: np.vsplit(a, [1])[1], A),
    "dsplit": (lambda a: np.dsplit(a, 2)[1], T),
    "unstack": (lambda a: np.unstack(a, axis=1)[2], A),
    "iterate": (lambda a: sum(row * i for i, row in enumerate(a)), A),
    # differences and cleanup
    "diff": (np.diff, A),
    "diff_twice_axis0": (lambda a: np.diff(a, 2, axis=0), T),
    "diff_prepend_append": (lambda a: np.diff(a, prepend=0.5, append=a[:, :1]), A),
    "nan_to_num": (lambda a: np.nan_to_num(np.where(A > 1, np.inf, a), posinf=9.0), A),
    # indexing
    "int": (lambda a: a[1], A),
    "ints": (lambda a: a[1, -1], A),
    "slice_step": (lambda a: a[::2, 1::2], A),
    "negative_step": (lambda a: a[::-1, ::-2], A),
    "ellipsis_none": (lambda a: a[..., None, 1:], T),
    "int_array": (lambda a: a[[0, 2, 2, 1]], A),
    "int_arrays_repeated": (lambda a: a[[0, 0, 2], [1, 1, 3]], A),
    "int_array_and_slice": (lambda a: a[1:, [3, 0, 3]], A),
    "int_array_2d": (lambda a: a[np.array([[0, 1], [1, 0]])], V),
    "bool_mask": (lambda a: a[A > 0], A),
    "bool_mask_rows": (lambda a: a[np.array([True, False, True])], A),
    "take": (lambda a: np.take(a, [1, 1, 3], axis=1), A),
    "take_flat": (lambda a: np.take(a, [0, 11, 11]), A),
    "take_wrap": (lambda a: np.take(a, [-1, 5], axis=1, mode="wrap"), A),
    "take_along_axis": (lambda a: np.take_along_axis(a, np.array([[0, 0], [1, 3], [2, 2]]), 1), A),
}


# functions newer than the oldest supported numpy (2.0) are checked where they exist
for _name in ("unstack",):
    if not hasattr(np, _name):
        CASES.pop(_name)

test_gradient, test_float32 = family_tests(CASES)


def test_repeated_indices_accumulate() -> None:
    """An element picked several times gets the sum of its gradients."""
    g = rg.grad(lambda v: np.sum(v[[0, 0, 0, 2]] * np.array([1.0, 2.0, 3.0, 4.0])))(V)
    np.testing.assert_array_equal(g, [6.0, 0.0, 4.0, 0.0, 0.0])


def test_boolean_mask_gradient_is_the_mask() -> None:
    """x[mask] sends gradients to the selected elements only."""
    g = rg.grad(lambda a: np.sum(a[A > 0]))(A)
    np.testing.assert_array_equal(g, (A > 0).astype(float))


def test_stack_builds_arrays_from_scalars() -> None:
    """np.stack of 0-d tracked values is the recorded way to build an array from them."""
    x = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: np.sum(np.stack([x[0] * x[1], x[0] ** 2, 3.0]) * np.array([1.0, 1.0, 5.0])))
    assert rg.value(J) == 2.0 + 1.0 + 15.0
    np.testing.assert_array_equal(rg.grad(J, x), [2.0 + 2.0, 1.0])


def test_np_array_of_tracked_values_says_to_stack() -> None:
    """np.array([a, b]) of tracked values cannot be recorded; the error names np.stack."""
    x = rg.Param(np.array([1.0, 2.0]))
    with pytest.raises(rg.NoRuleError, match="np.stack"):
        rg.diff(lambda: np.array([x[0], x[1]]))


def test_split_pieces_each_get_their_gradient() -> None:
    """Gradients of the pieces of split land in their own columns."""
    g = rg.grad(lambda a: np.sum(np.split(a, 2, axis=1)[1] * 3))(A)
    np.testing.assert_array_equal(g, np.repeat([[0.0, 0.0, 3.0, 3.0]], 3, axis=0))


def test_split_unequal_raises_like_numpy() -> None:
    """np.split into unequal parts raises numpy's error for tracked values too."""
    with pytest.raises(ValueError, match="equal division"):
        rg.grad(lambda a: np.sum(np.split(a, 3, axis=1)[0]))(A)


def test_pad_modes_mixing_values_have_no_rule() -> None:
    """Pad modes whose outputs combine several inputs say so when differentiated."""
    with pytest.raises(rg.NoRuleError, match="linear_ramp"):
        rg.grad(lambda a: np.sum(np.pad(a, 1, mode="linear_ramp")))(A)


def test_astype_round_trip_keeps_the_input_dtype() -> None:
    """astype to float32 and back: the gradient has the Param's dtype (float64)."""
    g = rg.grad(lambda a: np.sum(a.astype(np.float32) * 2))(A)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, 2.0)


def test_untake_basic_index_is_exact() -> None:
    """untake with slices writes (no accumulation needed) and matches np.add.at."""
    from rulegrad.rules.shape import untake

    g = rng.standard_normal((2, 2))
    expected = np.zeros((3, 4))
    np.add.at(expected, (slice(1, 3), slice(None, None, 2)), g)
    np.testing.assert_array_equal(
        untake(g, np.zeros((3, 4)), (slice(1, 3), slice(None, None, 2))), expected
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_gradient_sums_repeated_rows(dtype: type) -> None:
    """An embedding's gradient (rows picked by an integer array, some several times, one
    from the end) is the per-row sum np.add.at gives, in the gradient's dtype: untake
    computes it with a one-hot product for small tables."""
    from rulegrad.rules.shape import _onehot_rows, untake

    table = np.zeros((6, 8), dtype)
    ids = np.array([[0, 5, 5, -1], [2, 0, 0, 1]])  # (time, batch), as a language model's
    g = rng.standard_normal((2, 4, 8)).astype(dtype)
    expected = np.zeros_like(table)
    np.add.at(expected, ids, g)
    assert _onehot_rows(g, table, ids) is not None  # the product path is taken
    got = untake(g, table, ids)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    w = rg.Param(rng.standard_normal((6, 8)).astype(dtype))
    J = rg.diff(lambda: np.sum(w[ids] * g))
    np.testing.assert_allclose(rg.grad(J, w), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "ravel",
    [
        lambda x: np.ravel(x, order="F"),
        lambda x: np.ravel(x, "F"),
        lambda x: x.flatten("F"),
        lambda x: x.reshape((12,), order="F"),
    ],
    ids=["keyword", "positional", "flatten", "reshape"],
)
def test_ravel_order_F_sends_gradients_down_columns(ravel) -> None:
    """Raveled with order='F', x is read column by column: the first three are column 0."""
    g = rg.grad(lambda x: np.sum(ravel(x)[:3]))(np.ones((3, 4)))
    expected = np.zeros((3, 4))
    expected[:, 0] = 1.0
    np.testing.assert_array_equal(g, expected)


AUTOGRAD_CASES = {
    "reshape_F": lambda m, a: m.reshape(a, (4, 3), order="F")[1:] * 2,
    "reshape_F_positional": lambda m, a: m.reshape(a, (6, 2), "F")[:, 1],
    "ravel_F": lambda m, a: m.ravel(a, order="F")[:5],
    "ravel_F_positional": lambda m, a: m.ravel(a, "F")[::2],
    "swapaxes_negative": lambda m, a: m.swapaxes(a, -1, 0),
    "moveaxis_negative": lambda m, a: m.moveaxis(a, -1, 0),
}


@pytest.mark.parametrize("f", list(AUTOGRAD_CASES.values()), ids=list(AUTOGRAD_CASES))
def test_order_and_negative_axes_match_autograd(f) -> None:
    """reshape/ravel with order='F' and axes counted from the end agree with HIPS autograd
    (whose own transpose rule fails on negative axes, so transpose is checked below)."""
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    local = np.random.default_rng(11)
    a = local.standard_normal((2, 3, 2))
    w = local.standard_normal(np.shape(f(np, a)))
    expected = autograd.grad(lambda x: anp.sum(f(anp, x) * w))(a)
    np.testing.assert_allclose(rg.grad(lambda x: np.sum(f(np, x) * w))(a), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "transpose",
    [
        lambda x: np.transpose(x, (-1, 0, 1)),
        lambda x: np.transpose(x, axes=(2, -3, 1)),
        lambda x: x.transpose(-1, 0, -2),
        lambda x: x.transpose(2, 0, 1),
    ],
    ids=["function", "keyword", "method_negative", "method_ints"],
)
def test_transpose_negative_axes_gradient(transpose) -> None:
    """Axes counted from the end: the gradient of sum(transpose(x) * c) is c transposed back."""
    c = rng.standard_normal((4, 2, 3))
    g = rg.grad(lambda x: np.sum(transpose(x) * c))(T)
    np.testing.assert_array_equal(g, np.transpose(c, (1, 2, 0)))


def test_reshape_order_K_is_refused_like_numpy() -> None:
    """reshape has no order 'K' (numpy raises for tracked values too); ravel does."""
    with pytest.raises(ValueError, match="'K'"):
        rg.grad(lambda a: np.sum(np.reshape(a, (12,), order="K")))(A)


OUT_CALLS = {
    "concatenate": lambda a, buf: np.concatenate([a, a], out=buf),
    "concatenate_positional": lambda a, buf: np.concatenate([a, a], 0, buf),
    "stack": lambda a, buf: np.stack([a, a], out=buf),
    "take": lambda a, buf: np.take(a, [0, 1], axis=0, out=buf),
}


@pytest.mark.parametrize("call", OUT_CALLS.values(), ids=OUT_CALLS.keys())
def test_out_buffer_of_tracked_values_is_refused(call) -> None:
    """out= with tracked values cannot be recorded: an InPlaceError saying to drop it, as
    for ufuncs, never an unwritten buffer."""
    buf = np.zeros(np.shape(call(A, None)))
    with pytest.raises(rg.InPlaceError, match="out="):
        rg.grad(lambda a: np.sum(call(a, buf)))(A)
    np.testing.assert_array_equal(buf, 0.0)


DTYPE_CALLS = {
    "concatenate": lambda a, d: np.concatenate([a, 2 * a], axis=1, dtype=d),
    "concatenate_flat": lambda a, d: np.concatenate([a, a], axis=None, dtype=d),
    "stack": lambda a, d: np.stack([a, a], axis=-1, dtype=d),
    "hstack": lambda a, d: np.hstack([a, a], dtype=d),
    "vstack": lambda a, d: np.vstack([a, a], dtype=d),
}


@pytest.mark.parametrize("call", DTYPE_CALLS.values(), ids=DTYPE_CALLS.keys())
def test_dtype_casts_the_result_and_the_gradient_back(call) -> None:
    """dtype= casts the joined result as numpy does; the gradient has the input's dtype."""
    out = rg.value(rg.diff(lambda: call(rg.Param(A), np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, call(A, np.float32))
    g = rg.grad(lambda a: np.sum(call(a, np.float32) * 3))(A)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, rg.grad(lambda a: np.sum(call(a, None) * 3))(A))
    with pytest.raises(TypeError, match="Cannot cast"):
        rg.grad(lambda a: np.sum(call(a, np.int64)))(A)
