"""Checking gradient rules: numeric checks, Hypothesis strategies and generated tests.

The door for rule authors: `checkgrad` for one function at one point; `method_test`,
`gradient_tests` and `signature_tests` for the generated checks of registered methods;
`KINDS` and `SHAPES` for what a `Domain` may declare; `register_vspace` (or a plugin's
``rulegrad_register_vspaces`` hook) for argument types that are not numpy arrays.
``rulegrad check PKG`` and ``pytest --rulegrad-check=PKG`` run the generated checks of a
package's rules. The Hypothesis-based parts need the ``check`` extra (``pip install
rulegrad[check]``).
"""

from .gradcheck import TOLERANCES as TOLERANCES
from .gradcheck import NotSmoothError as NotSmoothError
from .gradcheck import checkgrad as checkgrad
from .gradcheck import numeric_check as numeric_check
from .gradcheck import tolerance as tolerance
from .vspace import VSPACES as VSPACES
from .vspace import VSpace as VSpace
from .vspace import register_vspace as register_vspace
from .vspace import vspace_of as vspace_of

__all__ = [
    # numeric checks (gradcheck)
    "TOLERANCES", "NotSmoothError", "checkgrad", "numeric_check", "tolerance",
    # vector spaces of argument types that are not numpy arrays (vspace)
    "VSpace", "VSPACES", "register_vspace", "vspace_of",
    # strategies (need Hypothesis)
    "KINDS", "SHAPES", "Kind", "Grid", "Case", "shapes", "arrays", "choose", "draw_case",
    "inputs",
    # generated tests (need Hypothesis)
    "DomainError", "STATS", "profile", "methods", "check_method", "method_test",
    "gradient_tests", "signature_tests", "ambiguities", "default_domain",
]  # fmt: skip

_STRATEGIES = ("KINDS", "SHAPES", "Kind", "Grid", "Case", "shapes", "arrays", "choose",
               "draw_case", "inputs")  # fmt: skip
_AUTOTESTS = ("DomainError", "STATS", "profile", "methods", "check_method", "method_test",
              "gradient_tests", "signature_tests", "ambiguities", "default_domain")  # fmt: skip
_LAZY = {**dict.fromkeys(_STRATEGIES, "strategies"), **dict.fromkeys(_AUTOTESTS, "autotests")}


def __getattr__(name: str) -> object:
    """Import the Hypothesis-based parts on first use: ``import rulegrad`` needs no Hypothesis."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
