"""What the plugins registered, and by whom: backends, one record per plugin, and queries.

`REGISTRY` is filled by `rulegrad.plugins.load`; ``rulegrad info``, ``rulegrad check``
and `rulegrad.to` read it. A `Backend` is an array library rulegrad runs on: its name,
its array types and namespace, whether it is usable here (and why not), and moving
arrays to and from host memory.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from ..core.errors import RulegradError
from ..core.primitive import Method

__all__ = [
    "REGISTRY",
    "Backend",
    "BackendUnavailableError",
    "PluginError",
    "PluginRecord",
    "Registry",
]


class PluginError(RulegradError):
    """A plugin failed to import or register (raised only in strict mode)."""


class BackendUnavailableError(RulegradError):
    """A backend was asked for that is not registered, or cannot run on this machine."""


class Backend:
    """An array library rulegrad runs on. Subclass it in a backend plugin.

    Override `load` (import and return the array namespace, raising with a helpful
    message when it cannot run here) and, where the defaults do not fit,
    `array_types`, `from_host`, `to_host`, `synchronize` and `activate`. Nothing is
    imported until the backend is first used: `available` and `xp` load it once and
    remember the outcome.

    Attributes:
        name: the name users pass to ``rg.to(x, name)``: ``"cpu"``, ``"gpu"``, ...
        modules: top-level modules the backend's arrays come from; `owns` answers
            False without importing anything while none of them is imported.
        install: what to install when the library is missing, for messages.
        random: the backend's random-number module (`rulegrad.backends.cpu.random`
            has the functions every backend offers), or None.

    Examples:
        >>> class Host(Backend):
        ...     name, modules = "host", ("numpy",)
        >>> b = Host()
        >>> b.available, b.xp.__name__, b.owns(np.zeros(2)), b.owns([1.0])
        (True, 'numpy', True, False)
    """

    name: str = ""
    modules: tuple[str, ...] = ()
    install: str = ""
    random: ModuleType | None = None

    def __init__(self) -> None:
        self._xp: ModuleType | None = None
        self._reason: str | None = None  # None: not probed yet; "": available
        self._ready = False  # probed, and activated when available
        self._probing = threading.RLock()  # re-entrant: activate() may ask for xp

    # ---- to override ----
    def load(self) -> ModuleType:
        """Import and return the array namespace; raise (with the reason) if unusable."""
        import importlib

        return importlib.import_module(self.modules[0])

    def array_types(self) -> tuple[type, ...]:
        """The array types this backend owns (default: the namespace's ``ndarray``)."""
        return (self.xp.ndarray,)

    def from_host(self, a: np.ndarray) -> Any:
        """A numpy array (or numpy scalar) as an array of this backend."""
        return self.xp.asarray(a)

    def to_host(self, a: Any) -> np.ndarray:
        """An array of this backend as a numpy array."""
        return np.asarray(a)

    def synchronize(self) -> None:
        """Wait until queued work is done (for timings); a no-op for synchronous backends."""

    def activate(self) -> None:
        """Called once, right after the first successful `load`: register the methods
        that need the library imported (GPU kernels for ``cupy.ndarray``, say)."""

    # ---- provided ----
    @property
    def available(self) -> bool:
        """Whether the backend can run here (loads it on first use)."""
        return self.reason == ""

    @property
    def reason(self) -> str:
        """Why the backend cannot run here; ``""`` when it can (loads it on first use)."""
        if self._ready:
            return self._reason  # type: ignore[return-value]
        with self._probing:  # other threads wait here until the methods are registered
            if self._reason is None:
                try:
                    self._xp = self.load()
                    self._reason = ""
                    self.activate()
                except Exception as e:  # any failure to load means "unavailable, because"
                    self._reason = f"{type(e).__name__}: {e}"
                    if self.install and isinstance(e, ImportError):
                        self._reason += f" (install with: {self.install})"
                self._ready = True  # (a nested call from activate() leaves this to us)
        return self._reason

    @property
    def xp(self) -> ModuleType:
        """The array namespace (``numpy``, ``cupy``); raises when unavailable."""
        if not self.available:
            raise BackendUnavailableError(f"backend {self.name!r} is unavailable: {self.reason}")
        assert self._xp is not None
        return self._xp

    def owns(self, x: Any) -> bool:
        """Whether ``x`` is an array of this backend (imports nothing new)."""
        if not all(m in sys.modules for m in self.modules) or not self.available:
            return False
        return isinstance(x, self.array_types())

    def __repr__(self) -> str:
        state = "available" if self._reason == "" else "unavailable" if self._reason else "unprobed"
        return f"<backend {self.name} ({state})>"


@dataclass
class PluginRecord:
    """One plugin: where it came from, what it registered, and its error if it failed.

    Attributes:
        name: the entry-point name (or the name given to `rulegrad.plugins.register`).
        value: what was loaded: the entry point's value, such as ``"rulegrad.backends.cpu"``.
        dist: the distribution that declared it, such as ``"rulegrad 0.1.0"`` (or ``""``).
        source: how it was found: ``"entry point"``, ``"register()"``, ...
        error: ``"ExceptionType: message"`` when it failed to import or register.
        backends: names of the backends it registered.
        methods: the primitive methods registered while it loaded.
    """

    name: str
    value: str
    dist: str = ""
    source: str = "entry point"
    error: str | None = None
    backends: list[str] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Registry:
    """Everything the plugins registered: `plugins` by name, `backends` by name."""

    plugins: dict[str, PluginRecord] = field(default_factory=dict)
    backends: dict[str, Backend] = field(default_factory=dict)

    def clear(self) -> None:
        self.plugins.clear()
        self.backends.clear()

    @property
    def failures(self) -> list[PluginRecord]:
        """The plugins that failed to import or register."""
        return [p for p in self.plugins.values() if not p.ok]

    def backend(self, name: str) -> Backend:
        """The backend called ``name``; `BackendUnavailableError` if none is, or it cannot run.

        Examples:
            >>> from rulegrad.plugins import load
            >>> load().backend("cpu").xp.__name__
            'numpy'
        """
        b = self.backends.get(name)
        if b is None:
            known = ", ".join(self.backends) or "none"
            raise BackendUnavailableError(
                f"no backend is called {name!r}; the registered backends are: {known}. "
                "A backend comes from a plugin in the 'rulegrad' entry-point group "
                "(see `rulegrad info`)."
            )
        b.xp  # noqa: B018  (raises with the reason when unavailable)
        return b

    def backend_of(self, x: Any) -> Backend | None:
        """The backend whose array type ``x`` is, or None (Python numbers, lists, ...)."""
        for b in self.backends.values():
            if b.owns(x):
                return b
        return None

    def credit(self) -> None:
        """Credit each plugin with the methods registered from its modules since it loaded
        (a backend registers its methods when first used, say)."""
        from ..core.primitive import PRIMITIVES

        methods = [m for prim in PRIMITIVES.values() for m in prim.methods]
        for record in self.plugins.values():
            module = record.value.split(":")[0]
            have = {id(m) for m in record.methods}
            record.methods += [
                m
                for m in methods
                if id(m) not in have and (m.origin == module or m.origin.startswith(module + "."))
            ]

    def plugin_of(self, method: Method) -> PluginRecord | None:
        """The plugin that registered ``method``, if a plugin did."""
        for p in self.plugins.values():
            if any(m is method for m in p.methods):
                return p
        return None


#: The one registry, filled by `rulegrad.plugins.load`.
REGISTRY = Registry()
