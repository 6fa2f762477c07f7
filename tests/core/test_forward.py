"""Forward mode (rulegrad/core/forward.py): rg.jvp, forward rules, derived jvps, nesting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.core.forward import ForwardTape


def numeric_jvp(f, xs, ts, eps=1e-6):
    """Central differences of ``f`` along the tangents ``ts`` (arrays only)."""
    plus = f(*(x + eps * t for x, t in zip(xs, ts)))
    minus = f(*(x - eps * t for x, t in zip(xs, ts)))
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def test_dual_number_derivative_read_off_the_tangent():
    """The derivative of x**2 + sin(x) is the tangent of a jvp with tangent 1."""
    for x in (0.0, 1.3, -2.0):
        out, t = rg.jvp(lambda x: x**2 + np.sin(x), (x,), (1.0,))
        assert out == pytest.approx(x**2 + np.sin(x))
        assert t == pytest.approx(2 * x + np.cos(x))


def test_jvp_matches_central_differences_on_a_mixed_function():
    """Native (elementwise, matmul) and derived (concatenate, sum, indexing) jvps compose."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    ta, tb = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def f(a, b):
        h = np.tanh(a @ b) * np.sum(a**2, axis=1) / (1.5 + np.exp(b[:3]))
        return np.concatenate([h, np.maximum(a[0], b)]) - np.mean(a)

    out, t = rg.jvp(f, (a, b), (ta, tb))
    np.testing.assert_allclose(out, f(a, b))
    np.testing.assert_allclose(t, numeric_jvp(f, (a, b), (ta, tb)), rtol=1e-6, atol=1e-8)


def test_jvp_structures_numbers_lists_dicts_and_several_outputs():
    """Primals and tangents may be structures; outputs keep theirs, unused ones get zeros."""

    def f(p, s):
        return {"y": p["w"] * s[0], "pair": (s[0] + s[1], np.float64(1.0))}

    p = {"w": np.array([1.0, 2.0])}
    out, t = rg.jvp(f, (p, [3.0, 4.0]), ({"w": np.array([1.0, 0.0])}, [1.0, 2.0]))
    np.testing.assert_allclose(out["y"], [3.0, 6.0])
    np.testing.assert_allclose(t["y"], [1.0 * 3.0 + 1.0 * 1.0, 2.0 * 1.0])
    assert t["pair"][0] == 3.0 and t["pair"][1] == 0.0


def test_jvp_none_tangent_is_zero():
    """A None tangent holds its argument constant."""
    out, t = rg.jvp(lambda a, b: a * b, (2.0, 5.0), (None, 1.0))
    assert t == 2.0


def test_float32_stays_float32():
    """float32 primals and tangents give float32 outputs and tangents (tangents are cast)."""
    x = np.array([0.5, 1.0], np.float32)
    out, t = rg.jvp(lambda x: np.sum(np.sin(x) * x) * x / 3.0, (x,), (np.ones(2),))
    assert out.dtype == np.float32 and t.dtype == np.float32


def test_complex_holomorphic_and_not():
    """Complex tangents: J t as central differences give it, holomorphic or not."""
    z, t = np.array([1 + 2j, -0.5 + 1j]), np.array([0.3 - 1j, 1 + 0.2j])
    for f in (lambda z: z * z * np.sin(z), np.abs, lambda z: np.abs(z) ** 2 * np.conj(z)):
        _, tout = rg.jvp(f, (z,), (t,))
        np.testing.assert_allclose(tout, numeric_jvp(f, (z,), (t,)), rtol=1e-6)


