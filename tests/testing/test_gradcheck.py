"""The numeric check: central differences along random directions, tolerances by dtype."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.testing.gradcheck import NotSmoothError, numeric_check, tolerance


def _check(S, G, *xs, **kw):
    return numeric_check(S, G, list(xs), rng=np.random.default_rng(0), **kw)


def test_matching_gradient_passes() -> None:
    """An exact gradient passes with a tiny relative error."""
    x = np.array([0.3, -1.2, 2.0])
    assert _check(lambda xs: np.sum(np.sin(xs[0])), lambda xs: [np.cos(xs[0])], x) < 1e-8


def test_off_by_a_tenth_of_a_percent_fails_and_reports() -> None:
    """A gradient 0.1% off fails; the report has both values, the error and the inputs."""
    x = np.array([0.3, -1.2, 2.0])
    with pytest.raises(rg.GradCheckError) as e:
        _check(lambda xs: np.sum(np.sin(xs[0])), lambda xs: [1.001 * np.cos(xs[0])], x,
               what="np.sin[object]")  # fmt: skip
    text = str(e.value)
    for part in ("np.sin[object]", "analytic", "numeric", "relative error", "x0 = [ 0.3"):
        assert part in text


def test_report_names_the_argument_at_fault() -> None:
    """With two arguments, the report checks each alone and marks the wrong one."""
    a, b = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    S = lambda xs: np.sum(xs[0] * xs[1])  # noqa: E731
    G = lambda xs: [xs[1], -xs[0]]  # noqa: E731  (the sign of b's gradient is wrong)
    with pytest.raises(rg.GradCheckError) as e:
        _check(S, G, a, b, names=["a", "b"])
    lines = str(e.value).splitlines()
    assert any("argument 0 (a)" in line and line.endswith("ok") for line in lines)
    assert any("argument 1 (b)" in line and line.endswith("WRONG") for line in lines)


def test_a_nan_gradient_is_marked_wrong() -> None:
    """An argument whose analytic gradient is nan is marked WRONG in the report, not ok."""
    a, b = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    S = lambda xs: np.sum(xs[0] * xs[1])  # noqa: E731
    G = lambda xs: [xs[1], np.full(2, np.nan)]  # noqa: E731
    with pytest.raises(rg.GradCheckError) as e:
        _check(S, G, a, b, names=["a", "b"])
    lines = str(e.value).splitlines()
    assert any("argument 1 (b)" in line and line.endswith("WRONG") for line in lines)


def test_kink_is_not_a_wrong_rule() -> None:
    """At a tie of maximum the mismatch is explained by the kink: NotSmoothError."""
    x = np.array([1.0, 1.0])
    S = lambda xs: np.max(xs[0])  # noqa: E731
    G = lambda xs: [np.array([1.0, 0.0])]  # noqa: E731  (one side's slope)
    with pytest.raises(NotSmoothError, match="not differentiable"):
        _check(S, G, x)


def test_a_deliberate_tie_excuses_no_mismatch() -> None:
    """With kinks=False a wrong slope at a tie fails; the even split of central differences
    passes."""
    x = np.array([1.0, 1.0])
    S = lambda xs: np.max(xs[0])  # noqa: E731
    with pytest.raises(rg.GradCheckError) as e:
        _check(S, lambda xs: [np.array([1.0, 0.0])], x, kinks=False)
    assert not isinstance(e.value, NotSmoothError)
    assert _check(S, lambda xs: [np.array([0.5, 0.5])], x, kinks=False) < 1e-8


def test_float32_gradient_against_float64_differences() -> None:
    """A float32 gradient passes at the float32 tolerance, not at the float64 one."""
    x = np.linspace(0.1, 2.0, 20)
    g32 = np.exp(x).astype(np.float32) * np.float32(1 + 3e-7)
    S = lambda xs: np.sum(np.exp(xs[0]))  # noqa: E731
    _check(S, lambda xs: [g32], x, rtol=tolerance(np.float32))
    with pytest.raises(rg.GradCheckError):
        _check(S, lambda xs: [g32 * np.float32(1.0001)], x, rtol=tolerance(np.float64))


def test_tolerances_by_dtype_and_order() -> None:
    """float32 is looser than float64; second order looser than first; complex as its parts."""
    assert tolerance(np.float64, 1) < tolerance(np.float32, 1)
    assert tolerance(np.float64, 1) < tolerance(np.float64, 2)
    assert tolerance(np.complex64, 1) == tolerance(np.float32, 1)


def test_checkgrad_catches_second_order_error(scratch: None) -> None:
    """A rule exact at first order whose own derivative is 0.1% off fails at order 2 only."""

    @rg.primitive(lambda dy, y, x: -dy * np.sin(x) * 1.001)
    def cos_(x):
        return np.cos(x)

    @rg.primitive(lambda dy, y, x: dy * cos_(x))
    def sin_(x):
        return np.sin(x)

    x = np.array([0.3, 1.1, -0.7])
    assert rg.checkgrad(sin_, x) < 1e-6
    with pytest.raises(rg.GradCheckError, match="gradient of sin_"):
        rg.checkgrad(sin_, x, order=2)


def test_checkgrad_checks_forward_mode_too() -> None:
    """checkgrad(..., modes=("rev", "fwd")) checks jvp along random tangents, Params too."""
    rosenbrock = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)  # noqa: E731
    assert rg.checkgrad(rosenbrock, np.array([0.5, -0.3, 1.2]), modes=("rev", "fwd")) < 1e-6
    w = rg.Param(np.array([1.0, 2.0]))
    assert rg.checkgrad(lambda: np.sum(np.tanh(w) * w), modes=("fwd",)) < 1e-6


def test_checkgrad_rejects_a_wrong_forward_rule() -> None:
    """A forward rule off by 1% fails checkgrad in forward mode (and passes in reverse)."""

    @rg.primitive(lambda dy, y, x: dy * np.cos(x), jvp=lambda dx, y, x: dx * np.cos(x) * 1.01)
    def off_sin(x):
        return np.sin(x)

    x = np.array([0.3, 0.5])
    assert rg.checkgrad(off_sin, x) < 1e-6
    with pytest.raises(rg.GradCheckError, match="forward mode"):
        rg.checkgrad(off_sin, x, modes=("fwd",))
