"""rulegrad-scipy: gradient rules for scipy.sparse CSR matrices and scipy.special.owens_t.

An example of a third-party rule package. Its ``pyproject.toml`` declares the entry point
``sparse = "rulegrad_scipy"`` in the ``rulegrad`` group, so rulegrad imports this package
when it loads its plugins (``rulegrad info`` lists it, ``rulegrad check rulegrad_scipy``
checks every rule it registers). Importing it registers the rules, as importing a
rule file of rulegrad does; ``import rulegrad_scipy`` is all a program needs. Its one
hook, `rulegrad_register_vspaces`, is for the checks only: it tells them how to see a
CSR matrix as a vector of its stored values.

rulegrad's own scipy plugin (`rulegrad.scipy`) already covers scipy.special, stats, linalg
and signal; this package adds what it leaves out, without overlapping it (rulegrad refuses
a second rule for the same function unless ``override=True``):

* `rulegrad_scipy.special`: ``owens_t``, a scipy ufunc, so it works on tracked values
  directly (``scipy.special.owens_t(h, w)``);
* `rulegrad_scipy.sparse`: methods of ``np.matmul``, ``np.multiply`` and ``np.sum`` for
  CSR matrices, with gradients for the dense operand and for the stored values.

Examples:
    >>> import numpy as np, scipy.special, rulegrad as rg
    >>> import rulegrad_scipy
    >>> w = rg.Param(np.array([0.0, 1.0]))
    >>> rg.grad(rg.diff(lambda: np.sum(scipy.special.owens_t(0.0, w))), w).round(4)
    array([0.1592, 0.0796])
"""

from __future__ import annotations

from typing import Any

from rulegrad.plugins import hookimpl

from . import sparse, special  # noqa: F401  (importing registers the rules)
from .special import owens_t

__all__ = ["owens_t", "rulegrad_register_vspaces", "sparse", "special"]


@hookimpl
def rulegrad_register_vspaces() -> Any:
    """CSR matrices as vectors of their stored values, for rulegrad's gradient checks.

    Examples:
        >>> rulegrad_register_vspaces().name
        'sparse'
    """
    return sparse.vspace()


__version__ = "0.1.0"
