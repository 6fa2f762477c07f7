"""What diff, grad, gradloss and vjp hand back: gradients the caller owns, outputs that can
be differentiated (or a clear error when they cannot), output gradients of any array-like."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rulegrad as rg


def _shares(a: np.ndarray, b: np.ndarray) -> bool:
    return np.shares_memory(a, b)


def test_gradients_of_a_result_are_arrays_the_caller_owns() -> None:
    """Writing into one gradient of a Result changes no other, nor a later grad of the same
    Param (x + y hands the same output gradient to both)."""
    a, b = rg.Param(np.array([1.0, 2.0])), rg.Param(np.array([3.0, 4.0]))
    J = rg.diff(lambda: np.sum((a + b) * np.array([1.0, 3.0])))
    ga = rg.grad(J, a)
    ga *= 0.5
    np.testing.assert_array_equal(rg.grad(J, b), [1.0, 3.0])
    np.testing.assert_array_equal(rg.grad(J, a), [1.0, 3.0])
    assert not _shares(rg.grad(J, a), rg.grad(J, a))


def test_gradients_of_a_jitted_result_are_arrays_the_caller_owns() -> None:
    """The same holds for a replayed step's Result."""
    a, b = rg.Param(np.array([1.0, 2.0])), rg.Param(np.array([3.0, 4.0]))
    step = rg.jit(lambda: np.sum((a + b) * np.array([1.0, 3.0])))
    for _ in range(3):
        J = step()
        ga = rg.grad(J, a)
        ga *= 0.5
        np.testing.assert_array_equal(rg.grad(J, b), [1.0, 3.0])
        np.testing.assert_array_equal(rg.grad(J, a), [1.0, 3.0])


def test_gradients_of_several_arguments_share_no_memory() -> None:
    """grad(f, argnums=(0, 1)) of x + y gives two arrays, not one twice."""
    gx, gy = rg.grad(lambda x, y: np.sum((x + y) * 2.0), argnums=(0, 1))(np.ones(2), np.ones(2))
    assert gx is not gy and not _shares(gx, gy)
    gx *= 0
    np.testing.assert_array_equal(gy, [2.0, 2.0])


def test_pullback_gradients_share_no_memory_with_each_other_or_dy() -> None:
    """A vjp pullback of x + y.reshape(...) returns arrays apart from each other and from the
    output gradient passed in, on every call."""
    out, back = rg.vjp(lambda x, y: x + y.reshape(2, 2), np.ones((2, 2)), np.ones(4))
    dy = np.arange(4.0).reshape(2, 2)
    for _ in range(2):
        gx, gy = back(dy)
        assert not _shares(gx, gy) and not _shares(gx, dy) and not _shares(gy, dy)
        gx += 1
        gy += 1
        np.testing.assert_array_equal(dy, np.arange(4.0).reshape(2, 2))


def test_grad_with_dy_does_not_hand_back_the_callers_dy() -> None:
    """grad(J, p, dy) of J = p + 0 is a new array, not the dy the caller passed."""
    w = rg.Param(np.ones(3))
    J = rg.diff(lambda: w + 0.0)
    dy = np.array([1.0, 2.0, 3.0])
    g = rg.grad(J, w, dy)
    assert not _shares(g, dy)


