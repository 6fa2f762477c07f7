"""What a user gets when code does something rulegrad cannot differentiate as written.

Each case either works or raises an error that says what was wrong; none gives a silently
wrong gradient or leaves arrays read-only behind it.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import rulegrad as rg


def test_writing_a_tracked_scalar_into_an_array_warns() -> None:
    """h[t] = tracked drops the gradient (numpy calls float()): the user is told."""

    def loss(x):
        h = np.zeros(2)
        for t in range(2):
            h[t] = np.tanh(x[t])
        return np.sum(h)

    with pytest.warns(rg.ConstantWarning, match="np.stack"):
        rg.grad(loss)(np.ones(2))
    stacked = rg.grad(lambda x: np.sum(np.stack([np.tanh(x[t]) for t in range(2)])))
    np.testing.assert_allclose(stacked(np.ones(2)), 1 - np.tanh(1.0) ** 2)


@pytest.mark.parametrize("out", [(1.0, 2.0), [1.0], {"a": 1.0}, None, "loss"])
def test_function_must_return_one_value(out) -> None:
    """diff and grad name what came back instead of returning zeros."""
    with pytest.raises(rg.OutputError, match="must return one array or number"):
        rg.grad(lambda x: out if out is not None else None)(1.0)
    w = rg.Param(np.ones(2))
    with pytest.raises(rg.OutputError):
        rg.diff(lambda: (w, out) if out is not None else None)
    assert w.value.flags.writeable


def test_grad_of_a_complex_result_says_to_take_a_real_part() -> None:
    with pytest.raises(rg.OutputError, match="np.real"):
        rg.grad(lambda x: x * 1j)(1.0)
    np.testing.assert_allclose(rg.grad(lambda x: np.real(x * 1j * x))(1.0), 0.0)


def test_output_gradient_must_match_the_result() -> None:
    """A dy of another shape is an error, in grad and in a vjp pullback."""
    w = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: w**2)
    with pytest.raises(rg.OutputError, match=r"dy has shape \(2, 2\).*shape \(2,\)"):
        rg.grad(J, w, np.ones((2, 2)))
    _, back = rg.vjp(lambda x: x**2, np.array([1.0, 2.0]))
    with pytest.raises(rg.OutputError, match="dy has shape"):
        back(np.ones(1))
    np.testing.assert_array_equal(back(np.array([1.0, 0.0]))[0], [2.0, 0.0])


def test_a_second_output_gradient_is_refused_not_ignored() -> None:
    w = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: w**2)
    np.testing.assert_array_equal(rg.grad(J, w, np.array([1.0, 0.0])), [2.0, 0.0])
    np.testing.assert_array_equal(rg.grad(J, w, np.array([1.0, 0.0])), [2.0, 0.0])
    with pytest.raises(rg.OutputError, match="already ran with another output gradient"):
        rg.grad(J, w, np.array([0.0, 1.0]))


def test_bad_arguments_to_grad() -> None:
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        rg.grad(lambda a, b: a * b, argnums=[0, 1])
    J = rg.diff(lambda: np.sum(rg.Param(np.ones(2)) * 2))
    with pytest.raises(TypeError, match="takes a Param"):
        rg.grad(J, np.ones(2))


def test_an_exception_in_the_forward_pass_unlocks_the_arrays() -> None:
    """Even when the exception is kept (a debugger, IPython's last traceback)."""
    x = np.ones(3)
    w = rg.Param(np.ones(3))

    def boom():
        np.sum(w * x)
        raise KeyError("model bug")

    try:
        rg.diff(boom)
    except KeyError as e:
        kept = e
    assert kept and x.flags.writeable and w.value.flags.writeable
    w.value -= 1.0  # a training loop can go on


def test_an_exception_in_a_rule_unlocks_and_is_reported_again(scratch_registry) -> None:
    @rg.primitive(lambda dy, y, x: 1 / 0)
    def broken(x):
        return 2 * x

    x = np.ones(2)
    w = rg.Param(np.ones(2))
    J = rg.diff(lambda: np.sum(broken(w) * x))
    with pytest.raises(ZeroDivisionError):
        rg.grad(J, w)
    assert x.flags.writeable and w.value.flags.writeable
    with pytest.raises(rg.RulegradError, match="failed .*ZeroDivisionError"):
        rg.grad(J, w)


def test_writing_through_the_base_of_a_recorded_view_is_refused() -> None:
    base = np.arange(6.0)
    view = base[:3]
    w = rg.Param(np.ones(3))
    J = rg.diff(lambda: np.sum(w * view))
    with pytest.raises(ValueError, match="read-only"):
        base[0] = 100.0
    np.testing.assert_array_equal(rg.grad(J, w), [0.0, 1.0, 2.0])
    base[0] = 100.0  # writeable again once the tape is done
    assert view.flags.writeable


def test_scalar_params_train_with_optimizers() -> None:
    b = rg.Param(0.5)
    assert isinstance(b.value, np.ndarray) and b.shape == ()
    opt = rg.optim.Adam()
    for _ in range(3):
        J = rg.diff(lambda: (b - 2.0) ** 2)
        opt.step(b, rg.grad(J, b))
    assert float(b.value) > 0.5


def test_float32_values_keep_float32_gradients_next_to_float64_constants() -> None:
    g = rg.grad(lambda x: np.sum(x * np.ones(2)))(np.ones(2, np.float32))
    assert g.dtype == np.float32
    w = rg.Param(np.ones((2, 2), np.float32))
    J = rg.diff(lambda: np.sum(w @ np.ones(2)))
    assert rg.grad(J, w).dtype == np.float32


def test_messages_name_dtype_arguments_and_foreign_ufuncs() -> None:
    from rulegrad.core.box import describe

    x = rg.Param(np.ones(3))
    assert describe(np.float32) == "float32"  # a dtype class, as in np.astype(x, np.float32)
    twice = np.frompyfunc(lambda a: 2 * a, 1, 1)
    with pytest.raises(rg.NoRuleError) as e:
        rg.diff(lambda: twice(x))
    assert not str(e.value).startswith("np.")
    assert rg.value(rg.diff(lambda: np.result_type(x, np.float32))) == np.float64
    gc.collect()


def test_checkgrad_of_a_function_of_params(scratch_registry) -> None:
    """checkgrad(f) with no arguments checks the Params f reads, right rules and wrong."""
    w = rg.Param(np.array([1.0, 2.0]))
    assert rg.checkgrad(lambda: np.sum(np.sin(w) * w), order=2) < 1e-5

    @rg.primitive(lambda dy, y, x: dy * 2.2 * x)  # 10% off
    def square(x):
        return x * x

    with pytest.raises(rg.GradCheckError):
        rg.checkgrad(lambda: np.sum(square(w)))


def test_numbers_get_numbers_and_non_numbers_get_none() -> None:
    """A Python number's gradient is a numpy scalar (used or not); None and strings in an
    argument structure pass through and get None."""
    g = rg.grad(lambda p: p[1][1]["a"] * 2.0 + p[0] * 0.0)([1.0, [0.0, {"a": 3.0, "tag": "w"}]])
    assert g[0] == 0.0 and isinstance(g[0], np.float64)
    assert g[1][1]["a"] == 2.0 and isinstance(g[1][1]["a"], np.float64)
    assert g[1][1]["tag"] is None
    assert isinstance(rg.grad(lambda x: x**0.0)(2.0), np.float64)
    _, back = rg.vjp(lambda a, b: a * 2.0, 1.0, 5.0)
    assert back(1.0) == (2.0, 0.0) and isinstance(back(1.0)[1], np.float64)
    assert rg.grad(lambda x, opts: x * 2.0)(1.0, None) == 2.0


def test_zerograd_of_a_function_of_ones_own(scratch_registry) -> None:
    @rg.zerograd
    def bucket(v):
        return np.floor(v * 2)

    w = rg.Param(np.array([0.3, 0.8]))
    J = rg.diff(lambda: np.sum(w * bucket(w)))
    np.testing.assert_array_equal(rg.grad(J, w), [0.0, 1.0])


def test_updating_a_param_a_live_result_needs_says_why() -> None:
    w = rg.Param(np.ones(2))
    J = rg.diff(lambda: np.sum(w * w))
    with pytest.raises(rg.InPlaceError, match=r"del J"):
        rg.optim.SGD().step(w, np.ones(2))
    rg.optim.SGD().step(w, rg.grad(J, w))
    np.testing.assert_allclose(w.value, 1.0 - 0.1 * 2.0)
