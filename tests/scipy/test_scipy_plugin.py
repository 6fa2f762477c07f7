"""rulegrad/scipy/__init__.py: the plugin, its entry point, lazy loading, interception."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import plugins


def test_registered_through_rulegrads_entry_point() -> None:
    """Loading plugins imports rulegrad.scipy under the name 'scipy' and credits its methods."""
    record = plugins.load().plugins["scipy"]
    assert record.ok, record.error
    assert record.value == "rulegrad.scipy"
    assert len(record.methods) >= 60


def test_import_rulegrad_does_not_import_scipy() -> None:
    """`import rulegrad` imports neither scipy nor rulegrad.scipy; the first tape does."""
    code = (
        "import sys, numpy as np, rulegrad as rg; "
        "print('scipy' in sys.modules, 'rulegrad.scipy' in sys.modules); "
        "rg.grad(lambda x: np.sum(x * x))(np.ones(2)); "
        "print('rulegrad.scipy.special' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


@pytest.mark.parametrize("first", ["import rulegrad", "import scipy.linalg, scipy.integrate"])
def test_functions_imported_from_scipy_by_name_are_differentiable(first: str) -> None:
    """``from scipy.integrate import odeint`` binds the plugin's wrapper whether scipy is
    imported after rulegrad (its import loads the plugins) or before (import rulegrad
    does), as a script's imports come; so does ``from scipy.linalg import cholesky``."""
    code = f"""
{first}
import numpy as np, rulegrad as rg
from scipy.integrate import odeint
from scipy.linalg import cholesky
print(round(rg.grad(lambda k: odeint(lambda y, t, k: -k * y, np.array([1.0]), [0.0, 2.0],
                                     args=(k,), rtol=1e-10)[-1, 0])(1.0), 6))
print(rg.grad(lambda a: np.sum(cholesky(a * np.eye(2))))(4.0))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(round(-2 * np.exp(-2.0), 6)), "0.5"]


@pytest.mark.parametrize("first", ["import rulegrad.scipy", "import rulegrad.scipy.catalog"])
def test_a_plugin_importing_scipy_at_its_top_is_not_registered_half_made(first: str) -> None:
    """A plugin module whose own import imports scipy (rulegrad.scipy checks for it) is not
    loaded from inside that import, where it has no hooks yet: the first use loads it."""
    count = "len(plugins.load().plugins['scipy'].methods)"
    code = f"{first}; from rulegrad import plugins; print({count})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 100


def test_without_scipy_it_registers_nothing_quietly() -> None:
    """With scipy hidden, the plugin loads (no failure) with no methods, and says why."""
    code = (
        "import sys; sys.modules['scipy'] = None; "
        "import rulegrad.scipy as s; from rulegrad import plugins; "
        "r = plugins.load().plugins['scipy']; print(r.ok, len(r.methods), repr(s.STATUS))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True 0 'scipy not installed'"


def test_intercepted_function_runs_scipys_own_for_plain_values() -> None:
    """scipy.special.logsumexp with plain arguments is scipy's function, with its options."""
    import scipy.special as sc

    plugins.load()
    assert sc.logsumexp.__wrapped__ is not None
    value, sign = sc.logsumexp(np.array([0.0, 0.0]), b=np.array([1.0, -2.0]), return_sign=True)
    assert sign == -1.0 and np.isclose(value, 0.0)


def test_tracked_keyword_argument_is_recorded() -> None:
    """A tracked value given by keyword (logsumexp's b=) gets its gradient."""
    import scipy.special as sc

    a = np.array([0.5, -1.0, 2.0])
    g = rg.grad(lambda b: sc.logsumexp(a, b=b))(np.array([1.0, 2.0, 0.5]))
    w = np.exp(a) / np.sum(np.array([1.0, 2.0, 0.5]) * np.exp(a))
    np.testing.assert_allclose(g, w)


LIST_CALLS = [
    "gamma.logpdf", "gamma.cdf", "t.logpdf", "poisson.logpmf", "dirichlet.logpdf",
    "convolve", "polygamma",
]  # fmt: skip


@pytest.mark.parametrize("name", LIST_CALLS)
def test_plain_list_arguments_are_arrays(name: str) -> None:
    """A plain list (or tuple) argument beside a tracked one means its array, as for scipy;
    the rules got the list (gamma.logpdf(w, [1.0, 2.0]): TypeError list - int)."""
    import scipy.signal as sg
    import scipy.special as sc
    import scipy.stats as ss

    plugins.load()
    f = {
        "gamma.logpdf": lambda w: ss.gamma.logpdf(w, [1.0, 2.0]),
        "gamma.cdf": lambda w: ss.gamma.cdf([1.0, 2.0], w),
        "t.logpdf": lambda w: ss.t.logpdf((1.0, 2.0), w, scale=[1.0, 2.0]),
        "poisson.logpmf": lambda w: ss.poisson.logpmf([1, 2], w),
        "dirichlet.logpdf": lambda w: ss.dirichlet.logpdf([0.3, 0.7], w),
        "convolve": lambda w: sg.convolve(w, [1.0, 2.0]),
        "polygamma": lambda w: sc.polygamma([1, 2], w),
    }[name]
    w = np.array([0.3, 0.7])
    assert rg.checkgrad(lambda w: np.sum(f(w)), w) < 1e-5
    _, t = rg.jvp(lambda w: np.sum(f(w)), (w,), (np.ones(2),))
    np.testing.assert_allclose(t, np.sum(rg.grad(lambda w: np.sum(f(w)))(w)))


def test_no_derivative_argument_raises() -> None:
    """A tracked order of jv, or gammainc's second derivative in its shape, is a RuleError
    naming the argument."""
    import scipy.special as sc

    with pytest.raises(rg.RuleError, match="jv: no derivative w.r.t. v"):
        rg.grad(lambda v: np.sum(sc.jv(v, 2.0)))(np.array([1.5]))
    with pytest.raises(rg.RuleError, match="gammainc_da: no derivative w.r.t. a"):
        rg.grad(rg.grad(lambda a: sc.gammainc(a, 2.0)))(1.5)


def test_generated_check_skips_an_argument_with_no_derivative() -> None:
    """jv's check draws its order as a plain value and never calls the raising rule."""
    import scipy.special as sc

    from rulegrad.testing import autotests

    plugins.load()
    method = rg.core.PRIMITIVES[sc.jv].methods[0]
    assert getattr(method.rules[0], "nondiff", False)
    autotests.method_test(method, max_examples=5)()
    assert autotests.STATS[method].examples == 5


def test_info_says_scipy_not_installed() -> None:
    """`rulegrad info` lists the plugin as loaded, with 0 methods and why, when scipy is absent."""
    code = (
        "import sys; sys.modules['scipy'] = None; "
        "from rulegrad.plugins.info import report; print(report(('plugins',)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(ln for ln in out.stdout.splitlines() if "rulegrad.scipy" in ln)
    assert "0 methods (scipy not installed)" in line and "FAILED" not in line
