"""Tapes: printing, release of memory and write protection, nesting."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.core.tape import _LOCKS, active_tapes


def test_printing_a_result_lists_its_tape() -> None:
    """print(J) shows one line per node: primitive, argument types and shapes, output."""
    w = rg.Param(np.ones((2, 3)))
    x = np.ones(3)
    J = rg.diff(lambda: np.sum(np.tanh(w @ x)))
    text = str(J)
    lines = text.splitlines()
    assert lines[0].startswith("Result(")
    assert "input ndarray[float64](2, 3)" in lines[1]
    assert (
        "np.matmul(ndarray[float64](2, 3), ndarray[float64](3,)) -> ndarray[float64](2,)"
        in (lines[2])
    )
    assert "np.tanh(" in lines[3] and "np.sum(" in lines[4]
    rg.grad(J, w)
    assert "released" in str(J)


def test_backward_releases_nodes_and_locks() -> None:
    """After the walk the tape holds no nodes and no array stays read-only."""
    w = rg.Param(np.ones(3))
    x = np.ones(3)
    J = rg.diff(lambda: np.sum(w * x))
    assert not x.flags.writeable and id(x) in _LOCKS
    rg.grad(J, w)
    assert len(J.tape) == 0 and J.tape.done
    assert x.flags.writeable and w.value.flags.writeable


def test_dropped_tapes_give_back_write_access() -> None:
    """A diff never differentiated, or a vjp pullback, unlocks its arrays once dropped."""
    import gc

    x = np.ones(3)
    J = rg.diff(lambda: np.sum(rg.Param(np.ones(3)) * x))
    assert not x.flags.writeable
    del J
    gc.collect()
    assert x.flags.writeable
    out, back = rg.vjp(lambda a: a * x, np.ones(3))
    np.testing.assert_array_equal(back(np.ones(3))[0], x)
    assert not x.flags.writeable  # the pullback may be called again
    del out, back
    gc.collect()
    assert x.flags.writeable and id(x) not in _LOCKS


def test_active_tapes_nest_and_unwind() -> None:
    """diff pushes a tape for the duration of the call only."""
    depth = []

    def inner() -> float:
        depth.append(len(active_tapes()))
        return 0.0

    rg.diff(lambda: inner() + rg.value(rg.diff(inner)))
    assert depth == [1, 2]
    assert active_tapes() == ()


def test_result_of_finished_diff_is_a_constant() -> None:
    """A finished Result used in later code is a constant: nothing records on its tape."""
    w = rg.Param(np.array([2.0]))
    J1 = rg.diff(lambda: w * 3)
    J2 = rg.diff(lambda: np.sum(J1 * w))
    np.testing.assert_array_equal(rg.grad(J2, w), [6.0])


def test_a_tracing_tape_notes_the_sizes_read_of_recorded_values() -> None:
    """While jit traces, len/shape/ndim/size of a recorded call's output are noted (a replay
    checks them); an input's are not (the signature fixes them), nor anything on a plain tape."""
    from rulegrad.core.box import Box
    from rulegrad.core.tape import Node, Tape

    for tracing in (True, False):
        tape = Tape()
        tape.tracing = tracing
        v = np.array([1.0, -1.0, 2.0])
        tape.nodes.append(Node(None, (), {}, v, ()))
        x = Box(v, tape, tape.nodes[0])
        y = x[x > 0]
        assert (len(x), x.shape, len(y), np.shape(y), y.ndim, np.size(y), y.size) == (
            3, (3,), 2, (2,), 1, 2, 2
        )  # fmt: skip
        kinds = [kind for _, _, kind in tape.reads]
        assert kinds == (["shape", "shape", "ndim", "size", "size"] if tracing else [])
        assert all(node is y.node and index == -1 for node, index, _ in tape.reads)
        tape.release()
        assert tape.reads == []


def test_first_use_callbacks_run_once_before_a_tape_and_again_after_a_raise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """on_first_use: run before the next tape records, once; a callback that raised runs again,
    and a tape the callback makes itself does not run it twice."""
    from rulegrad.core import tape

    monkeypatch.setattr(tape, "_FIRST_USE", [])
    monkeypatch.setitem(tape._first, "done", True)
    calls = []

    def callback() -> None:
        calls.append(len(calls))
        tape.Tape()  # (a plugin whose import records a tape)
        if len(calls) == 1:
            raise RuntimeError("not yet")

    tape.on_first_use(callback)
    with pytest.raises(RuntimeError, match="not yet"):
        tape.Tape()
    tape.Tape()
    tape.Tape()
    assert calls == [0, 1]
