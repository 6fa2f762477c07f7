"""Each error says what was wrong and what to do."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


def test_function_without_rule_names_function_and_types() -> None:
    """A numpy function with no rule names itself, the argument types and the fix."""
    x = rg.Param(np.ones(3))
    with pytest.raises(rg.NoRuleError) as e:
        rg.diff(lambda: np.i0(x))
    message = str(e.value)
    assert "np.i0" in message
    assert "Param(ndarray[float64](3,))" in message
    assert "rg.primitive(np.i0" in message and "rg.zerograd(np.i0)" in message


def test_ufunc_method_without_rule() -> None:
    """ufunc methods such as np.subtract.reduce are named in the error."""
    x = rg.Param(np.ones(3))
    with pytest.raises(rg.NoRuleError, match=r"np.subtract.reduce"):
        rg.diff(lambda: np.subtract.reduce(x))


def test_grad_of_non_scalar_needs_output_gradient() -> None:
    """grad of a vector result says to reduce it or pass dy; passing dy works."""
    x = rg.Param(np.ones(3))
    with pytest.raises(rg.NonScalarError, match=r"scalar result.*np.sum"):
        rg.grad(rg.diff(lambda: x * 2), x)
    J = rg.diff(lambda: x * 2)
    np.testing.assert_array_equal(rg.grad(J, x, np.array([1.0, 2.0, 3.0])), [2.0, 4.0, 6.0])
    with pytest.raises(rg.NonScalarError):
        rg.grad(lambda x: x * 2)(np.ones(2))


@pytest.mark.parametrize("bad", [np.array([1, 2, 3]), np.array([True]), np.int64(2)])
def test_integer_param_is_refused(bad: object) -> None:
    """Integer and boolean arrays cannot be Params; the message says to convert."""
    with pytest.raises(rg.DTypeError, match="astype"):
        rg.Param(bad)


def test_integer_argument_to_grad_function_is_refused() -> None:
    """The old interface refuses integer arrays too."""
    with pytest.raises(rg.DTypeError, match="dtype int64"):
        rg.grad(lambda x: np.sum(x))(np.arange(3))


def test_in_place_write_to_recorded_input_is_an_error() -> None:
    """Writing into an array the tape needs fails until the backward pass is done."""
    w = rg.Param(np.array([1.0, 2.0]))
    x = np.array([3.0, 4.0])
    J = rg.diff(lambda: np.sum(w * x))
    with pytest.raises(ValueError, match="read-only"):
        x[0] = 100.0
    with pytest.raises(ValueError, match="read-only"):
        w.value[0] = 100.0
    np.testing.assert_array_equal(rg.grad(J, w), [3.0, 4.0])
    x[0] = 100.0  # released after the backward walk
    w.value[0] = 0.0


def test_in_place_write_is_allowed_once_result_is_dropped() -> None:
    """A Result nobody asks a gradient of releases its arrays when it goes away."""
    w = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: np.sum(w * w))
    del J
    w.value[0] = 5.0
    assert w.value[0] == 5.0


def test_setitem_on_tracked_value_is_an_error() -> None:
    """x[i] = v on a tracked value says how to build a new array instead."""
    w = rg.Param(np.ones(3))

    def f() -> object:
        h = w * 2
        h[0] = 0.0
        return np.sum(h)

    with pytest.raises(rg.InPlaceError, match="np.where"):
        rg.diff(f)


def test_ufunc_out_argument_is_an_error() -> None:
    """np.f(x, out=...) on tracked values is refused."""
    w = rg.Param(np.ones(3))
    with pytest.raises(rg.InPlaceError, match="out="):
        rg.diff(lambda: np.exp(w, out=np.empty(3)))


def test_asarray_of_tracked_value_is_an_error() -> None:
    """np.asarray would silently drop the gradient; it is refused with advice."""
    w = rg.Param(np.ones(3))
    with pytest.raises(rg.NoRuleError, match="rg.value"):
        rg.diff(lambda: np.sum(np.asarray(w * 2)))


def test_wrong_gradient_shape_from_rule(scratch_registry: None) -> None:
    """A rule returning an impossible shape is named in a RuleError."""

    @rg.primitive(lambda dy, y, x: np.ones(7))
    def badshape(x):
        return x * 1.0

    with pytest.raises(rg.RuleError, match=r"badshape.*argument 0"):
        rg.grad(lambda x: np.sum(badshape(x)))(np.ones(3))
