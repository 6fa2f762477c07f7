"""Testing the tester: generated checks catch wrong rules, pass right ones, explain failures."""

from __future__ import annotations

import itertools

import numpy as np
import plum
import pytest

import rulegrad as rg
from rulegrad.core.errors import GradCheckError, InPlaceError, RuleError
from rulegrad.core.primitive import PRIMITIVES
from rulegrad.testing.autotests import (
    STATS,
    DomainError,
    ambiguities,
    default_domain,
    method_test,
    methods,
    profile,
)

FRESH = itertools.count()
REAL = rg.Domain(args=("real",))
REAL2 = rg.Domain(args=("real", "real"))


def check(prim: rg.Primitive, max_examples: int = 15) -> None:
    """Run the generated check of a primitive's newest method with the ci profile."""
    method_test(prim.methods[-1], max_examples=max_examples, profile_name="ci")()


def sine(rule: object, domain: rg.Domain = REAL) -> rg.Primitive:
    """A fresh primitive computing sin with the given rule (a new one on every call)."""

    def sine(x):
        return np.sin(x)

    sine.__qualname__ = f"sine_{next(FRESH)}"  # the registry key: not a method of the last one
    return rg.primitive(rule, domain=domain)(sine)


# ---- right rules pass ----
def test_correct_rules_pass(scratch: None) -> None:
    """Exact rules pass: unary, broadcasting binary, int argument, vjp, two outputs."""
    check(sine(lambda dy, y, x: dy * np.cos(x)))

    @rg.primitive(lambda dy, y, a, b: dy * b, lambda dy, y, a, b: dy * a, domain=REAL2)
    def times(a, b):
        return a * b

    check(times)

    @rg.primitive(lambda dy, y, x, n: np.ldexp(dy, n), None, domain=rg.Domain(args=("real", "int")))
    def times_power_of_two(x, n):
        return np.ldexp(x, n)

    check(times_power_of_two)

    @rg.primitive(vjp=lambda dy, y, a, b: (dy * np.cos(a), None),
                  domain=rg.Domain(args=("real", "bool")))  # fmt: skip
    def masked_sin(a, b):
        return np.where(b, np.sin(a), np.sin(a))

    check(masked_sin)

    @rg.primitive(lambda dy, y, x: dy[0] * np.cos(x) - dy[1] * np.sin(x), domain=REAL)
    def sincos(x):
        return np.sin(x), np.cos(x)

    check(sincos)
    assert STATS[sincos.methods[-1]].examples == 15  # check() asks for 15


# ---- wrong rules are caught ----
@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(lambda dy, y, x: 2 * dy * np.cos(x), id="factor"),
        pytest.param(lambda dy, y, x: -dy * np.cos(x), id="sign"),
        pytest.param(lambda dy, y, x: dy * np.cos(x) * 1.001, id="0.1%"),
    ],
)
def test_wrong_first_order_is_caught(scratch: None, rule: object) -> None:
    """Rules off by a factor, a sign or 0.1% fail the numeric check."""
    with pytest.raises(GradCheckError, match=r"sine\[object\].*failed"):
        check(sine(rule))


def test_wrong_second_order_is_caught(scratch: None) -> None:
    """A rule exact at first order whose own derivative is 0.1% off fails at second order."""

    @rg.primitive(lambda dy, y, x: -dy * np.sin(x) * 1.001, domain=REAL)
    def cosine(x):
        return np.cos(x)

    with pytest.raises(GradCheckError, match="second order"):
        check(sine(lambda dy, y, x: dy * cosine(x)))


def test_missing_reduction_is_caught(scratch: None) -> None:
    """A rule returning the output's shape instead of the argument's is caught."""

    @rg.primitive(lambda dy, y, x: dy, domain=rg.Domain(args=("real",), shapes="same"))
    def colsum(x):
        return np.sum(x, axis=0)

    with pytest.raises(RuleError, match="shape"):
        check(colsum)


def test_wrongly_summed_gradient_is_caught(scratch: None) -> None:
    """An outer sum whose rule for b sums dy over the wrong axes is caught."""

    def da(dy, y, a, b):
        return np.sum(dy, axis=tuple(range(np.ndim(a), np.ndim(dy))))

    def db_wrong(dy, y, a, b):
        return np.sum(dy, axis=tuple(range(np.ndim(b), np.ndim(dy))))  # should be range(ndim(a))

    @rg.primitive(da, db_wrong, domain=rg.Domain(args=("real", "real"), shapes="same"))
    def outer_add(a, b):
        return np.add.outer(a, b)

    with pytest.raises(GradCheckError, match=r"argument 1 \(x1\) alone.*WRONG"):
        check(outer_add)


