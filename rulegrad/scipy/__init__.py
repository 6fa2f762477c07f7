"""rulegrad's scipy rules: a plugin of rulegrad itself (entry point ``scipy``), active
whenever scipy is installed.

Like the numpy backend (`rulegrad.backends.cpu`), it is found through rulegrad's own
``rulegrad`` entry point and loaded lazily, before the first tape or when scipy is
imported: ``import rulegrad`` imports neither this package nor scipy. Its hook imports the
rule modules, which register their primitives:

* `rulegrad.scipy.special`: scipy.special's functions (``gammaln``, ``jv``, ``logsumexp``, ...);
* `rulegrad.scipy.stats`: ``logpdf``/``pdf``/``logcdf``/``cdf``/``sf`` (``logpmf``/``pmf``)
  of ``norm t gamma beta dirichlet multivariate_normal poisson chi2 expon``;
* `rulegrad.scipy.linalg`: ``solve_triangular cholesky cho_factor cho_solve lu_factor lu_solve
  sqrtm expm logm solve_sylvester solve_banded eigh det inv``;
* `rulegrad.scipy.signal`: ``convolve correlate fftconvolve oaconvolve convolve2d correlate2d``;
* `rulegrad.scipy.integrate`, where present.

scipy's ufuncs reach rulegrad through numpy's protocols; its Python functions and
distribution methods are *intercepted* while the plugin is loaded (see
`rulegrad.scipy._intercept`): a call with a tracked argument runs rulegrad's primitive,
any other call runs scipy's function as before. Without scipy the plugin registers
nothing and ``rulegrad info`` says "scipy not installed".

Examples:
    >>> import numpy as np, scipy.special, rulegrad as rg
    >>> rg.grad(lambda x: scipy.special.logsumexp(x))(np.zeros(2))
    array([0.5, 0.5])
"""

from __future__ import annotations

import importlib

from ..plugins.hookspecs import hookimpl

__all__ = ["MODULES", "STATUS", "rulegrad_register_rules"]

#: The rule modules, in the order they are imported; a missing ``integrate`` is skipped.
MODULES = ("special", "stats", "linalg", "signal", "integrate")


def _status() -> str:
    try:
        import scipy  # noqa: F401  (the plugin loads at first use, never at `import rulegrad`)
    except ImportError:
        return "scipy not installed"
    return ""


#: What ``rulegrad info`` shows next to the plugin: "" when scipy is installed.
STATUS = _status()


@hookimpl
def rulegrad_register_rules() -> None:
    """Import the rule modules (nothing without scipy)."""
    if STATUS:
        return
    for name in MODULES:
        module = f"{__name__}.{name}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:  # a module that is there failed to import something
                raise
