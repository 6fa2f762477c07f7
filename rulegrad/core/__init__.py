"""The engine: tracked values, tapes, primitives, reverse and forward mode.

Knows no rules or backends.
"""

from .box import FUNCTIONS, Box, Param, Result, Tracked, plain, value
from .diff import backward, diff, grad, gradloss, params, vjp
from .errors import (
    DTypeError,
    GradCheckError,
    InPlaceError,
    NonScalarError,
    NoRuleError,
    RuleError,
    RulegradError,
)
from .forward import ForwardTape, jvp
from .primitive import (
    ELEMENTWISE,
    LINEAR,
    PRIMITIVES,
    Domain,
    Method,
    Primitive,
    implements,
    primitive,
    zerograd,
)
from .tape import Node, Tape, active_tapes
from .unbroadcast import unbroadcast

__all__ = [
    "FUNCTIONS", "Box", "Param", "Result", "Tracked", "plain", "value",
    "backward", "diff", "grad", "gradloss", "params", "vjp", "ForwardTape", "jvp",
    "DTypeError", "GradCheckError", "InPlaceError", "NonScalarError", "NoRuleError",
    "RuleError", "RulegradError",
    "ELEMENTWISE", "LINEAR", "PRIMITIVES", "Domain", "Method", "Primitive", "implements",
    "primitive",
    "zerograd",
    "Node", "Tape", "active_tapes", "unbroadcast",
]  # fmt: skip