def test_wrong_tangents_are_errors():
    """A tangent of the wrong shape or structure, or primals not in a tuple, raise."""
    with pytest.raises(rg.ArgumentError, match="shape"):
        rg.jvp(np.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(rg.ArgumentError, match="structure"):
        rg.jvp(lambda d: d["a"], ({"a": 1.0},), ({"b": 1.0},))
    with pytest.raises(rg.ArgumentError, match=r"rg.jvp\(f, \(x,\), \(t,\)\)"):
        rg.jvp(np.sin, np.ones(2), np.ones(2))


def test_a_structure_mismatch_says_what_differs():
    """The message names the lengths or keys that differ (it said 'list' and 'list')."""
    x = np.ones(2)
    with pytest.raises(rg.ArgumentError, match=r"\(list of 1\) .* \(list of 2\)"):
        rg.jvp(lambda p: p[0], ([x, x],), ([x],))
    with pytest.raises(rg.ArgumentError, match=r"keys \['a'\]\) .* keys \['a', 'b'\]"):
        rg.jvp(lambda d: d["a"], ({"a": x, "b": x},), ({"a": x},))


def test_an_output_with_no_tangent_is_refused_and_an_int_is_a_number():
    """A set, generator or object output was given an object-dtype zero tangent; diff and
    vjp refuse such outputs. A Python int output gets a number, as a float does."""
    for f in (lambda x: {1, 2}, lambda x: (v for v in [x]), lambda x: object()):
        with pytest.raises(rg.OutputError, match="got .*which has no tangent"):
            rg.jvp(f, (1.0,), (1.0,))
    (_, n), (_, tn) = rg.jvp(lambda x: (x, 3), (1.0,), (1.0,))
    assert n == 3 and tn == 0 and np.ndim(tn) == 0 and not isinstance(tn, np.ndarray)


def test_a_complex_tangent_for_a_real_primal_is_refused():
    """Casting it to the primal's real dtype would drop the imaginary part silently (numpy
    only warned); a real tangent for a complex primal is a direction like any other."""
    with pytest.raises(rg.ArgumentError, match="complex tangent for a real primal"):
        rg.jvp(np.sin, (np.ones(2),), (np.array([1j, 1.0]),))
    _, t = rg.jvp(lambda z: z * z, (np.array([1 + 1j]),), (np.ones(1),))
    assert t.dtype == np.complex128 and t[0] == 2 + 2j


def test_a_param_tangent_outside_diff_is_its_array():
    """A Param given as a tangent outside any diff gives plain output tangents (they were
    boxes of the jvp's finished tape), and inside a diff it stays tracked."""
    v = rg.Param(np.array([1.0, 2.0]))
    _, t = rg.jvp(lambda p: p**2, (np.array([3.0, 4.0], np.float32),), (v,))
    assert t.__class__ is np.ndarray and t.dtype == np.float32
    np.testing.assert_allclose(t, [6.0, 16.0])
    hv = rg.hvp(lambda p: np.sum(p**3), np.array([3.0, 4.0]), v)
    assert hv.__class__ is np.ndarray
    np.testing.assert_allclose(hv, [18.0, 48.0])
    J = rg.diff(lambda: np.sum(rg.jvp(lambda p: p**2, (np.array([3.0, 4.0]),), (v,))[1]))
    np.testing.assert_allclose(rg.grad(J, v), [6.0, 8.0])


def test_native_forward_rule_is_used_per_method():
    """jvp= attaches forward rules per method: two methods of one primitive differ."""
    calls = []

    @rg.primitive(lambda dy, y, x: dy * 3, jvp=lambda dx, y, x: calls.append("array") or dx * 3)
    def triple(x: np.ndarray):
        return 3 * x

    @rg.primitive(lambda dy, y, x: dy * 3, jvp=lambda dx, y, x: calls.append("float") or dx * 3)
    def triple(x: float):  # noqa: F811
        return 3 * x

    assert rg.jvp(triple, (np.ones(2),), (np.ones(2),))[1].tolist() == [3.0, 3.0]
    assert rg.jvp(triple, (2.0,), (1.0,))[1] == 3.0
    assert calls == ["array", "float"]


def test_derived_jvp_from_reverse_rules_only():
    """A primitive with reverse rules only gets its jvp derived from them (several args)."""

    @rg.primitive(
        lambda dy, y, x, w: dy * w * np.cos(x * w), lambda dy, y, x, w: dy * x * np.cos(x * w)
    )
    def sinmul(x, w):
        return np.sin(x * w)

    x, w = np.array([0.3, 1.2]), np.array([[2.0], [0.5]])
    tx, tw = np.array([1.0, -1.0]), np.array([[0.5], [1.0]])
    _, t = rg.jvp(sinmul, (x, w), (tx, tw))
    np.testing.assert_allclose(t, numeric_jvp(lambda x, w: np.sin(x * w), (x, w), (tx, tw)))


def test_derived_jvp_with_whole_vjp_and_two_outputs():
    """A vjp= method without a forward rule, and a two-output one, get derived jvps."""

    @rg.primitive(vjp=lambda dy, y, *xs: tuple(dy * 2 for _ in xs))
    def twice_sum(*xs):
        return 2 * sum(xs)

    @rg.primitive(lambda dy, y, x: dy[0] * np.cos(x) - dy[1] * np.sin(x))
    def sincos(x):
        return np.sin(x), np.cos(x)

    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    _, t = rg.jvp(twice_sum, (a, b), (np.ones(2), np.array([2.0, 0.0])))
    np.testing.assert_allclose(t, [6.0, 2.0])
    _, (ts, tc) = rg.jvp(sincos, (a,), (np.ones(2),))
    np.testing.assert_allclose(ts, np.cos(a))
    np.testing.assert_allclose(tc, -np.sin(a))


def _weighted_sum(calls):
    """A varargs primitive ``sum_k (k + 1) x_k`` whose jvp= takes all the tangents at once."""

    def jvp(dxs, y, *xs):
        calls.append(dxs)
        return sum((k + 1) * dx for k, dx in enumerate(dxs) if dx is not None)

    @rg.primitive(vjp=lambda dy, y, *xs: tuple((k + 1) * dy for k in range(len(xs))), jvp=jvp)
    def weighted(*xs):
        return sum((k + 1) * x for k, x in enumerate(xs))

    return weighted


def test_whole_jvp_takes_every_tangent_in_one_call():
    """Beside vjp=, a single jvp= is one rule for all arguments: one call per node with a
    tuple of tangents (None where an argument has none), counted as native."""
    calls = []
    weighted = _weighted_sum(calls)
    xs = (np.ones(2), np.arange(2.0), np.full(2, 3.0))
    _, t = rg.jvp(lambda a, c: weighted(a, xs[1], c), (xs[0], xs[2]), (np.ones(2), np.ones(2)))
    np.testing.assert_allclose(t, [4.0, 4.0])  # 1 * 1 + 3 * 1
    assert len(calls) == 1 and calls[0][1] is None and len(calls[0]) == 3
    method = weighted.methods[0]
    assert method.jvp is not None and method.forward == ()


def test_whole_jvp_nests_under_reverse_mode():
    """Forward over reverse and reverse over forward through a whole jvp= agree with the
    closed form of d/dx of ``x * (x + 2 x**2)``'s derivative along 1."""
    calls = []
    weighted = _weighted_sum(calls)
    f = lambda x: np.sum(x * weighted(x, x**2))  # noqa: E731  x^2 + 2 x^3: f'' = 2 + 12 x
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(rg.jvp(rg.grad(f), (x,), (np.ones(2),))[1], 2 + 12 * x)
    np.testing.assert_allclose(rg.grad(lambda x: rg.jvp(f, (x,), (np.ones(2),))[1])(x), 2 + 12 * x)
    assert calls and all(isinstance(c, tuple) for c in calls)


def test_params_are_constants_in_forward_mode_and_stay_tracked_outside():
    """A Param read inside jvp has a zero tangent, and an outer diff still differentiates it."""
    w = rg.Param(np.array([2.0, 3.0]))
    _, t = rg.jvp(lambda x: w * x, (1.0,), (1.0,))
    np.testing.assert_allclose(t, [2.0, 3.0])
    J = rg.diff(lambda: np.sum(rg.jvp(lambda x: w * x**2, (1.5,), (1.0,))[1]))  # sum(2 w x)
    np.testing.assert_allclose(rg.grad(J, w), [3.0, 3.0])


def test_perturbation_confusion_is_impossible():
    """d/dx (x * d/dy (x + y)) at any y is 1, not 2 (Siskind and Pearlmutter's example)."""

    def outer(x):
        return x * rg.jvp(lambda y: x + y, (1.0,), (1.0,))[1]

    assert rg.jvp(outer, (2.0,), (1.0,))[1] == 1.0
    assert rg.grad(outer)(2.0) == 1.0


def test_nested_jvp_gives_mixed_second_derivative():
    """Two nested jvps of the same function give d2f/dxdy."""

    def f(x, y):
        return np.sin(x * y) * x

    def dfdy(x, y):
        return rg.jvp(lambda y: f(x, y), (y,), (1.0,))[1]

    x, y = 0.7, 1.3
    mixed = rg.jvp(lambda x: dfdy(x, y), (x,), (1.0,))[1]
    exact = 2 * x * np.cos(x * y) - x**2 * y * np.sin(x * y)  # d/dx (x^2 cos(xy))
    assert mixed == pytest.approx(exact)


def test_forward_over_reverse_and_reverse_over_forward():
    """jvp of grad (a Hessian-vector product) and grad of a jvp agree with closed forms."""
    x, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])

    def f(x):
        return np.sum(x**3) + x[0] * x[1]

    hess = np.array([[6 * x[0], 1.0], [1.0, 6 * x[1]]])
    np.testing.assert_allclose(rg.jvp(rg.grad(f), (x,), (v,))[1], hess @ v)
    np.testing.assert_allclose(rg.grad(lambda x: rg.jvp(f, (x,), (v,))[1])(x), hess @ v)