def test_upcast_float32_is_caught(scratch: None) -> None:
    """A float64 constant in a rule turns float32 gradients into float64: caught."""
    with pytest.raises(RuleError, match="dtype float64, but the argument is float32"):
        check(sine(lambda dy, y, x: dy * np.cos(x) * np.float64(1.0)))


def test_rule_not_linear_in_dy_is_caught(scratch: None) -> None:
    """A rule adding a constant to dy fails the linearity check."""
    with pytest.raises(RuleError, match="not linear in the output gradient"):
        check(sine(lambda dy, y, x: (dy + 1) * np.cos(x)))


def test_rule_for_argument_without_gradient_is_caught(scratch: None) -> None:
    """A rule for an int argument, or a vjp returning one, is an error."""

    @rg.primitive(lambda dy, y, x, n: dy * n, lambda dy, y, x, n: dy,
                  domain=rg.Domain(args=("real", "int")))  # fmt: skip
    def scale(x, n):
        return x * n

    with pytest.raises(RuleError, match="rule for argument 1"):
        check(scale)

    @rg.primitive(vjp=lambda dy, y, x, n: (dy * n, dy * x), domain=rg.Domain(args=("real", "int")))
    def scale2(x, n):
        return x * n

    with pytest.raises(RuleError, match="returned .* for argument 1"):
        check(scale2)


def test_mutating_primitive_is_caught(scratch: None) -> None:
    """A forward that writes into its argument is an error."""

    @rg.primitive(lambda dy, y, x: dy, domain=rg.Domain(args=("real",)))
    def bump(x):
        x[...] = x + 1
        return x + 0

    with pytest.raises(InPlaceError, match="modified argument 0"):
        check(bump)


def test_failure_shrinks_to_a_minimal_example(scratch: None) -> None:
    """A rule wrong everywhere is reported on a 0-d float64 input."""
    with pytest.raises(GradCheckError) as e:
        check(sine(lambda dy, y, x: 2 * dy * np.cos(x)))
    assert "(ndarray[float64]())" in str(e.value)
    notes = "\n".join(getattr(e.value, "__notes__", []))
    assert "Draw 3 (shapes): ((),)" in notes


def test_rule_that_raises_is_named(scratch: None) -> None:
    """A rule failing on valid inputs is reported as the method's RuleError, with inputs."""

    def bad(dy, y, x):
        raise ValueError("oops")

    with pytest.raises(RuleError, match=r"rules of sine\[object\].*raised ValueError: oops"):
        check(sine(bad))


def test_non_finite_gradient_is_caught(scratch: None) -> None:
    """A rule dividing by zero where the function is smooth is an error, not a skip."""
    with pytest.raises(RuleError, match="not finite"):
        check(sine(lambda dy, y, x: dy * np.cos(x) / (x - x)))


def test_complex_rules_follow_autograd_convention(scratch: None) -> None:
    """For complex inputs the gradient is dL/dx - i dL/dy: f'(z) unconjugated passes."""
    domain = rg.Domain(args=("complex",))
    check(sine(lambda dy, y, x: dy * np.cos(x), domain))
    with pytest.raises(GradCheckError):
        check(sine(lambda dy, y, x: dy * np.conj(np.cos(x)), domain))


def test_typed_method_with_the_same_rules_checks_the_declared_one(scratch: None) -> None:
    """A declared method whose inputs reach a typed method with its rules is checked through it;
    with other rules the inputs do not test it, and that is an error."""
    rule = lambda dy, y, x: dy * np.cos(x)  # noqa: E731

    @rg.primitive(rule, domain=REAL)
    def declared(x: object):
        return declared(x)  # hands over: a backend's typed method does the work

    declared.register(np.sin, (rule,), signature=plum.Signature(np.ndarray))
    method_test(declared.methods[0], max_examples=5, profile_name="ci")()

    @rg.primitive(rule, domain=REAL)
    def other(x: object):
        return other(x)

    other.register(np.sin, (lambda dy, y, x: dy,), signature=plum.Signature(np.ndarray))
    with pytest.raises(DomainError, match=r"dispatch to other\[ndarray\], whose rules differ"):
        method_test(other.methods[0], max_examples=5, profile_name="ci")()


