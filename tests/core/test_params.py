"""Param: what it accepts, how it behaves as its array outside diff, in-place updates, and
rebinding its value while a diff records."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


@pytest.mark.parametrize("bad", [None, "abc", {}, {1.0}, b"xy"])
def test_param_refuses_what_is_not_a_number_or_array(bad: object) -> None:
    """Param(None), Param('abc'), Param({}) say what Param takes."""
    with pytest.raises(rg.DTypeError, match="Param takes"):
        rg.Param(bad)


@pytest.mark.parametrize(
    "f",
    [
        lambda p: np.percentile(p, 50),
        lambda p: np.histogram(p, bins=2),
        lambda p: np.unique(p),
        lambda p: np.linalg.qr(p.reshape(2, 2)),
        lambda p: np.median(p),
        lambda p: np.gcd(p.astype(int), 2),  # a ufunc without a rule
        lambda p: np.concatenate([[p], [p]]),  # Params nested in lists
    ],
    ids=["percentile", "histogram", "unique", "qr", "median", "gcd", "nested"],
)
def test_any_numpy_function_runs_on_a_param_outside_diff(f) -> None:
    """Outside a recording a Param is its array: numpy functions without a rule just run."""
    p = rg.Param(np.array([4.0, 1.0, 3.0, 2.0]))
    want, got = f(p.value), f(p)
    for w, g in zip(np.atleast_1d(want) if not isinstance(want, tuple) else want,
                    np.atleast_1d(got) if not isinstance(got, tuple) else got):  # fmt: skip
        np.testing.assert_array_equal(g, w)


def test_save_and_savez_of_params_outside_diff(tmp_path) -> None:
    """np.save and np.savez write a Param's value (and a finished Result's)."""
    p = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: p * 2)
    np.save(tmp_path / "p.npy", p)
    np.savez(tmp_path / "all.npz", p=p, J=J)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), [1.0, 2.0])
    with np.load(tmp_path / "all.npz") as saved:
        np.testing.assert_array_equal(saved["J"], [2.0, 4.0])
    np.testing.assert_array_equal(np.percentile(J, 50), 3.0)


def test_a_function_without_rule_inside_diff_still_raises() -> None:
    """Inside a recording, a numpy function without a rule is still NoRuleError."""
    p = rg.Param(np.array([1.0, 2.0]))
    with pytest.raises(rg.NoRuleError, match="np.percentile"):
        rg.diff(lambda: np.percentile(p, 50))


@pytest.mark.parametrize(
    ("op", "want"),
    [("+=", [3.0, 4.0]), ("-=", [-1.0, 0.0]), ("*=", [2.0, 4.0]), ("/=", [0.5, 1.0]),
     ("**=", [1.0, 4.0]), ("//=", [0.0, 1.0]), ("%=", [1.0, 0.0])],
)  # fmt: skip
def test_in_place_operators_on_a_param_update_its_value(op: str, want: list) -> None:
    """model.w += 1 outside diff updates w.value in place and keeps the Param."""
    p = rg.Param(np.array([1.0, 2.0]))
    model = {"w": p}
    held = p.value
    exec(f"model['w'] {op} 2.0")
    assert model["w"] is p
    np.testing.assert_array_equal(p.value, want)
    assert held is p.value  # in place, as for an array


def test_in_place_operator_on_a_param_inside_diff_is_refused() -> None:
    """w += 1 inside diff would write into a value the tape needs: InPlaceError."""
    p = rg.Param(np.array([1.0, 2.0]))

    def f():
        q = p
        q += 1.0
        return np.sum(q)

    with pytest.raises(rg.InPlaceError, match=r"w \+ 1|new value"):
        rg.diff(f)
    np.testing.assert_array_equal(p.value, [1.0, 2.0])


def test_updating_a_param_a_pending_result_holds_names_the_result() -> None:
    """w -= 0.1 while a Result still needs w says which Result and how to release it;
    after its gradient is taken the update works."""
    w = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: np.sum(w * w))
    with pytest.raises(rg.InPlaceError, match=r"Result\(np.float64\(5.0\).*rg.grad.*del"):
        w -= 0.1
    rg.grad(J, w)
    w -= 0.5
    np.testing.assert_array_equal(w.value, [0.5, 1.5])


def test_rebinding_a_param_inside_diff_is_seen_by_later_reads() -> None:
    """After w.value = new inside diff, later reads of w use the new value; w's gradient
    adds up its uses before and after (each read of w is w)."""
    w = rg.Param(1.0)

    def f():
        y = w * 3.0
        w.value = np.array(10.0)
        return y + w * 3.0 + w * w

    J = rg.diff(f)
    assert rg.value(J) == 3.0 + 30.0 + 100.0
    assert rg.grad(J, w) == 3.0 + 3.0 + 20.0


def test_rebinding_a_param_to_another_shape_inside_diff_is_refused() -> None:
    """A rebound value must keep the shape and dtype the tape recorded (gradients add up)."""
    w = rg.Param(np.ones(2))

    def f():
        y = np.sum(w)
        w.value = np.ones(3)
        return y

    with pytest.raises(rg.InPlaceError, match=r"\(3,\) inside rg.diff.*keep the shape \(2,\)"):
        rg.diff(f)


def test_rebinding_a_param_inside_nested_diffs() -> None:
    """Rebinding is seen by every recording tape: a second derivative through it."""
    w = rg.Param(1.0)

    def inner():
        y = w**3
        w.value = np.array(2.0)
        return y + w**3

    # d/dw of the inner gradient 3w^2 (at 1) + 3w^2 (at 2): 6*1 + 6*2
    J = rg.diff(lambda: rg.grad(rg.diff(inner), w))
    assert rg.value(J) == pytest.approx(3.0 + 12.0)
    assert rg.grad(J, w) == pytest.approx(6.0 + 12.0)


def test_rebinding_a_param_under_jit_gives_diffs_answer() -> None:
    """A jitted step that rebinds a Param's value cannot be replayed: it runs as diff does."""
    w = rg.Param(1.0)

    def f():
        y = w * 3.0
        w.value = np.array(10.0)
        return y + w * 3.0

    J = rg.jit(f)()
    assert rg.value(J) == 33.0 and rg.grad(J, w) == 6.0 and w.value == 10.0


def test_a_ufunc_writing_into_a_param_outside_diff() -> None:
    """np.multiply(w, 0.9, out=w) outside diff updates w.value; while a pending Result
    holds w it names that Result, as w *= 0.9 does."""
    w = rg.Param(np.array([1.0, 2.0]))
    np.multiply(w, 0.5, out=w)
    np.testing.assert_array_equal(w.value, [0.5, 1.0])
    J = rg.diff(lambda: np.sum(w))
    with pytest.raises(rg.InPlaceError, match=r"Result\(np.float64\(1.5\)"):
        np.multiply(w, 0.5, out=w)
    del J
    np.multiply(w, 0.5, out=w)
    np.testing.assert_array_equal(w.value, [0.25, 0.5])