def test_a_function_returning_a_param_has_gradient_one() -> None:
    """diff(lambda: w) and diff(lambda: +w) differentiate to ones, not None."""
    w = rg.Param(2.0)
    assert rg.grad(rg.diff(lambda: w), w) == 1.0
    assert rg.grad(rg.diff(lambda: +w), w) == 1.0
    v = rg.Param(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(rg.grad(rg.diff(lambda: v), v, np.array([3.0, 4.0])), [3, 4])


def test_a_function_returning_a_param_under_jit_has_gradient_one() -> None:
    """The same through rg.jit, on the recording call and on replays."""
    w = rg.Param(2.0)
    step = rg.jit(lambda: w)
    for _ in range(3):
        assert rg.grad(step(), w) == 1.0


def test_a_param_returned_inside_nested_diffs_is_tracked_by_both() -> None:
    """d/dw of d/dw (w) * w: the inner result is w itself, the outer tape must see it."""
    w = rg.Param(3.0)
    J = rg.diff(lambda: rg.grad(rg.diff(lambda: w * w), w) * w)  # 2w * w
    assert rg.grad(J, w) == pytest.approx(12.0)
    K = rg.diff(lambda: rg.diff(lambda: w).value * w)  # the inner Result's value: w
    assert rg.grad(K, w) == pytest.approx(6.0)


@pytest.mark.parametrize(
    "f",
    [lambda x: x > 0, lambda x: np.allclose(x, 1.0), lambda x: np.isfinite(x)],
    ids=["comparison", "allclose", "isfinite"],
)
def test_a_boolean_output_is_not_differentiable(f) -> None:
    """grad of a function returning a comparison raises instead of giving zeros."""
    with pytest.raises(rg.OutputError, match="not differentiable"):
        rg.grad(f)(np.array(1.0))
    w = rg.Param(np.array(1.0))
    with pytest.raises(rg.OutputError, match="not differentiable"):
        rg.grad(rg.diff(lambda: f(w)), w)


def test_an_integer_output_is_not_differentiable() -> None:
    """A numpy integer result (a count, an index) has no gradient: an error, not zeros."""
    with pytest.raises(rg.OutputError, match="bool or integer"):
        rg.grad(lambda x: np.argmax(x))(np.array([1.0, 2.0]))


def test_an_output_gradient_given_as_a_list_is_an_array_of_the_outputs_dtype() -> None:
    """dy=[...] means the array it spells, in the output's dtype (not a list repeated)."""
    w = rg.Param(np.array([1.0, 2.0], np.float32))
    g = rg.grad(rg.diff(lambda: w * 2), w, [1.0, 2.0])
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert g.dtype == np.float32
    _, back = rg.vjp(lambda x: x * 2, np.ones(2, np.float32))
    (g,) = back([1, 3])
    np.testing.assert_array_equal(g, [2.0, 6.0])
    assert g.dtype == np.float32


async def _coroutine(x):
    return x


def _generator(x):
    yield x


@pytest.mark.parametrize("f", [_coroutine, _generator], ids=["async", "generator"])
def test_an_async_or_generator_function_is_refused(f) -> None:
    """diff of an async or generator function says so (no Result wrapping a coroutine, and
    no 'never awaited' warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(rg.OutputError, match="coroutine|generator"):
            rg.diff(f, rg.Param(1.0))
        with pytest.raises(rg.OutputError, match="coroutine|generator"):
            rg.grad(f)(1.0)


def test_diff_of_a_value_says_diff_takes_a_function() -> None:
    """rg.diff(np.sum(w**2)) says to pass a function (rg.diff(lambda: ...))."""
    w = rg.Param(np.ones(2))
    with pytest.raises(TypeError, match=r"takes a function.*lambda"):
        rg.diff(np.sum(w**2))


def test_grad_of_a_value_says_what_grad_takes() -> None:
    """rg.grad(np.sum(w*w), w) names what it got and the two forms grad takes, without
    dumping the array or plum's lookup error."""
    w = rg.Param(np.arange(1000.0))
    with pytest.raises(rg.RulegradError, match=r"Result from rg.diff.*rg.grad\(f\)") as e:
        rg.grad(np.sum(w * w), w)
    assert isinstance(e.value, TypeError) and len(str(e.value)) < 400


def test_gradloss_with_aux() -> None:
    """gradloss(f, has_aux=True) for f returning (loss, aux) gives (grad, (loss, aux))."""
    g, (loss, aux) = rg.gradloss(lambda x: (np.sum(x**2), {"n": x.shape}), has_aux=True)(
        np.array([1.0, 2.0])
    )
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert loss == 5.0 and aux == {"n": (2,)}
    with pytest.raises(rg.OutputError, match=r"\(loss, aux\)"):
        rg.gradloss(lambda x: np.sum(x), has_aux=True)(np.ones(2))


def test_grad_with_aux_gives_gradient_and_plain_aux() -> None:
    """grad(f, has_aux=True) gives (gradient, aux), as JAX does; boxes in aux are values."""
    g, aux = rg.grad(lambda x, y: (np.sum(x * y), [y, x * 2]), argnums=(0, 1), has_aux=True)(
        np.array([1.0, 2.0]), 3.0
    )
    np.testing.assert_array_equal(g[0], [3.0, 3.0])
    assert g[1] == 3.0 and aux[0] == 3.0 and type(aux[1]) is np.ndarray
