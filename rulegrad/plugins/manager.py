"""The plugin manager: find the ``rulegrad`` entry points, load each plugin, call its hooks.

Loading happens once, at first use: before the first tape records (the first ``diff``,
``jit`` or ``vjp``), before a tracked value is said to have no rule, and at ``rg.to``,
``rulegrad info`` and backend lookups; and as soon as scipy is imported (`ON_IMPORT`), so
that ``from scipy.linalg import cholesky`` binds the function the scipy plugin wraps.
``import rulegrad`` loads nothing unless scipy is imported already, and stays fast.
Each plugin is loaded and its hooks are called on their own, so one that fails to
import or register (an exception, or ``sys.exit``) is recorded (name, error) in
`REGISTRY` and warned about, and the others load as usual. With the environment
variable ``RULEGRAD_PLUGINS_STRICT=1`` a failure raises `PluginError` instead, once
every other plugin is loaded, and the next `load` tries the failed plugins again: for
plugin authors and CI.

pluggy's own ``load_setuptools_entrypoints`` lets the first error propagate, which is
why the loop over entry points is ours.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.metadata
import os
import sys
import warnings
from collections.abc import Iterable
from functools import partial
from typing import Any

import pluggy

from ..core.errors import RuleConflictError
from ..core.primitive import PRIMITIVES, Method
from ..core.tape import FIRST_USE_LOCK
from . import hookspecs
from .registry import REGISTRY, Backend, PluginError, PluginRecord, Registry

__all__ = [
    "GROUP", "ON_IMPORT", "STRICT_ENV", "PluginWarning", "load", "load_on_import", "manager",
    "register",
]  # fmt: skip

#: The entry-point group plugins are declared in.
GROUP = hookspecs.PROJECT
#: Set to 1 to make a plugin that fails to load raise `PluginError`.
STRICT_ENV = "RULEGRAD_PLUGINS_STRICT"
#: rulegrad's own plugins, declared in its pyproject.toml like any other; loaded from
#: here only when its installed metadata lacks them (an editable install made before
#: they were added), and marked so in ``rulegrad info``.
BUILTIN = {
    "cpu": "rulegrad.backends.cpu",
    "gpu": "rulegrad.backends.gpu",
    "scipy": "rulegrad.scipy",
}

#: Modules whose import loads the plugins at once (`load_on_import`): rulegrad's scipy
#: plugin wraps functions of scipy's modules in place, and ``from scipy.integrate import
#: odeint`` binds the function that is there when it runs.
ON_IMPORT = ("scipy",)

_lock = FIRST_USE_LOCK  # the core runs `load` under it before the first tape
_state: dict[str, Any] = {"pm": None, "loaded": False}


class PluginWarning(UserWarning):
    """A plugin failed to import or register; it is skipped (see ``rulegrad info``)."""


def strict() -> bool:
    """Whether plugin failures raise (``RULEGRAD_PLUGINS_STRICT`` set and not 0)."""
    return os.environ.get(STRICT_ENV, "").strip() not in ("", "0", "false", "False")


def manager() -> pluggy.PluginManager:
    """The pluggy `PluginManager` holding the loaded plugins (made on first call)."""
    with _lock:
        if _state["pm"] is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            _state["pm"] = pm
        return _state["pm"]


def load(*, reload: bool = False) -> Registry:
    """Load every plugin of the ``rulegrad`` entry-point group (once) and return the registry.

    Args:
        reload: forget the loaded plugins and look for entry points again (after
            installing a plugin in a running interpreter, and in tests). Methods
            already registered stay registered: primitives have no "unregister".

    Returns:
        `REGISTRY`, with a `PluginRecord` per plugin and the backends they provide.

    Raises:
        PluginError: in strict mode, when a plugin fails to import or register.

    Examples:
        >>> registry = load()
        >>> registry.plugins["cpu"].ok, registry.backends["cpu"].available
        (True, True)
    """
    with _lock:
        if _state["loaded"] and not reload:
            return REGISTRY
        if reload:
            REGISTRY.clear()
            _state["pm"] = None
        _state["loaded"] = True  # before loading: a plugin's hook may call load() again
        try:
            _load_all()
        except BaseException:
            _state["loaded"] = False
            raise
        _raise_if_strict(REGISTRY.failures)
        return REGISTRY


def load_on_import(names: Iterable[str] = ON_IMPORT) -> None:
    """Load the plugins as soon as one of the top-level modules ``names`` is imported, or
    now if one already is (``import rulegrad`` calls this with `ON_IMPORT`).

    So ``from scipy.linalg import cholesky`` after ``import rulegrad`` binds the function the
    scipy plugin wrapped, not scipy's own, without ``import rulegrad`` importing scipy.
    A plugin that fails here fails as it would at first use (a warning, or in strict mode
    a `PluginError` at the next `load`); the import itself goes on.

    Examples:
        >>> load_on_import(["json"])  # (imported already: the plugins load now)
        >>> _state["loaded"]
        True
    """
    names = set(names)
    if names & sys.modules.keys():
        _load_quietly()
    elif names and not any(isinstance(f, _LoadAfter) for f in sys.meta_path):
        sys.meta_path.insert(0, _LoadAfter(names))


def _load_quietly() -> None:
    """`load`, leaving a strict-mode failure to the next `load` (it is tried again there).

    Skipped, for the first use to do, while a plugin's module is itself being imported (it
    imports scipy, or rulegrad, at its top: loading now would register it half-made), and
    while another thread holds the lock: that thread is loading the plugins, and waiting
    here, inside an import, could deadlock with its own imports."""
    if _plugin_importing() or not _lock.acquire(blocking=False):
        return
    try:
        load()
    except PluginError:
        pass
    finally:
        _lock.release()


def _plugin_importing() -> bool:
    """Whether the module of an installed plugin is in the middle of its import."""
    names = {ep.value.partition(":")[0] for ep in _entry_points()} | set(BUILTIN.values())
    modules = (sys.modules.get(name) for name in names)
    return any(getattr(getattr(m, "__spec__", None), "_initializing", False) for m in modules)


class _LoadAfter(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when a module of ``names`` is about to be imported, it leaves
    ``sys.meta_path`` and hands back the module's own spec with a loader that runs the
    module, then `load`."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.names or self not in sys.meta_path:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _ThenLoad(spec.loader)
                return spec
        return None


class _ThenLoad(importlib.abc.Loader):
    """A module's loader, and `load` once the module has run; the module keeps its loader."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _load_quietly()


