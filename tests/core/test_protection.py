"""Write protection: every array a tape needs for the backward pass is read-only until then.

Each test writes into such an array between the forward pass and the gradient and checks
that the write is refused (numpy's read-only error) and the gradient is still right, then
that the array is writeable again once the tape is done with it.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.core.tape import _LOCKS


def _refused(a: np.ndarray, index: object, v: object) -> None:
    """``a[index] = v`` raises numpy's read-only error."""
    with pytest.raises(ValueError, match="read-only"):
        a[index] = v


def test_the_inputs_and_outputs_of_vjp_are_protected_while_the_pullback_lives() -> None:
    """rg.vjp's pullback reads its inputs and outputs again: they stay read-only until it goes."""
    x = np.array([1.0, 2.0])
    out, back = rg.vjp(lambda a: np.sum(a * a), x)
    _refused(x, 0, 5.0)
    np.testing.assert_array_equal(back(1.0)[0], [2.0, 4.0])
    np.testing.assert_array_equal(back(1.0)[0], [2.0, 4.0])  # (it may be called again)
    x2 = np.array([1.0, 2.0])
    y, back = rg.vjp(np.exp, x2)
    _refused(y, 0, 0.0)  # exp's rule reads its output
    np.testing.assert_allclose(back(np.ones(2))[0], np.exp([1.0, 2.0]))
    del out, y, back
    gc.collect()
    x[0] = x2[0] = 5.0  # writeable again once the pullback is dropped


def test_grad_of_a_function_leaves_its_arguments_writeable() -> None:
    """rg.grad(f) protects its arguments only while it runs."""
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(rg.grad(lambda a: np.sum(a * a))(x), [2.0, 4.0])
    x[0] = 3.0
    assert id(x) not in _LOCKS


def test_index_arrays_inside_a_tuple_index_are_protected() -> None:
    """W[idx, :]'s rule scatters into the rows idx names: idx stays as it was recorded."""
    w = rg.Param(np.arange(6.0).reshape(3, 2))
    idx = np.array([0, 2])
    J = rg.diff(lambda: np.sum(w[idx, :] ** 2))
    _refused(idx, 0, 1)
    np.testing.assert_array_equal(rg.grad(J, w), [[0.0, 2.0], [0.0, 0.0], [8.0, 10.0]])
    idx[0] = 1  # released with the tape


@pytest.mark.parametrize("index", ["list", "list in tuple", "nested tuple"])
def test_python_lists_in_an_index_are_copied(index) -> None:
    """A list cannot be made read-only: the tape keeps a copy, so changing it later is safe."""
    w = rg.Param(np.arange(6.0).reshape(3, 2))
    rows = [0, 2]
    make = {
        "list": lambda: w[rows],
        "list in tuple": lambda: w[rows, :],
        "nested tuple": lambda: w[(rows, [1, 1])],
    }[index]
    J = rg.diff(lambda: np.sum(make() ** 2))
    rows[0] = 1
    rows.append(1)
    want = np.zeros((3, 2))
    if index == "nested tuple":
        want[[0, 2], 1] = [2.0, 10.0]
    else:
        want[[0, 2]] = [[0.0, 2.0], [8.0, 10.0]]
    np.testing.assert_array_equal(rg.grad(J, w), want)


def test_keyword_arrays_are_protected() -> None:
    """A mask passed as where= is read by the rule: it stays as it was recorded."""
    w = rg.Param(np.array([1.0, -2.0, 3.0]))
    mask = np.array([True, False, True])
    J = rg.diff(lambda: np.sum(w * w, where=mask))
    _refused(mask, 1, True)
    np.testing.assert_array_equal(rg.grad(J, w), [2.0, 0.0, 6.0])
    mask[1] = True


def test_an_out_buffer_is_protected() -> None:
    """np.max(w, out=buf): buf holds the output the rule compares against until the walk."""
    w = rg.Param(np.array([1.0, -2.0, 3.0]))
    buf = np.empty(())
    J = rg.diff(lambda: np.max(w, out=buf))
    assert buf == 3.0
    _refused(buf, (), -100.0)
    np.testing.assert_array_equal(rg.grad(J, w), [0.0, 0.0, 1.0])
    buf[()] = 0.0


def test_memmaps_and_other_ndarray_subclasses_are_protected(tmp_path) -> None:
    """np.memmap and user subclasses of ndarray are locked like plain arrays."""

    class Tagged(np.ndarray):
        pass

    w = rg.Param(np.array([1.0, -2.0, 3.0]))
    m = np.memmap(tmp_path / "m.dat", dtype=np.float64, mode="w+", shape=(3,))
    m[:] = [1.0, 2.0, 3.0]
    t = np.array([4.0, 5.0, 6.0]).view(Tagged)
    J = rg.diff(lambda: np.sum(w * m) + np.sum(w * t[::-1]))
    _refused(m, 0, 100.0)
    _refused(t, 0, 100.0)
    np.testing.assert_array_equal(rg.grad(J, w), [7.0, 7.0, 7.0])
    m[0] = t[0] = 100.0
    J = rg.diff(lambda: np.sum(w[:2] * m[1:]))  # a view of the memmap: the memmap is locked
    _refused(m, 1, 0.0)
    np.testing.assert_array_equal(rg.grad(J, w), [2.0, 3.0, 0.0])
    m.flush()


def test_views_made_during_the_diff_are_protected_both_ways() -> None:
    """A view of a recorded array made while it is locked, and the base of a recorded view,
    are read-only too (numpy makes views of read-only arrays read-only)."""
    w = rg.Param(np.ones(3))
    a = np.array([1.0, 2.0, 3.0, 4.0])
    J = rg.diff(lambda: np.sum(w * a[:3]))  # the slice is a view: its base is locked too
    _refused(a, 0, 100.0)
    later = a[1:]
    _refused(later, 0, 100.0)
    np.testing.assert_array_equal(rg.grad(J, w), [1.0, 2.0, 3.0])
    a[0] = 100.0


def test_writes_after_a_failed_forward_are_allowed() -> None:
    """A tape that fails gives back the arrays it locked, held in tuples and keywords too."""
    w = rg.Param(np.arange(6.0).reshape(3, 2))
    idx, mask = np.array([0, 2]), np.array([True, False])

    def broken():
        np.sum(w[idx, :] * 2.0, where=mask)
        raise KeyError("model bug")

    with pytest.raises(KeyError):
        rg.diff(broken)
    idx[0] = 1
    mask[0] = False
    assert id(idx) not in _LOCKS and id(mask) not in _LOCKS
