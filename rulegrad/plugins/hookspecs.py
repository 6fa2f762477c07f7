"""The hooks a rulegrad plugin can implement: one documented spec per hook.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose names are
the hooks below, made known through the ``rulegrad`` entry-point group::

    [project.entry-points.rulegrad]
    myplugin = "myplugin"

The built-in backends (``rulegrad.backends.cpu`` and ``rulegrad.backends.gpu``) are
registered through rulegrad's own entry points, exactly like this. Hooks run once per
plugin, the first time rulegrad needs its plugins (`rulegrad.plugins.load`): every
plugin's `rulegrad_register_backends` first, then every plugin's
`rulegrad_register_rules`. A hook that raises marks its plugin as failed (see
``rulegrad info``) without stopping the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .registry import Backend

__all__ = ["PROJECT", "hookimpl", "hookspec"]

#: pluggy's project name, and the name of the entry-point group plugins are found in.
PROJECT = "rulegrad"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a function of a plugin as the implementation of the hook of the same name.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def rulegrad_register_backends() -> Backend | list[Backend] | None:
    """Return the backends this plugin provides (a `Backend`, a list of them, or None).

    Called once, before any plugin's rules are registered. Keep it cheap: import the
    array library in `Backend.load`, not here, so that users who never touch the
    backend never pay for the import (the GPU backend does not import cupy here).

    Examples:
        >>> from rulegrad.plugins import Backend, hookimpl
        >>> class Mine(Backend):
        ...     name, modules = "mine", ("numpy",)
        >>> @hookimpl
        ... def rulegrad_register_backends():
        ...     return [Mine()]
    """


@hookspec
def rulegrad_register_rules() -> Any:
    """Register this plugin's primitives and methods, with ``rg.primitive`` and friends.

    Called once, after every plugin's backends are registered. Rules may also be
    registered when the plugin module is imported (the plain way for a rule package:
    its rule files read as tables); use this hook for registrations that must wait,
    such as methods for array types of a library imported only on first use. Every
    method registered while the plugin loads is credited to it in ``rulegrad info``;
    give each one a ``domain=`` so ``rulegrad check`` can test it. The return value
    is ignored.

    Examples:
        >>> import numpy as np
        >>> from rulegrad.plugins import hookimpl
        >>> @hookimpl
        ... def rulegrad_register_rules():
        ...     import rulegrad as rg
        ...     rg.zerograd(np.iscomplex)
    """
