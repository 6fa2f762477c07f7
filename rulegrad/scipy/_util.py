"""Helpers the scipy rule modules share: the rule of an argument with no derivative, dtypes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import RuleError

__all__ = ["float_dtype", "no_derivative"]


def no_derivative(function: str, argument: str, why: str) -> Callable[..., Any]:
    """The rule of an argument rulegrad has no derivative for: it raises `RuleError`.

    An explicit ``None`` rule would give a tracked argument a zero gradient silently;
    this rule says so instead, if a tracked value reaches that argument. The generated
    checks (`rulegrad.testing`) read its ``nondiff`` mark: they draw that argument as a
    plain value and do not call the rule.

    Examples:
        >>> rule = no_derivative("scipy.special.jv", "v", "the order")
        >>> rule(1.0, 1.0, 0.5, 1.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rulegrad.core.errors.RuleError: scipy.special.jv: no derivative w.r.t. v (the order) ...
    """

    def rule(dy: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuleError(
            f"{function}: no derivative w.r.t. {argument} ({why}) is implemented; pass "
            f"{argument} as a plain value (rg.value({argument})) or a stop_gradient"
        )

    rule.nondiff = True  # type: ignore[attr-defined]
    rule.__name__ = rule.__qualname__ = f"no_derivative_{argument}"
    return rule


def float_dtype(*xs: Any) -> np.dtype:
    """The floating dtype of scipy's result for these arguments: float32 only if every float
    argument is float32 (scipy's Python code often computes in float64); complex if one is
    complex (complex64 from float32 and complex64 alone).

    Examples:
        >>> float_dtype(np.ones(2, np.float32), 2), float_dtype(np.ones(2, np.float32), 2.0)
        (dtype('float32'), dtype('float32'))
        >>> float_dtype(np.ones(2, np.float32), np.ones(2))
        dtype('float64')
        >>> float_dtype(np.ones(2, np.complex64), np.ones(2, np.float32), 1.5)
        dtype('complex64')
        >>> float_dtype(np.ones(2, np.float32), [1.0, 2.0])  # a list counts as its array
        dtype('float64')
    """
    # (a list as an array: np.result_type would read it as a dtype spec, [1.0] as a field)
    kinds = [
        np.asarray(x).dtype if isinstance(x, (list, tuple)) else np.result_type(x)
        for x in xs
        if not isinstance(x, (int, float, bool, type(None)))
    ]
    floats = [d for d in kinds if d.kind in "fc"]
    return np.result_type(*floats) if floats else np.dtype(np.float64)
