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
``rulegrad info``) without stopping the others. `rulegrad_register_vspaces` is not
called then: the gradient checks (`rulegrad.testing`) call it when they first meet an
argument type they do not know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ..vspace import VSpace
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


@hookspec
def rulegrad_register_vspaces() -> VSpace | list[VSpace] | None:
    """Return vector spaces for this plugin's array types that are not numpy arrays.

    Only the gradient checks (``rulegrad check``, `rulegrad.testing`) use them, and they
    call this hook lazily, the first time they meet an argument type they do not know, so
    the hook costs nothing at run time. A `rulegrad.testing.VSpace` says how a value is
    flattened into a float vector of its differentiable entries and built back (a
    scipy.sparse CSR matrix: its stored values ``.data``); with it the checks perturb
    such arguments, weigh such outputs and take inner products with their gradients.
    `rulegrad.testing.register_vspace` declares one without a plugin.

    Examples:
        >>> import numpy as np
        >>> from rulegrad.plugins import hookimpl
        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> @hookimpl
        ... def rulegrad_register_vspaces():
        ...     from rulegrad.testing import VSpace
        ...     return [VSpace((Pair,), lambda p: np.array([p.a, p.b]), lambda like, v: Pair(*v))]
        >>> rulegrad_register_vspaces()[0].vector(Pair(1.0, 2.0))
        array([1., 2.])
    """