@pytest.mark.parametrize("order", ["ffr", "frf", "rff", "rrf", "rfr", "frr", "fff"])
def test_mixed_nesting_to_third_order(order):
    """Every mix of three forward (f) and reverse (r) derivatives of x**4 sin(x) agrees."""

    def d(g, mode):
        if mode == "f":
            return lambda x: rg.jvp(g, (x,), (1.0,))[1]
        return rg.grad(g)

    g = lambda x: x**4 * np.sin(x)  # noqa: E731
    for mode in order:
        g = d(g, mode)
    x = 0.9
    s, c = np.sin(x), np.cos(x)
    exact = 24 * x * s + 36 * x**2 * c - 12 * x**3 * s - x**4 * c
    assert g(x) == pytest.approx(exact)


def test_forward_tape_keeps_nothing_and_locks_nothing():
    """A forward tape keeps no nodes and leaves the caller's arrays writeable."""
    x = np.array([1.0, 2.0])
    seen = []
    rg.jvp(lambda x: seen.append(x.tape) or np.sin(x) * 2, (x,), (x,))
    assert isinstance(seen[0], ForwardTape) and len(seen[0]) == 0
    c = np.ones(2)
    rg.jvp(lambda x: seen.append(c.flags.writeable) or x * c, (x,), (x,))
    assert seen[-1] is True


