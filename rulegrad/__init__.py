"""rulegrad: reverse-mode automatic differentiation for plain numpy code.

Examples:
    >>> import numpy as np
    >>> import rulegrad as rg
    >>> w = rg.Param(np.array([1.0, 2.0]))
    >>> J = rg.diff(lambda: np.sum(np.tanh(w) ** 2))
    >>> rg.grad(J, w).round(3)
    array([0.64 , 0.136])
"""

from __future__ import annotations

# The engine (rulegrad.core)
from .core import ELEMENTWISE as ELEMENTWISE
from .core import LINEAR as LINEAR
from .core import Box as Box
from .core import Domain as Domain
from .core import Param as Param
from .core import Primitive as Primitive
from .core import Result as Result
from .core import diff as diff
from .core import grad as grad
from .core import gradloss as gradloss
from .core import implements as implements
from .core import jvp as jvp
from .core import params as params
from .core import primitive as primitive
from .core import unbroadcast as unbroadcast
from .core import value as value
from .core import vjp as vjp
from .core import zerograd as zerograd

# Errors (rulegrad.core.errors)
from .core.errors import ArgumentError as ArgumentError
from .core.errors import ConstantWarning as ConstantWarning
from .core.errors import DTypeError as DTypeError
from .core.errors import GradCheckError as GradCheckError
from .core.errors import InPlaceError as InPlaceError
from .core.errors import NonScalarError as NonScalarError
from .core.errors import NoRuleError as NoRuleError
from .core.errors import OutputError as OutputError
from .core.errors import RuleConflictError as RuleConflictError
from .core.errors import RuleError as RuleError
from .core.errors import RulegradError as RulegradError
from .core.primitive import passthrough as passthrough

# Gradient rules: importing registers them (rulegrad.rules)
from . import rules as rules  # noqa: E402  isort: skip
from .rules.nondiff import stop_gradient as stop_gradient  # noqa: E402  isort: skip

# Numeric checks (rulegrad.testing)
from .testing.gradcheck import checkgrad as checkgrad  # noqa: E402

# Layers on top: Knet's nn functions, plugins and backends, training helpers
from . import data as data  # noqa: E402  isort: skip
from . import nn as nn  # noqa: E402  isort: skip
from . import optim as optim  # noqa: E402  isort: skip
from . import plugins as plugins  # noqa: E402  isort: skip
from .plugins import hookimpl as hookimpl  # noqa: E402  isort: skip
from .jit import jit as jit  # noqa: E402  isort: skip
from .profile import profile as profile  # noqa: E402  isort: skip
from .transfer import to as to  # noqa: E402  isort: skip
from .toolbox import elementwise_grad as elementwise_grad  # noqa: E402  isort: skip
from .toolbox import hessian as hessian  # noqa: E402  isort: skip
from .toolbox import hvp as hvp  # noqa: E402  isort: skip
from .toolbox import jacobian as jacobian  # noqa: E402  isort: skip
from .toolbox import linearize as linearize  # noqa: E402  isort: skip
from .toolbox import value_and_grad as value_and_grad  # noqa: E402  isort: skip
from .checkpoint import load as load  # noqa: E402  isort: skip
from .checkpoint import save as save  # noqa: E402  isort: skip

plugins.load_on_import()  # (scipy's import loads the plugins that wrap its functions)

__all__ = [
    # engine
    "Box", "Domain", "Param", "Primitive", "Result", "diff", "grad", "gradloss",
    "implements", "jit", "params", "passthrough", "primitive", "stop_gradient", "unbroadcast",
    "value", "vjp", "zerograd", "ELEMENTWISE", "LINEAR", "jvp", "linearize",
    # the derivative toolbox (forward and reverse)
    "elementwise_grad", "hessian", "hvp", "jacobian", "value_and_grad",
    # errors
    "ArgumentError", "ConstantWarning", "DTypeError", "GradCheckError", "InPlaceError",
    "NonScalarError", "NoRuleError", "OutputError", "RuleError", "RulegradError",
    # checks
    "checkgrad",
    # layers
    "data", "nn", "optim", "plugins", "hookimpl", "profile", "to",
    # checkpoints
    "save", "load",
    "__version__",
]  # fmt: skip


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rulegrad")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'rulegrad' has no attribute {name!r}")
