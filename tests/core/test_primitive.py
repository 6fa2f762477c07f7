"""Primitives: plum methods chosen by type, each with its own rules; zerograd; implements."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg


class Scaled:
    """A small array-like: an array times a scale, kept apart until asked."""

    def __init__(self, data: np.ndarray, scale: float) -> None:
        self.data, self.scale = data, scale

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __mul__(self, k: object) -> Scaled:
        return Scaled(self.data, self.scale * k)

    __rmul__ = __mul__

    def __add__(self, other: object) -> Scaled:
        other = other if isinstance(other, Scaled) else Scaled(np.asarray(other), 1.0)
        return Scaled(self.data * self.scale + other.data * other.scale, 1.0)

    __radd__ = __add__


def test_methods_by_type_have_their_own_forward_and_rule(scratch_registry: None) -> None:
    """Two methods of one primitive: different forward code, different gradient rules."""
    calls = []

    def ndarray_rule(dy, y, x):
        calls.append("ndarray")
        return dy * 2 * x

    def scaled_rule(dy, y, x):
        calls.append("scaled")
        return dy * 2 * x.scale * x.data * x.scale  # d/ds of (s*d)^2 summed, per element

    @rg.primitive(ndarray_rule)
    def sqnorm(x: np.ndarray):
        return np.sum(x * x)

    @rg.primitive(scaled_rule)
    def sqnorm(x: Scaled):  # noqa: F811  (a second method of the same primitive)
        return np.sum((x.data * x.scale) ** 2)

    assert len(sqnorm.methods) == 2
    assert rg.grad(sqnorm)(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    s = Scaled(np.array([1.0, 2.0]), 3.0)
    assert sqnorm(s) == 45.0
    out, back = rg.vjp(sqnorm, s)
    assert out == 45.0
    np.testing.assert_array_equal(back(1.0)[0], [18.0, 36.0])
    assert calls == ["ndarray", "scaled"]


def test_method_added_to_numpy_primitive_with_of(scratch_registry: None) -> None:
    """of= adds a typed method (with its own rule) to an existing numpy primitive."""

    @rg.primitive(lambda dy, y, x: dy * 10.0, of=np.exp)
    def exp_scaled(x: Scaled):
        return Scaled(x.data, x.scale * 10.0)

    prim = rg.core.PRIMITIVES[np.exp]
    assert {repr(m) for m in prim.methods} >= {"np.exp[object]", "np.exp[Scaled]"}
    assert prim.resolve((Scaled,)).impl is exp_scaled.resolve((Scaled,)).impl
    assert prim.resolve((np.ndarray,)).impl is np.exp


def test_primitive_of_numpy_function_with_none_rule(scratch_registry: None) -> None:
    """None marks an argument without a gradient on purpose; it is skipped in the backward
    pass, even for a tracked value (a template such as untake's x: only its shape counts)."""
    rg.primitive(np.polymul, lambda dy, y, a, v: 0.0 * a, None)
    x = rg.Param(np.array([-1.0, 2.0]))
    J = rg.diff(lambda: np.sum(np.polymul(x, x)))
    np.testing.assert_array_equal(rg.grad(J, x), [0.0, 0.0])


def test_a_tracked_value_where_a_rule_is_missing_is_an_error(scratch_registry: None) -> None:
    """A rules tuple shorter than the arguments gives the rest no gradient silently no more:
    the error names the primitive, the argument and how to fix it, in both interfaces;
    constants and stop_gradient'ed values there are fine."""

    @rg.primitive(lambda dy, y, a, b: dy * b)
    def mul(a, b):
        return a * b

    assert rg.grad(lambda a: mul(a, 3.0))(2.0) == 3.0
    assert rg.grad(lambda a: mul(a, rg.stop_gradient(a)))(2.0) == 2.0
    with pytest.raises(rg.RuleError, match=r"mul\[object,object\] has no gradient rule for ar"):
        rg.grad(lambda a, b: mul(a, b), argnums=(0, 1))(2.0, 3.0)
    w = rg.Param(2.0)
    with pytest.raises(rg.RuleError, match=r"argument 1 .*None for one with no gradient"):
        rg.grad(rg.diff(lambda: mul(w, w)), w)


def test_keyword_arguments_reach_the_rules(scratch_registry: None) -> None:
    """Keywords given to a primitive are passed to its rules."""
    seen = {}

    def rule(dy, y, x, *, power=2):
        seen["power"] = power
        return dy * power * x ** (power - 1)

    @rg.primitive(rule)
    def pw(x, *, power=2):
        return x**power

    assert rg.grad(lambda x: pw(x, power=3))(2.0) == 12.0
    assert seen == {"power": 3}


def test_vjp_rule_for_all_arguments(scratch_registry: None) -> None:
    """vjp= gives one function returning a gradient per argument (varargs primitives)."""

    @rg.primitive(vjp=lambda dy, y, *xs: tuple(dy * i for i in range(1, len(xs) + 1)))
    def weighted(*xs):
        return sum(i * x for i, x in enumerate(xs, 1))

    g = rg.grad(lambda a, b, c: weighted(a, b, c), argnums=(0, 1, 2))(1.0, 1.0, 1.0)
    assert g == (1.0, 2.0, 3.0)


def test_multiple_output_primitive(scratch_registry: None) -> None:
    """A primitive returning a tuple gives boxes per output; missing gradients are zeros."""

    def rule(dy, y, x):
        ds, dc = dy
        return ds * np.cos(x) - dc * np.sin(x)

    @rg.primitive(rule)
    def sincos(x):
        return np.sin(x), np.cos(x)

    x = np.array([0.3, 1.1])
    np.testing.assert_allclose(rg.grad(lambda x: np.sum(sincos(x)[0]))(x), np.cos(x))
    np.testing.assert_allclose(
        rg.grad(lambda x: np.sum(sincos(x)[0] * sincos(x)[1]))(x), np.cos(2 * x)
    )


@pytest.mark.parametrize("replay", [False, True], ids=["diff", "jit"])
def test_unused_output_gets_a_read_only_zero_of_its_shape(scratch_registry: None, replay) -> None:
    """The gradient of a tuple element no one used reads as zeros of that element's shape
    and dtype, read-only, without an array of that size behind it (an LSTM's unused
    states would otherwise be tens of megabytes a step)."""
    seen = []

    def rule(dy, y, x):
        seen.append(dy[1])
        return dy[0] * 2.0

    @rg.primitive(rule)
    def double_and_big(x):
        return 2.0 * x, np.ones((300, 400), np.float32)

    x = rg.Param(np.array([1.0, 2.0]))
    step = rg.jit(lambda: np.sum(double_and_big(x)[0])) if replay else None
    for _ in range(2):
        J = step() if replay else rg.diff(lambda: np.sum(double_and_big(x)[0]))
        assert rg.grad(J, x).tolist() == [2.0, 2.0]
    zero = seen[-1]
    assert (zero.shape, zero.dtype, zero.any()) == ((300, 400), np.float32, False)
    assert not zero.flags.writeable and zero.strides == (0, 0)  # one number, seen everywhere


def test_gradients_handed_out_are_writable() -> None:
    """A rule may pass on a read-only array as its gradient (modf's of an unused fraction,
    jit's shared output gradient through an addition); the caller gets one it can write."""
    x, s = rg.Param(np.array([1.5, 2.5])), rg.Param(2.0)
    step = rg.jit(lambda: s + 0.0)
    grads = [
        rg.grad(rg.diff(lambda: np.sum(np.modf(x)[1])), x),
        rg.grad(lambda v: np.sum(np.divmod(v, 2.0)[0]))(np.array([1.5, 2.5])),
        *(rg.grad(step(), s) for _ in range(2)),
    ]
    for g in grads:
        g += 1.0  # raises ValueError if read-only
    assert grads[2] is not grads[3]


def test_zerograd_returns_plain_values() -> None:
    """Comparisons and argmax return plain arrays and record nothing."""
    x = rg.Param(np.array([1.0, 3.0, 2.0]))

    def f() -> object:
        i = np.argmax(x)
        mask = x > 1.5
        assert isinstance(i, np.integer) and isinstance(mask, np.ndarray)
        return x[i] * 2 + np.sum(x * mask)

    J = rg.diff(f)
    np.testing.assert_array_equal(rg.grad(J, x), [0.0, 3.0, 1.0])


def test_untracked_calls_skip_recording() -> None:
    """A primitive on plain arrays returns a plain array, inside diff or not."""
    prim = rg.core.PRIMITIVES[np.multiply]
    out = prim(np.ones(2), 3.0)
    assert type(out) is np.ndarray
    J = rg.diff(lambda: prim(np.ones(2), 3.0))
    assert len(J.tape) == 0


def test_decorator_form_needs_dy_first() -> None:
    """Rules are recognised by their first parameter, dy; plain functions are primitives."""
    from rulegrad.core.primitive import _is_rule

    assert _is_rule(lambda dy, y, x: dy)
    assert _is_rule(None)
    assert not _is_rule(np.sin)
    assert not _is_rule(lambda x: x)


def test_no_method_for_types_is_a_clear_error(scratch_registry: None) -> None:
    """A primitive with only typed methods names them when nothing applies."""

    @rg.primitive(lambda dy, y, x: dy)
    def only_arrays(x: np.ndarray):
        return x

    with pytest.raises(rg.NoRuleError, match=r"only_arrays has no method for arguments \(str\)"):
        only_arrays("text")


# ---- registering over someone else's method, and ambiguous methods (issue 18) ----
def _scratch() -> rg.Primitive:
    """A primitive of its own (no registry entry) with one generic method from 'pkg_a'."""
    from rulegrad.core.primitive import Primitive

    def f(x):
        return 2 * x

    prim = Primitive(f, "f")
    prim.register(f, (lambda dy, y, x: 2 * dy,), signature=_any(), origin="pkg_a")
    return prim


def _any() -> object:
    import plum

    return plum.Signature(varargs=object)


def test_replacing_another_modules_method_is_refused() -> None:
    """Same signature, other origin: RuleConflictError naming both; the old method stays."""
    prim = _scratch()
    with pytest.raises(rg.RuleConflictError, match=r"f\[object\].*pkg_a.*pkg_b.*override=True"):
        prim.register(lambda x: 0 * x, (lambda dy, y, x: 0 * dy,), signature=_any(), origin="pkg_b")
    assert [m.origin for m in prim.methods] == ["pkg_a"]
    x = rg.Param(np.array([1.0]))
    assert rg.grad(rg.diff(lambda: np.sum(prim(x))), x).tolist() == [2.0]


def test_overriding_on_purpose_replaces_the_method_and_says_whose() -> None:
    """override=True replaces the method; the new one records the one it replaced."""
    prim = _scratch()
    new = prim.register(
        lambda x: 3 * x, (lambda dy, y, x: 3 * dy,), signature=_any(), origin="pkg_b", override=True
    )
    assert prim.methods == [new] and new.replaces.origin == "pkg_a"
    x = rg.Param(np.array([1.0]))
    assert rg.grad(rg.diff(lambda: np.sum(prim(x))), x).tolist() == [3.0]


def test_the_same_module_may_register_again() -> None:
    """Re-registering from the same module (a reload) replaces its own method quietly."""
    prim = _scratch()
    new = prim.register(
        lambda x: 4 * x, (lambda dy, y, x: 4 * dy,), signature=_any(), origin="pkg_a"
    )
    assert prim.methods == [new] and new.replaces is None


def test_a_plugin_style_override_of_a_builtin_is_refused() -> None:
    """rg.primitive(np.sin, wrong rule) from another module leaves np.sin's rule as it was."""
    with pytest.raises(rg.RuleConflictError, match="np.sin.*rulegrad.rules"):
        rg.primitive(np.sin, lambda dy, y, x: 0 * dy)
    x = rg.Param(np.array([0.3, 1.2]))
    assert np.allclose(rg.grad(rg.diff(lambda: np.sum(np.sin(x))), x), np.cos([0.3, 1.2]))


def test_zerograd_over_another_modules_rules_is_refused() -> None:
    """rg.zerograd(np.sin) would zero np.sin's gradient silently: refused."""
    with pytest.raises(rg.RuleConflictError, match="np.sin"):
        rg.zerograd(np.sin)
    x = rg.Param(np.array([0.3]))
    assert np.allclose(rg.grad(rg.diff(lambda: np.sum(np.sin(x))), x), np.cos([0.3]))


def test_ambiguous_methods_are_named_as_such() -> None:
    """(ndarray, object) and (object, ndarray): two ndarrays match both equally; say so."""
    prim = _scratch()

    def left(x: np.ndarray, y: object) -> object:
        return x

    def right(x: object, y: np.ndarray) -> object:
        return y

    prim.register(left, (None, None), origin="pkg_a")
    prim.register(right, (None, None), origin="pkg_b")
    (why,) = prim.ambiguities()
    assert "f[ndarray,object] (from pkg_a) and f[object,ndarray] (from pkg_b)" in why
    assert "(ndarray, ndarray)" in why
    with pytest.raises(rg.NoRuleError, match=r"ambiguous for arguments \(ndarray, ndarray\)"):
        prim(np.ones(2), np.ones(2))


def test_removing_a_method_brings_back_the_one_it_replaced() -> None:
    """remove() undoes a registration: the ambiguity goes, an overridden method returns."""
    prim = _scratch()

    def left(x: np.ndarray, y: object) -> object:
        return x

    def right(x: object, y: np.ndarray) -> object:
        return y

    prim.register(left, (None, None), origin="pkg_a")
    prim.remove(prim.register(right, (None, None), origin="pkg_b"))
    assert prim.ambiguities() == [] and prim(np.ones(2), np.zeros(2)).tolist() == [1.0, 1.0]
    new = prim.register(lambda x: 3 * x, (None,), signature=_any(), origin="pkg_b", override=True)
    prim.remove(new)
    assert [m.origin for m in prim.methods] == ["pkg_a", "pkg_a"]
    assert prim(np.ones(1)).tolist() == [2.0]


def test_an_overlap_covered_by_a_more_specific_method_is_fine() -> None:
    """With an (ndarray, ndarray) method, (ndarray, object) and (object, ndarray) coexist."""
    prim = _scratch()

    def both(x: np.ndarray, y: np.ndarray) -> object:
        return x

    def left(x: np.ndarray, y: object) -> object:
        return x

    def right(x: object, y: np.ndarray) -> object:
        return y

    for impl in (left, right, both):  # ambiguous until the last one
        prim.register(impl, (None, None), origin="pkg_a")
    assert prim.ambiguities() == []
    assert prim.resolve((np.ndarray, np.ndarray)).impl is both
    assert prim.resolve((float, np.ndarray)).impl is right


def test_a_primitive_over_another_modules_implements_handler_is_refused(
    scratch_registry: None,
) -> None:
    """np.dot is handled by rulegrad's rules (rg.implements): rg.primitive(np.dot) may not
    replace that handler unasked."""
    from rulegrad.core.box import FUNCTIONS

    before = FUNCTIONS[np.dot]
    with pytest.raises(rg.RuleConflictError, match=r"np.dot.*rulegrad.rules.*override=True"):
        rg.primitive(np.dot, lambda dy, y, a, b: 0 * dy, lambda dy, y, a, b: 0 * dy)
    assert FUNCTIONS[np.dot] is before
    a = rg.Param(np.array([1.0, 2.0]))
    assert rg.grad(rg.diff(lambda: np.dot(a, np.array([3.0, 4.0]))), a).tolist() == [3.0, 4.0]


def test_implements_over_another_modules_handler_is_refused(scratch_registry: None) -> None:
    """rg.implements(np.linalg.norm) replaces rulegrad's handler only with override=True."""
    from rulegrad.core.box import FUNCTIONS

    def norm(x):
        return np.sqrt(np.sum(x * x))

    with pytest.raises(rg.RuleConflictError, match=r"np.linalg.norm.*rulegrad.rules"):
        rg.implements(np.linalg.norm)(norm)
    assert FUNCTIONS[np.linalg.norm] is not norm
    rg.implements(np.linalg.norm, override=True)(norm)
    assert FUNCTIONS[np.linalg.norm] is norm  # (scratch_registry puts the built-in back)