def test_jvp_of_a_failing_function_releases_the_tape():
    """An exception inside jvp propagates and the next jvp works."""
    with pytest.raises(ZeroDivisionError):
        rg.jvp(lambda x: 1 / 0, (1.0,), (1.0,))
    assert rg.jvp(np.exp, (0.0,), (1.0,))[1] == 1.0


def test_forward_rule_of_a_wrong_shape_is_a_rule_error():
    """A forward rule returning a tangent that cannot broadcast to the output is a RuleError."""

    @rg.primitive(lambda dy, y, x: dy, jvp=lambda dx, y, x: np.ones(5))
    def ident(x):
        return x + 0

    with pytest.raises(rg.RuleError, match="forward rule"):
        rg.jvp(ident, (np.ones(2),), (np.ones(2),))


def test_jvp_string_other_than_elementwise_is_refused():
    """jvp='something' is an ArgumentError naming rg.ELEMENTWISE."""
    with pytest.raises(rg.ArgumentError, match="ELEMENTWISE"):
        rg.primitive(lambda dy, y, x: dy, jvp="diagonal")(lambda x: x)


def test_linear_marker_applies_the_primitive_to_the_tangent():
    """jvp=rg.LINEAR: the tangent is the primitive of the tangent, other arguments kept
    (a primal with a None tangent is passed as it is: the int k stays an int)."""

    @rg.primitive(lambda dy, y, x, k: dy[::k] * 0, None, jvp=rg.LINEAR)  # (reverse rule unused)
    def every(x, k):
        return x[::k]

    x = np.arange(6.0)
    out, t = rg.jvp(every, (x, 2), (np.ones(6) * 3, None))
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(t, [3.0, 3.0, 3.0])


@pytest.mark.parametrize("f", [np.sum, np.mean])
def test_linear_rule_leaves_the_primals_out_buffer_alone(f: Any) -> None:
    """A jvp=LINEAR method called with ``out=`` writes the primal there, never the tangent."""
    buf = np.zeros(())
    out, t = rg.jvp(lambda x: f(x, out=buf), (np.arange(4.0),), (np.ones(4),))
    assert buf == f(np.arange(4.0)) and out == buf
    assert t == f(np.ones(4)) and t is not buf
