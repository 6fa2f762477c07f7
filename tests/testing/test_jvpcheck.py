"""The generated forward-mode checks (rulegrad/testing/jvpcheck.py) of every built-in method."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.testing.jvpcheck import jvp_test, jvp_tests

test_builtin_jvps = jvp_tests("rulegrad", max_examples=3)


def test_a_wrong_forward_rule_is_caught():
    """A forward rule off by 1% fails the check against central differences."""

    @rg.primitive(
        lambda dy, y, x: dy * np.cos(x),
        jvp=lambda dx, y, x: dx * np.cos(x) * 1.01,
        domain=rg.Domain(args=("real",)),
    )
    def wrong_sin(x):
        return np.sin(x)

    with pytest.raises(rg.GradCheckError, match="central differences"):
        jvp_test(wrong_sin.methods[0], max_examples=5)()


def test_a_forward_rule_disagreeing_with_the_reverse_rule_is_caught():
    """A right forward rule beside a wrong reverse rule fails <u, jvp(t)> == <vjp(u), t>."""

    @rg.primitive(
        lambda dy, y, x: dy * np.cos(x) * 1.01,
        jvp=lambda dx, y, x: dx * np.cos(x),
        domain=rg.Domain(args=("real",)),
    )
    def half_wrong_sin(x):
        return np.sin(x)

    with pytest.raises(rg.GradCheckError, match="reverse rules"):
        jvp_test(half_wrong_sin.methods[0], max_examples=5)()


def test_a_derived_jvp_inherits_a_wrong_reverse_rule():
    """Without a forward rule the jvp comes from the reverse rule, so numerics catch both."""

    @rg.primitive(lambda dy, y, x: dy * 2.02 * x, domain=rg.Domain(args=("real",)))
    def wrong_square(x):
        return x * x

    with pytest.raises(rg.GradCheckError, match="central differences"):
        jvp_test(wrong_square.methods[0], max_examples=5)()
    np.testing.assert_allclose(rg.jvp(wrong_square, (1.0,), (1.0,))[1], 2.02)
