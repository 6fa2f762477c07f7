"""Plugins: backends and rule packages found through the ``rulegrad`` entry-point group.

Importing this package only defines things; plugins load at first use (`load`). See
``docs/backends.md`` ("Writing a backend plugin") and ``docs/publishing-rules.md``
("Publishing a rule package").

Examples:
    >>> import numpy as np
    >>> from rulegrad import plugins
    >>> plugins.backend_of(np.zeros(3)).name
    'cpu'
"""

from __future__ import annotations

from typing import Any

from ..core import tape as _tape
from ..rules import conv as _conv
from .hookspecs import PROJECT as PROJECT
from .hookspecs import hookimpl as hookimpl
from .hookspecs import hookspec as hookspec
from .manager import GROUP as GROUP
from .manager import STRICT_ENV as STRICT_ENV
from .manager import PluginWarning as PluginWarning
from .manager import load as load
from .manager import load_on_import as load_on_import
from .manager import manager as manager
from .manager import register as register
from .registry import REGISTRY as REGISTRY
from .registry import Backend as Backend
from .registry import BackendUnavailableError as BackendUnavailableError
from .registry import PluginError as PluginError
from .registry import PluginRecord as PluginRecord
from .registry import Registry as Registry

__all__ = [
    "PROJECT", "hookimpl", "hookspec",
    "GROUP", "STRICT_ENV", "PluginWarning", "load", "load_on_import", "manager", "register",
    "REGISTRY", "Backend", "BackendUnavailableError", "PluginError", "PluginRecord", "Registry",
    "backend", "backend_of",
]  # fmt: skip


def backend(name: str) -> Backend:
    """The backend called ``name`` (``"cpu"``, ``"gpu"``, ...), loading plugins first.

    Raises:
        BackendUnavailableError: when no plugin registers it, or it cannot run here
            (the message says why: cupy missing, no CUDA device, ...).
    """
    return load().backend(name)


def backend_of(x: Any) -> Backend | None:
    """The backend whose array ``x`` is (None for Python numbers, lists, ...)."""
    return load().backend_of(x)


def _methods_for(args: tuple) -> None:
    """Make the backends of these arguments register their methods (conv4, pool, ...)."""
    load()
    for a in args:
        b = REGISTRY.backend_of(a)
        if b is not None:
            b.xp  # noqa: B018  (loads and activates it)


# conv4, pool and unpool get their methods from backends; rules import only the core, so
# the loader is handed to them here.
if _methods_for not in _conv.METHOD_LOADERS:
    _conv.METHOD_LOADERS.append(_methods_for)
# Installed plugins are active from the first call: the core loads them before the first
# tape records and before it says a tracked value has no rule.
_tape.on_first_use(load)