def _load_all() -> None:
    """Import every plugin and call its hooks; a failure is recorded on its plugin."""
    specs = [(ep.name, ep.value, ep.load, _dist_name(ep), "entry point") for ep in _entry_points()]
    for name, module in BUILTIN.items():
        if not any(spec[1] == module for spec in specs):
            source = "built in (no entry point: reinstall rulegrad to refresh its metadata)"
            specs.append((name, module, partial(importlib.import_module, module), "", source))
    # rulegrad's own plugins first, so a third-party one cannot take the name "cpu"
    specs.sort(key=lambda spec: spec[1] not in BUILTIN.values())
    found = [r for r in (_import(*spec) for spec in specs) if r is not None]
    for record in found:
        _call(record, "rulegrad_register_backends", _add_backends)
    for record in found:
        _call(record, "rulegrad_register_rules", None)
    for record in found:
        _settle(record)
    REGISTRY.credit()


def _raise_if_strict(failures: list[PluginRecord]) -> None:
    """In strict mode, raise `PluginError` naming these failures; the next `load` retries."""
    if not (failures and strict()):
        return
    _state["loaded"] = False
    lines = "; ".join(f"{r.name!r} ({r.value}): {r.error}" for r in failures)
    raise PluginError(
        f"rulegrad plugin(s) failed to load: {lines} ({STRICT_ENV} is set; the other "
        "plugins are loaded, and the next load() tries the failed ones again)"
    )


def register(plugin: Any, name: str | None = None) -> PluginRecord:
    """Register a plugin by hand: a module or object with ``@hookimpl`` functions.

    For applications and notebooks with plugins of their own, and for tests. The
    installed plugins are loaded first. Failures are recorded as for entry points.

    Examples:
        >>> import types
        >>> from rulegrad.plugins import hookimpl
        >>> mine = types.SimpleNamespace(rulegrad_register_rules=hookimpl(lambda: None))
        >>> register(mine, name="doc-example").ok
        True
    """
    with _lock:
        load()
        name = name or getattr(plugin, "__name__", None) or f"plugin-{id(plugin):x}"
        record = _import(
            name, getattr(plugin, "__name__", repr(plugin)), lambda: plugin, "", "register()"
        )
        if record is not None and record.ok:
            _call(record, "rulegrad_register_backends", _add_backends)
            _call(record, "rulegrad_register_rules", None)
            _settle(record)
            REGISTRY.credit()
        record = record or REGISTRY.plugins[name]
        _raise_if_strict([] if record.ok else [record])
        return record


