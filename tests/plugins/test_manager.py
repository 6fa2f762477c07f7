"""Loading plugins from entry points: discovery, isolation of failures, strict mode."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import plugins
from rulegrad.core.primitive import PRIMITIVES

GOOD = """
    import numpy as np
    import rulegrad as rg
    from rulegrad.plugins import Backend, hookimpl

    class Twin(Backend):
        name, modules = "twin", ("numpy",)

    @hookimpl
    def rulegrad_register_backends():
        return Twin()

    @hookimpl
    def rulegrad_register_rules():
        @rg.primitive(lambda dy, y, x: 3 * dy, domain=rg.Domain(args=("real",)))
        def triple(x):
            return 3 * x
"""


def test_builtin_backends_load_through_entry_points() -> None:
    """The cpu and gpu plugins are found and loaded like any other."""
    registry = plugins.load()
    assert registry.plugins["cpu"].ok and registry.plugins["gpu"].ok
    assert set(registry.backends) >= {"cpu", "gpu"}
    assert registry.backend("cpu").xp is np


def test_discovers_a_throwaway_plugin(install) -> None:
    """A package declaring a rulegrad entry point is imported and its hooks are called."""
    install("throwaway_good", GOOD)
    registry = plugins.load(reload=True)
    record = registry.plugins["throwaway_good"]
    assert record.ok, record.error
    assert record.dist == "throwaway_good 0.1" and record.backends == ["twin"]
    assert [m.name for m in record.methods] == ["triple"]
    assert registry.backend("twin").owns(np.zeros(2))
    triple = record.methods[0].primitive
    assert triple in PRIMITIVES.values()
    x = rg.Param(np.array([1.0, 2.0]))
    assert rg.grad(rg.diff(lambda: np.sum(triple(x))), x).tolist() == [3.0, 3.0]


def test_load_is_lazy_and_happens_once() -> None:
    """A second load() returns the same registry without looking again."""
    assert plugins.load() is plugins.load() is plugins.REGISTRY


def test_a_plugin_that_fails_to_import_is_reported_not_raised(install) -> None:
    """An import error is recorded with the plugin's name; the others still load."""
    install("throwaway_broken", "import not_a_module_anywhere_xyz\n")
    with pytest.warns(plugins.PluginWarning, match="throwaway_broken"):
        registry = plugins.load(reload=True)
    record = registry.plugins["throwaway_broken"]
    assert not record.ok
    assert record.error.startswith(
        "ModuleNotFoundError: No module named 'not_a_module_anywhere_xyz'"
    )
    assert registry.failures == [record]
    assert registry.plugins["cpu"].ok and registry.backend("cpu").available


def test_a_hook_that_raises_marks_only_its_plugin(install) -> None:
    """An exception in rulegrad_register_rules fails that plugin, with the hook named."""
    install("throwaway_raises", """
        from rulegrad.plugins import hookimpl

        @hookimpl
        def rulegrad_register_rules():
            raise RuntimeError("boom")
    """)  # fmt: skip
    with pytest.warns(plugins.PluginWarning):
        registry = plugins.load(reload=True)
    assert registry.plugins["throwaway_raises"].error == "RuntimeError: boom"
    assert [p.name for p in registry.failures] == ["throwaway_raises"]


def test_unknown_hooks_are_an_error(install) -> None:
    """A misspelt hook name fails the plugin instead of being silently ignored."""
    install("throwaway_typo", """
        from rulegrad.plugins import hookimpl

        @hookimpl
        def rulegrad_register_rule():
            pass
    """)  # fmt: skip
    with pytest.warns(plugins.PluginWarning):
        record = plugins.load(reload=True).plugins["throwaway_typo"]
    assert "unknown hook(s) rulegrad_register_rule" in record.error


