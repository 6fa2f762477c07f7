"""Routing calls of scipy functions and distribution methods with tracked arguments to primitives.

scipy.special's ufuncs reach rulegrad through numpy's ``__array_ufunc__`` protocol, like
numpy's. Everything else in scipy (``scipy.linalg.expm``, ``scipy.stats.norm.logpdf``,
``scipy.special.logsumexp``) is Python code that first converts its arguments with
``np.asarray``, which a tracked value refuses. So when its plugin loads, rulegrad
replaces such attributes (a module's function, or a method on a distribution's singleton
instance such as ``scipy.stats.norm``) with a wrapper: with a tracked argument it calls
rulegrad's primitive, otherwise scipy's own function, unchanged. ``__wrapped__`` holds
scipy's function. A name bound before the plugin loaded (``from scipy.linalg import expm``
at the top of a module, run before the first ``rg.diff``) still names scipy's function:
call it through its module (``scipy.linalg.expm``) or use rulegrad's primitive
(``rulegrad.scipy.linalg.expm``), which works on plain and tracked values alike.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import Primitive, Tracked

__all__ = ["INTERCEPTED", "intercept", "tracked"]

#: (owner, attribute name) -> scipy's original, for every attribute replaced.
INTERCEPTED: dict[tuple[int, str], Callable[..., Any]] = {}


def tracked(args: tuple, kwargs: dict) -> bool:
    """Whether any argument (or element of a list/tuple argument) is a tracked value.

    Examples:
        >>> import numpy as np, rulegrad as rg
        >>> tracked((np.ones(2),), {}), tracked((), {"x": [rg.Param(np.ones(2))]})
        (False, True)
    """
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tracked):
            return True
        if isinstance(a, (list, tuple)) and any(isinstance(e, Tracked) for e in a):
            return True
    return False


def intercept(
    owner: Any, name: str, prim: Primitive, impl: Callable[..., Any], arrays: tuple[str, ...] = ()
) -> None:
    """Make ``owner.name`` call ``prim`` when an argument is tracked, scipy's function else.

    The call's arguments are bound to ``impl``'s signature (the primitive's Python
    function, which names its parameters as scipy does) and passed positionally, so a
    tracked argument given by keyword (``norm.logpdf(x, scale=s)``) is recorded too.
    The parameters named in ``arrays`` are array-likes, as scipy reads them: a list or
    tuple there reaches the primitive (and its rules) as ``np.asarray`` of it.
    Intercepting the same attribute again does nothing.
    """
    original = getattr(owner, name)
    if getattr(original, "__rulegrad_primitive__", None) is prim:
        return
    signature = inspect.signature(impl)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not tracked(args, kwargs):
            return original(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()  # else .args stops at the first parameter left out
        for n in arrays:
            if isinstance(bound.arguments[n], (list, tuple)):
                bound.arguments[n] = np.asarray(bound.arguments[n])
        return prim(*bound.args, **bound.kwargs)

    wrapper.__rulegrad_primitive__ = prim  # type: ignore[attr-defined]
    INTERCEPTED[(id(owner), name)] = original
    setattr(owner, name, wrapper)