# ---- the steps ----
def _entry_points() -> list[importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points(group=GROUP)
    seen: set[tuple[str, str]] = set()
    unique = []
    for ep in eps:  # the same distribution on sys.path twice lists its entry points twice
        if (ep.name, ep.value) not in seen:
            seen.add((ep.name, ep.value))
            unique.append(ep)
    return unique


def _dist_name(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ""
    return f"{dist.metadata['Name']} {dist.version}"


def _method_ids() -> dict[int, Method]:
    return {id(m): m for prim in PRIMITIVES.values() for m in prim.methods}


def _fail(record: PluginRecord, e: BaseException, step: str) -> None:
    """Record why a plugin failed, and warn (strict mode raises once all are loaded)."""
    record.error = f"{type(e).__name__}: {e}"
    if strict():
        return
    error = record.error.rstrip(".")
    message = f"rulegrad plugin {record.name!r} ({record.value}) failed to {step}: {error}"
    warnings.warn(f"{message}; it is skipped (see `rulegrad info`)", PluginWarning, stacklevel=4)


def _import(name: str, value: str, get: Any, dist: str, source: str) -> PluginRecord | None:
    """Import a plugin and register it with pluggy; None if one of that name and value is in."""
    old = REGISTRY.plugins.get(name)
    if old is not None and old.value == value and old.ok:
        return None
    record = PluginRecord(name=name, value=value, dist=dist, source=source)
    if old is not None and old.value != value:  # another plugin took this name: keep both
        record.name = f"{name} ({dist or value})"
    REGISTRY.plugins[record.name] = record
    before = _method_ids()
    try:
        plugin = get()
        pm = manager()
        pm.register(plugin, name=record.name)
        unknown = [
            c.name
            for c in pm.get_hookcallers(plugin) or ()
            if c.name.startswith("rulegrad_") and not c.has_spec()
        ]
        if unknown:
            pm.unregister(plugin)
            hooks = ", ".join(sorted(hookspecs_names()))
            raise pluggy.PluginValidationError(
                plugin, f"unknown hook(s) {', '.join(unknown)}; the hooks are: {hooks}"
            )
    except (Exception, SystemExit) as e:  # a plugin's sys.exit() ends only that plugin
        _fail(record, e, "import")
    finally:
        record.methods += [m for k, m in _method_ids().items() if k not in before]
    return record


def hookspecs_names() -> list[str]:
    """The names of the hooks a plugin may implement."""
    return [n for n in dir(hookspecs) if n.startswith("rulegrad_")]


def _call(record: PluginRecord, hook: str, handle: Any) -> None:
    """Call one plugin's implementation of ``hook``; record a failure on the plugin."""
    if not record.ok:
        return
    pm = manager()
    plugin = pm.get_plugin(record.name)
    before = _method_ids()
    try:
        for impl in getattr(pm.hook, hook).get_hookimpls():
            if impl.plugin is plugin:
                result = impl.function()
                if handle is not None:
                    handle(record, result)
    except (Exception, SystemExit) as e:
        pm.unregister(plugin)
        _fail(record, e, f"register ({hook})")
    finally:
        record.methods += [m for k, m in _method_ids().items() if k not in before]


def _settle(record: PluginRecord) -> None:
    """Fail a plugin whose methods leave a primitive ambiguous, and take them out of it.

    Methods are registered one at a time, so an ambiguity ((csr, object) and (object, csr)
    with no (csr, csr) yet) is judged once the plugin has registered all of them.
    """
    for prim in {id(m.primitive): m.primitive for m in record.methods}.values():
        why = prim.ambiguities()
        if not why:
            continue
        for m in [m for m in record.methods if m.primitive is prim]:
            if m in prim.methods:
                prim.remove(m)
            record.methods.remove(m)
        if record.ok:
            _fail(record, RuleConflictError("; ".join(why)), "register")


def _add_backends(record: PluginRecord, result: Backend | Iterable[Backend] | None) -> None:
    backends = [] if result is None else [result] if isinstance(result, Backend) else list(result)
    for b in backends:
        if not isinstance(b, Backend):
            raise TypeError(f"rulegrad_register_backends returned {b!r}, not a Backend")
        if not b.name:
            raise ValueError(f"backend {b!r} has no name")
        owner = next((p.name for p in REGISTRY.plugins.values() if b.name in p.backends), None)
        if owner is not None:
            raise ValueError(f"a backend called {b.name!r} is already registered by {owner!r}")
    for b in backends:
        REGISTRY.backends[b.name] = b
        record.backends.append(b.name)