def test_a_backend_name_can_be_taken_once(install) -> None:
    """A second plugin registering backend 'cpu' fails; the built-in one stays."""
    install("throwaway_cpu", """
        from rulegrad.plugins import Backend, hookimpl

        class Fake(Backend):
            name, modules = "cpu", ("numpy",)

        @hookimpl
        def rulegrad_register_backends():
            return [Fake()]
    """)  # fmt: skip
    with pytest.warns(plugins.PluginWarning):
        registry = plugins.load(reload=True)
    assert "already registered by 'cpu'" in registry.plugins["throwaway_cpu"].error
    assert type(registry.backends["cpu"]).__name__ == "CpuBackend"


def test_strict_mode_raises(install, monkeypatch: pytest.MonkeyPatch) -> None:
    """RULEGRAD_PLUGINS_STRICT=1 turns a failing plugin into a PluginError."""
    install("throwaway_strict", "raise ImportError('missing dependency')\n")
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    with pytest.raises(plugins.PluginError, match="throwaway_strict.*missing dependency"):
        plugins.load(reload=True)
    monkeypatch.delenv(plugins.STRICT_ENV)


def test_register_by_hand(scratch_registry: None) -> None:
    """plugins.register() takes a module-like object and credits its methods to it."""
    import types

    mod = types.ModuleType("handmade_plugin")

    @plugins.hookimpl
    def rulegrad_register_rules() -> None:
        @rg.primitive(lambda dy, y, x: dy, domain=rg.Domain(args=("real",)))
        def handmade_identity(x: object) -> object:
            return x

    mod.rulegrad_register_rules = rulegrad_register_rules
    record = plugins.register(mod)
    assert record.ok and record.source == "register()"
    assert [m.name for m in record.methods] == ["handmade_identity"]
    plugins.load(reload=True)