# ---- what cannot be checked fails loudly ----
def test_undeclared_method_is_checked_on_the_default_domain(scratch: None) -> None:
    """A method registered without domain= is checked on real float arrays: a right rule
    passes (and STATS says the default was used), a wrong one fails."""

    @rg.primitive(lambda dy, y, x: dy * (1 - y * y))
    def tanh_(x):
        return np.tanh(x)

    check(tanh_)
    assert STATS[tanh_.methods[-1]].default_domain and STATS[tanh_.methods[-1]].examples == 15

    @rg.primitive(lambda dy, y, x: 2 * dy * (1 - y * y))
    def tanh_wrong(x):
        return np.tanh(x)

    with pytest.raises(GradCheckError, match=r"tanh_wrong\[object\].*failed"):
        check(tanh_wrong)


def test_default_domain_rejects_where_the_function_is_undefined(scratch: None) -> None:
    """log without a domain: negative inputs (nan) and inputs where it raises are rejected,
    not failed; the right rule passes and the wrong one still fails."""

    @rg.primitive(lambda dy, y, x: dy / x)
    def log_(x):
        if np.any(x == 0):
            raise ValueError("log of 0")
        return np.log(x)

    check(log_)
    counts = STATS[log_.methods[-1]]
    assert counts.rejected > 0 and counts.examples == 15

    @rg.primitive(lambda dy, y, x: dy / (2 * x))
    def log_wrong(x):
        return np.log(x)

    with pytest.raises(GradCheckError):
        check(log_wrong)


def test_default_domain_follows_annotations(scratch: None) -> None:
    """Arguments annotated int and bool are drawn as such, without a gradient; a method
    with no required argument cannot be drawn for and says what to declare."""

    @rg.primitive(lambda dy, y, x, n, b: dy * n, None, None)
    def scaled(x: np.ndarray, n: int, b: bool):
        return np.where(b, x * n, x * n)

    assert default_domain(scaled.methods[-1]).args == ("real", "int", "bool")
    check(scaled)

    @rg.primitive(lambda dy, y: dy)
    def constant():
        return np.ones(2)

    with pytest.raises(DomainError, match=r"constant\[\].*declares no Domain.*rg.Domain\(args="):
        check(constant)


def test_domain_drawing_only_invalid_inputs_fails(scratch: None) -> None:
    """A domain whose inputs the forward always rejects is reported, with the last reason."""

    @rg.primitive(lambda dy, y, x: dy, domain=rg.Domain(args=("real",)))
    def picky(x):
        raise ValueError("never valid")

    with pytest.raises(DomainError, match="never valid"):
        check(picky)


def test_zerograd_and_doctest_methods_are_not_collected(scratch: None) -> None:
    """Zerograd primitives have no rules; rules defined in doctests are not the package's."""
    rg.zerograd(np.spacing)
    namespace: dict = {"rg": rg, "np": np, "__name__": "rulegrad.fake"}
    code = (
        "@rg.primitive(lambda dy, y, x: dy, domain=rg.Domain(args=('real',)))\ndef f(x):\n    pass"
    )
    exec(compile(code, "<doctest rulegrad.fake>", "exec"), namespace)
    names = [repr(m) for m in methods("rulegrad")]
    assert "np.spacing[object]" not in names and "f[object]" not in names
    assert PRIMITIVES[np.spacing].zero


def test_methods_belong_to_packages_by_origin() -> None:
    """methods(pkg) keeps the methods registered by pkg's modules, named by repr."""
    names = [repr(m) for m in methods("rulegrad.rules.math")]
    assert "np.log[object]" in names and "np.matmul[object]" not in names
    assert all(m.origin.startswith("rulegrad.") for m in methods("rulegrad"))
    assert methods("no_such_package") == []


# ---- registry hygiene ----
class A:
    """A type for typed methods."""


class B:
    """Another, unrelated."""


def test_ambiguous_signatures_are_reported(scratch: None) -> None:
    """(A, object) and (object, A) both match (A, A) with neither more specific."""

    @rg.primitive(lambda dy, y, x, z: dy, None)
    def pick(x: A, z: object):
        return 1.0

    @rg.primitive(lambda dy, y, x, z: dy, None, of=pick)
    def pick_other(x: object, z: A):
        return 2.0

    problems = ambiguities(pick)
    assert len(problems) == 1 and "ambiguous" in problems[0] and "pick" in problems[0]


def test_unambiguous_signatures_pass(scratch: None) -> None:
    """Disjoint types and nested types are fine; so are the built-in rules."""

    @rg.primitive(lambda dy, y, x: dy)
    def kind(x: A):
        return 1.0

    @rg.primitive(lambda dy, y, x: dy, of=kind)
    def kind_b(x: B):
        return 2.0

    @rg.primitive(lambda dy, y, x: dy, of=kind)
    def kind_any(x: object):
        return 3.0

    assert ambiguities(kind) == []
    assert [p for m in methods("rulegrad") for p in ambiguities(m.primitive)] == []


