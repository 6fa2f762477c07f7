"""Vector spaces: generated checks of arguments that are not numpy arrays."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import plugins
from rulegrad.core.errors import GradCheckError, InPlaceError, RuleError
from rulegrad.testing import VSpace, checkgrad, method_test, register_vspace, vspace, vspace_of


class Line:
    """``a * t + b``: a parameter object that is not an array."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b


def _entries(line: Line) -> np.ndarray:
    return np.array([line.a, line.b])


def _line(like: Line, v: np.ndarray) -> Line:
    return Line(v[0], v[1])


def _sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (Line(*rng.standard_normal(2)), rng.standard_normal(3)), {}


DOMAIN = rg.Domain(args=("line", "real"), sample=_sample, order=1)


@pytest.fixture
def spaces(scratch: None) -> Iterator[None]:
    """Vector spaces a test declares are forgotten afterwards."""
    saved = dict(vspace.VSPACES)
    yield
    vspace.VSPACES.clear()
    vspace.VSPACES.update(saved)
    vspace._found.clear()


def at(rule_line: Any, name: str) -> rg.Primitive:
    """A fresh primitive ``line.a * t + line.b`` with the given rule for the line."""

    def impl(line: Line, t: object) -> Any:
        return line.a * t + line.b

    impl.__qualname__ = name
    return rg.primitive(rule_line, lambda dy, y, line, t: dy * line.a, domain=DOMAIN)(impl)


def test_register_and_look_up(spaces: None) -> None:
    """Subclasses are covered, arrays and numbers are not declarable, misses are None."""
    space = register_vspace(Line, _entries, _line, name="line")

    class Sub(Line):
        pass

    assert vspace_of(Sub(1.0, 2.0)) is space and vspace_of(rg.Param(np.zeros(2))) is None
    assert space.same(Line(1.0, 2.0), Line(3.0, 4.0))
    with pytest.raises(TypeError, match="already"):
        register_vspace(np.ndarray, np.ravel, lambda like, v: v)


def test_a_right_rule_passes(spaces: None) -> None:
    """The stored entries are perturbed, and the gradient's entries compared."""
    register_vspace(Line, _entries, _line, name="line")
    prim = at(lambda dy, y, line, t: Line(np.sum(dy * t), np.sum(dy)), "at_right")
    method_test(prim.methods[-1], max_examples=10, profile_name="ci")()


def test_a_wrong_rule_fails(spaces: None) -> None:
    """A wrong entry of the gradient is a GradCheckError that shows the entries."""
    register_vspace(Line, _entries, _line, name="line")
    prim = at(lambda dy, y, line, t: Line(np.sum(dy * t), 2 * np.sum(dy)), "at_wrong")
    with pytest.raises(GradCheckError, match=r"argument 0 \(x0\) alone.*WRONG"):
        method_test(prim.methods[-1], max_examples=10, profile_name="ci")()


def test_a_gradient_of_another_type_fails(spaces: None) -> None:
    """The gradient of a vector-space argument must be a value of that space."""
    register_vspace(Line, _entries, _line, name="line")
    prim = at(lambda dy, y, line, t: np.array([np.sum(dy * t), np.sum(dy)]), "at_dense")
    with pytest.raises(RuleError, match="vector space with its structure"):
        method_test(prim.methods[-1], max_examples=10, profile_name="ci")()


def test_modifying_a_vector_space_argument_fails(spaces: None) -> None:
    """In-place changes are caught through the entries of the declared space."""
    register_vspace(Line, _entries, _line, name="line")

    def rule(dy: Any, y: Any, line: Line, t: Any) -> Line:
        line.b = line.b + 1.0  # writes into the input
        return Line(np.sum(dy * t), np.sum(dy))

    prim = at(rule, "at_inplace")
    with pytest.raises(InPlaceError, match="modified argument 0"):
        method_test(prim.methods[-1], max_examples=5, profile_name="ci")()


def test_undeclared_type_says_how_to_declare(spaces: None) -> None:
    """Without a vector space, the kind has no gradient and the message names the fix."""
    prim = at(lambda dy, y, line, t: Line(np.sum(dy * t), np.sum(dy)), "at_undeclared")
    with pytest.raises(RuleError, match="register_vspace"):
        method_test(prim.methods[-1], max_examples=5, profile_name="ci")()


def test_checkgrad_takes_vector_space_arguments(spaces: None) -> None:
    """checkgrad differentiates with respect to a Line like any argument."""
    register_vspace(Line, _entries, _line, name="line")
    prim = at(lambda dy, y, line, t: Line(np.sum(dy * t), np.sum(dy)), "at_checkgrad")
    assert checkgrad(prim, Line(0.5, -1.0), np.array([0.3, 1.2])) < 1e-7


def test_a_plugin_hook_declares_it(spaces: None) -> None:
    """The checks ask the plugins' rulegrad_register_vspaces hook for types they do not know."""

    class Pair:
        def __init__(self, v: Any) -> None:
            self.v = np.asarray(v)

    mod = types.ModuleType("vspace_plugin")

    @plugins.hookimpl
    def rulegrad_register_vspaces() -> list[VSpace]:
        return [VSpace((Pair,), lambda p: p.v, lambda like, v: Pair(v), name="pair")]

    mod.rulegrad_register_vspaces = rulegrad_register_vspaces
    try:
        assert plugins.register(mod).ok
        assert vspace_of(Pair([1.0, 2.0])).name == "pair"
    finally:
        plugins.load(reload=True)