def test_import_rulegrad_loads_no_plugin() -> None:
    """Plugins load at first use: importing rulegrad does not scan entry points or import cupy."""
    import subprocess
    import sys

    code = (
        "import sys, rulegrad; "
        "print('rulegrad.backends.cpu' in sys.modules, 'cupy' in sys.modules, "
        "'rulegrad_scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_a_backend_is_available_to_other_threads_only_once_activated() -> None:
    """While one thread activates a backend, another asking for it waits, then sees it ready."""
    import threading
    import time

    from rulegrad.plugins import Backend

    started, log = threading.Event(), []

    class Slow(Backend):
        name = "slow"
        modules = ("numpy",)

        def activate(self) -> None:
            started.set()
            assert self.xp is not None  # asking for itself during activation works
            time.sleep(0.2)
            log.append("activated")

    b = Slow()
    first = threading.Thread(target=lambda: b.available)
    first.start()
    started.wait()
    assert b.available and log == ["activated"]  # waited for the activation to finish
    first.join()


def test_a_backend_whose_activation_fails_is_unavailable_with_the_reason() -> None:
    from rulegrad.plugins import Backend

    class Broken(Backend):
        name = "broken"
        modules = ("numpy",)

        def activate(self) -> None:
            raise RuntimeError("no device")

    b = Broken()
    assert not b.available and b.reason == "RuntimeError: no device"


# ---- installed plugins are active from the first call (issue 14 item 2) ----
MARKED_I0 = """
    import numpy as np
    import rulegrad as rg

    rg.primitive(np.i0, lambda dy, y, x: 7.0 * dy)  # a marker, to see that this rule ran
"""


def _first_call(site: object, code: str) -> list[str]:
    """Run ``code`` in a new interpreter that has the plugin folder ``site`` on its path."""
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{root}"}
    env.pop(plugins.STRICT_ENV, None)
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_an_installed_plugin_rule_works_in_the_first_diff(install) -> None:
    """The first rulegrad call of a process, a diff, already uses an installed plugin's rule."""
    site = install("throwaway_first_diff", MARKED_I0)
    out = _first_call(site, """
        import numpy as np, rulegrad as rg
        from rulegrad.core.box import FUNCTIONS
        assert np.i0 not in FUNCTIONS  # no built-in rule: the plugin's is the only one
        w = rg.Param(np.array([0.5, 1.0]))
        print(*rg.grad(rg.diff(lambda: np.sum(np.i0(w))), w))
    """)  # fmt: skip
    assert out == ["7.0", "7.0"]


def test_an_installed_plugin_is_loaded_before_a_missing_rule_is_decided(install) -> None:
    """Outside any diff, a tracked value meeting a function with no handler loads plugins first."""
    site = install("throwaway_first_call", MARKED_I0)
    out = _first_call(site, """
        import sys
        import numpy as np, rulegrad as rg
        y = np.i0(rg.Param(np.array([0.0])))
        print('throwaway_first_call' in sys.modules, *np.round(rg.value(y), 6))
    """)  # fmt: skip
    assert out == ["True", "1.0"]


def test_importing_scipy_loads_the_plugins_and_a_strict_failure_waits(install) -> None:
    """``import scipy`` after rulegrad loads the plugins (the scipy plugin's wrappers are then
    what ``from scipy.x import f`` binds); a plugin failing in strict mode does not fail the
    user's import: the error comes at the next load, the first diff."""
    pytest.importorskip("scipy")
    site = install("throwaway_on_import", "raise ImportError('missing dependency')\n")
    out = _first_call(site, """
        import os, sys, warnings
        warnings.simplefilter("ignore")
        import numpy as np, rulegrad as rg
        print('rulegrad.scipy' in sys.modules)
        os.environ["RULEGRAD_PLUGINS_STRICT"] = "1"
        import scipy
        print('rulegrad.scipy' in sys.modules, type(scipy.__spec__.loader).__name__)
        try:
            rg.grad(lambda x: x * x)(1.0)
        except rg.plugins.PluginError as e:
            print("PluginError", "throwaway_on_import" in str(e))
    """)  # fmt: skip
    assert out == ["False", "True", "SourceFileLoader", "PluginError", "True"]


# ---- a failing plugin never takes the others down (issue 18) ----
def test_a_plugin_calling_sys_exit_is_recorded_not_obeyed(install) -> None:
    """sys.exit at a plugin's import or in its hook fails that plugin only; load() returns."""
    install("throwaway_exit_import", "import sys\nsys.exit(3)\n")
    install("throwaway_exit_hook", """
        import sys
        from rulegrad.plugins import hookimpl

        @hookimpl
        def rulegrad_register_rules():
            sys.exit("bye")
    """)  # fmt: skip
    with pytest.warns(plugins.PluginWarning):
        registry = plugins.load(reload=True)
    assert registry.plugins["throwaway_exit_import"].error == "SystemExit: 3"
    assert registry.plugins["throwaway_exit_hook"].error == "SystemExit: bye"
    assert registry.backend("cpu").available


def test_a_strict_failure_keeps_the_builtin_backends_and_is_retried(
    install, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After strict mode raised, cpu is registered and the next load() tries the plugin again."""
    site = install("throwaway_retry", "raise ImportError('not yet')\n")
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    with pytest.raises(plugins.PluginError, match="throwaway_retry.*not yet"):
        plugins.load(reload=True)
    assert plugins.REGISTRY.backends["cpu"].available  # registered all the same
    with pytest.raises(plugins.PluginError, match="throwaway_retry"):
        rg.to(np.zeros(2), "cpu")  # strict: every load says so while the plugin is broken
    (site / "throwaway_retry.py").write_text("VALUE = 1\n")  # the author fixes it
    assert type(rg.to(np.zeros(2), "cpu")) is np.ndarray
    assert plugins.REGISTRY.plugins["throwaway_retry"].ok and plugins.REGISTRY.failures == []
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    assert rg.nn.conv4(w, x).shape == (1, 1, 2, 2)


def test_a_plugin_whose_hook_raised_is_gone_from_the_manager(install) -> None:
    """A plugin failed by one hook is unregistered: its other hooks (vector spaces) never run."""
    from rulegrad.testing import vspace_of

    install("throwaway_half", """
        from rulegrad.plugins import hookimpl

        class Thing:
            pass

        ASKED = []

        @hookimpl
        def rulegrad_register_rules():
            raise RuntimeError("half registered")

        @hookimpl
        def rulegrad_register_vspaces():
            ASKED.append(1)
    """)  # fmt: skip
    with pytest.warns(plugins.PluginWarning, match="half registered"):
        plugins.load(reload=True)
    import throwaway_half

    assert plugins.manager().get_plugin("throwaway_half") is None
    assert vspace_of(throwaway_half.Thing()) is None
    assert throwaway_half.ASKED == []


# ---- plugins may not replace others' rules silently, nor leave ambiguities (issue 18) ----
def test_a_plugin_override_is_refused_unless_declared_whenever_plugins_load(install) -> None:
    """An undeclared override of np.sin fails its plugin; a declared one of np.cos holds from
    the first diff of a new process on, and `rulegrad info` lists it."""
    install("throwaway_sneaky", """
        import numpy as np
        import rulegrad as rg

        rg.primitive(np.sin, lambda dy, y, x: 7.0 * dy)
    """)  # fmt: skip
    site = install("throwaway_declared", """
        import numpy as np
        import rulegrad as rg

        rg.primitive(np.cos, lambda dy, y, x: 7.0 * dy, override=True)
    """)  # fmt: skip
    out = _first_call(site, """
        import warnings
        import numpy as np, rulegrad as rg
        w = rg.Param(np.array([0.5]))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print(*np.round(rg.grad(rg.diff(lambda: np.sum(np.sin(w))), w), 6))
        print(*np.round(rg.grad(rg.diff(lambda: np.sum(np.cos(w))), w), 6))
        print(any("throwaway_sneaky" in str(c.message) for c in caught))
        from rulegrad.plugins.info import report
        text = report(("plugins", "primitives"))
        print(*[x.split()[0] for x in text.splitlines() if ", overrides" in x])
    """)  # fmt: skip
    assert out[:3] == [str(np.round(np.cos(0.5), 6)), "7.0", "True"]
    assert out[3:] == ["throwaway_declared", "np.cos"]


AMBIGUOUS = """
    import numpy as np
    import rulegrad as rg

    @rg.primitive(None, None, of=np.maximum)
    def maximum_left(x: np.ndarray, y: object) -> object:
        return np.maximum(x, y)

    @rg.primitive(None, None, of=np.maximum)
    def maximum_right(x: object, y: np.ndarray) -> object:
        return np.maximum(x, y)
"""


def test_a_plugin_leaving_an_ambiguity_fails_and_its_methods_go(install) -> None:
    """Two overlapping methods of equal rank fail their plugin, named; np.maximum works on."""
    install("throwaway_ambiguous", AMBIGUOUS)
    with pytest.warns(
        plugins.PluginWarning,
        match=r"np.maximum\[ndarray,object\].*np.maximum\[object,ndarray\].*ambiguous",
    ):
        registry = plugins.load(reload=True)
    assert "RuleConflictError" in registry.plugins["throwaway_ambiguous"].error
    assert registry.plugins["throwaway_ambiguous"].methods == []
    w, x = rg.Param(np.array([1.0, -1.0])), np.zeros(2)
    assert rg.grad(rg.diff(lambda: np.sum(np.maximum(w, x))), w).tolist() == [1.0, 0.0]


def test_strict_mode_makes_a_refused_override_an_error(
    install, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RULEGRAD_PLUGINS_STRICT=1: a plugin replacing np.sin's rule unasked is a PluginError."""
    install("throwaway_strict_override", """
        import numpy as np
        import rulegrad as rg

        rg.primitive(np.sin, lambda dy, y, x: 7.0 * dy)
    """)  # fmt: skip
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    with pytest.raises(plugins.PluginError, match=r"RuleConflictError: np.sin\[object\]"):
        plugins.load(reload=True)
    monkeypatch.delenv(plugins.STRICT_ENV)
    with pytest.warns(plugins.PluginWarning, match="throwaway_strict_override"):
        plugins.load()  # tried again, now only a warning
    x = rg.Param(np.array([0.5]))
    assert np.allclose(rg.grad(rg.diff(lambda: np.sum(np.sin(x))), x), np.cos(0.5))
