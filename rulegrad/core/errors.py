"""The exceptions rulegrad raises: each says what was wrong, then what to do."""

from __future__ import annotations

__all__ = [
    "RulegradError", "NoRuleError", "NonScalarError", "DTypeError", "InPlaceError", "RuleError",
    "GradCheckError", "OutputError", "ArgumentError", "ConstantWarning", "RuleConflictError",
]  # fmt: skip


class RulegradError(Exception):
    """Base class of every error rulegrad raises on purpose."""


class NoRuleError(RulegradError, TypeError):
    """A function met a tracked value but has no gradient rule for these argument types."""


class NonScalarError(RulegradError, ValueError):
    """`grad` was asked for the gradient of a non-scalar result without an output gradient."""


class DTypeError(RulegradError, TypeError):
    """A value cannot be differentiated because of its dtype (integers, booleans, objects)."""


class InPlaceError(RulegradError, ValueError):
    """Code tried to write into a value that the tape still needs for the backward pass."""


class RuleError(RulegradError):
    """A gradient rule returned something that does not fit its argument (shape, count)."""


class RuleConflictError(RulegradError, ValueError):
    """A method being registered would replace another module's method, or make calls ambiguous."""


class GradCheckError(RulegradError, AssertionError):
    """The analytic gradient disagrees with central finite differences."""


class OutputError(RulegradError, TypeError, ValueError):
    """A differentiated function's result, or an output gradient given for it, does not fit.

    The function must return one array or number (several outputs go through `vjp`), and an
    output gradient ``dy`` must have the result's shape.
    """


class ArgumentError(RulegradError, TypeError):
    """A rulegrad function was given the wrong kind of argument: a value where a function or
    a Result belongs (``rg.diff(np.sum(w))``, ``rg.grad(np.sum(w), w)``), a non-Param ``p``."""


class ConstantWarning(UserWarning):
    """A tracked value was turned into a plain Python number: its gradient stops there."""


class TraceEscape(BaseException):
    """Raised while `jit` records a function, when a traced value leaves the tape.

    ``float(x)``, ``bool(x)``, ``rg.value(x)`` and the like turn a traced value into plain
    Python data that a replay could not recompute, so the function cannot be replayed;
    `jit` catches this and runs the function eagerly instead. It derives from
    ``BaseException`` so that a model's own ``except Exception`` does not swallow it. Users
    never see it.
    """
