"""rulegrad-scipy: gradient rules for scipy.special functions and scipy.sparse CSR matrices.

An example of a third-party rule package. Its ``pyproject.toml`` declares the entry point
``scipy = "rulegrad_scipy"`` in the ``rulegrad`` group, so rulegrad imports this package
when it loads its plugins (``rulegrad info`` lists it, ``rulegrad check rulegrad_scipy``
checks every rule it registers). Importing it registers the rules, as importing a
rule file of rulegrad does; ``import rulegrad_scipy`` is all a program needs. Its one
hook, `rulegrad_register_vspaces`, is for the checks only: it tells them how to see a
CSR matrix as a vector of its stored values.

* `rulegrad_scipy.special`: ``gammaln``, ``digamma``, ``erf``, ``expit``, ``xlogy``, ...
  scipy's ufuncs work on tracked values directly (``scipy.special.gammaln(w)``);
* `rulegrad_scipy.sparse`: methods of ``np.matmul``, ``np.multiply`` and ``np.sum`` for
  CSR matrices, with gradients for the dense operand and for the stored values.

Examples:
    >>> import numpy as np, scipy.special, rulegrad as rg
    >>> import rulegrad_scipy
    >>> w = rg.Param(np.array([1.0, 2.0]))
    >>> rg.grad(rg.diff(lambda: np.sum(scipy.special.gammaln(w))), w).round(4)
    array([-0.5772,  0.4228])
"""

from __future__ import annotations

from typing import Any

from rulegrad.plugins import hookimpl

from . import sparse, special  # noqa: F401  (importing registers the rules)
from .special import polygamma

__all__ = ["polygamma", "rulegrad_register_vspaces", "sparse", "special"]


@hookimpl
def rulegrad_register_vspaces() -> Any:
    """CSR matrices as vectors of their stored values, for rulegrad's gradient checks.

    Examples:
        >>> rulegrad_register_vspaces().name
        'sparse'
    """
    return sparse.vspace()


__version__ = "0.1.0"