# ---- profiles ----
def test_profile_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    """ci under CI=true, dev otherwise; the environment variables override."""
    for var in ("RULEGRAD_HYPOTHESIS_PROFILE", "HYPOTHESIS_PROFILE", "CI"):
        monkeypatch.delenv(var, raising=False)
    assert not profile().derandomize
    monkeypatch.setenv("CI", "true")
    assert profile().derandomize and profile().deadline is None
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "dev")
    assert not profile().derandomize
    monkeypatch.setenv("RULEGRAD_HYPOTHESIS_PROFILE", "ci")
    assert profile().derandomize and profile().max_examples <= 25


# ---- rules wrong only in a corner of their domain: every profile's draws reach it ----
def ci_check(prim: rg.Primitive) -> None:
    """Run the generated check of a primitive's newest method as ``rulegrad check`` does (ci)."""
    method_test(prim.methods[-1], profile_name="ci")()


def test_rule_wrong_only_when_an_argument_is_broadcast_is_caught(scratch: None) -> None:
    """A product whose rule for b is doubled when b is broadcast fails under ci."""

    def db(dy, y, a, b):
        return dy * a if np.shape(b) == np.shape(y) else 2 * dy * a

    @rg.primitive(lambda dy, y, a, b: dy * b, db, domain=REAL2)
    def product(a, b):
        return a * b

    with pytest.raises(GradCheckError, match=r"argument 1 \(x1\) alone.*WRONG"):
        ci_check(product)


def test_rule_wrong_only_beyond_two_is_caught(scratch: None) -> None:
    """A sine rule wrong only where |x| > 2.2 fails under ci: magnitudes span decades."""
    with pytest.raises(GradCheckError, match="failed"):
        ci_check(sine(lambda dy, y, x: np.where(np.abs(x) > 2.2, 1.5 * dy, dy) * np.cos(x)))


def test_rule_wrong_only_for_4d_inputs_is_caught(scratch: None) -> None:
    """A sine rule wrong only for 4-d arrays fails under ci: ranks go up to 4."""
    with pytest.raises(GradCheckError, match="failed"):
        ci_check(sine(lambda dy, y, x: dy * np.cos(x) * (1.5 if np.ndim(x) == 4 else 1.0)))


def test_wrong_tie_handling_is_caught(scratch: None) -> None:
    """A maximum giving the whole gradient to both tied arguments, and a max giving it to
    every tied element, fail under ci: Domain(ties=True) draws deliberate ties."""

    @rg.primitive(lambda dy, y, a, b: dy * (a >= b), lambda dy, y, a, b: dy * (b >= a),
                  domain=rg.Domain(args=("real", "real"), ties=True))  # fmt: skip
    def bigger(a, b):
        return np.maximum(a, b)

    with pytest.raises(GradCheckError, match="tie"):
        ci_check(bigger)

    def every_tied(dy, y, a, axis=None, keepdims=False):
        y, dy = (
            (y, dy)
            if keepdims or axis is None
            else (np.expand_dims(y, axis), np.expand_dims(dy, axis))
        )
        return dy * (a == y)

    @rg.primitive(
        every_tied, domain=rg.Domain(args=("real",), kwargs={"axis": ("axis",)}, ties=True)
    )
    def biggest(a, axis=None, keepdims=False):
        return np.max(a, axis=axis, keepdims=keepdims)

    with pytest.raises(GradCheckError, match="tie"):
        ci_check(biggest)


def test_rule_wrong_near_a_declared_kink_is_caught(scratch: None) -> None:
    """|x - 1| with a rule wrong within 0.05 of its declared kink at 1 fails under ci:
    the kinks' neighbourhoods are drawn, on either side."""

    def rule(dy, y, x):
        return np.where(np.abs(x - 1) < 0.05, 0.5 * dy, dy) * np.sign(x - 1)

    @rg.primitive(rule, domain=rg.Domain(args=("real",), avoid=(1.0,)))
    def dist(x):
        return np.abs(x - 1)

    with pytest.raises(GradCheckError, match="failed"):
        ci_check(dist)


def test_float32_rule_one_percent_off_is_caught(scratch: None) -> None:
    """A rule 1% off in float32 only (right in float64) fails at the float32 tolerance."""

    def rule(dy, y, x):
        return dy * np.cos(x) * (1.01 if x.dtype == np.float32 else 1.0)

    with pytest.raises(GradCheckError, match="float32 inputs"):
        ci_check(sine(rule))
