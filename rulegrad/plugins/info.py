"""``rulegrad info``: the backends (usable here or not, and why), the plugins with their rule
counts and load errors, and every primitive with its methods per argument type, each
marked with where forward mode (`rg.jvp`) gets its tangent: ``native`` forward rules
(``jvp=`` on `rg.primitive`) or a jvp ``derived`` from its reverse rules."""

from __future__ import annotations

import argparse
import platform
import sys
from typing import Any

import numpy as np

__all__ = ["main", "add_arguments", "run", "report"]

SECTIONS = ("backends", "plugins", "primitives")


def _types(method: Any) -> str:
    return ", ".join(getattr(t, "__name__", str(t)) for t in method.types)


def report(sections: tuple[str, ...] = SECTIONS) -> str:
    """The text ``rulegrad info`` prints (loading the plugins first).

    Args:
        sections: which of ``"backends"``, ``"plugins"``, ``"primitives"`` to include.

    Examples:
        >>> print(report(("backends",)))  # doctest: +ELLIPSIS
        rulegrad ... (Python ..., numpy ...)
        <BLANKLINE>
        Backends:
          cpu  available    numpy ... arrays: ndarray, generic  (plugin cpu)
        ...
    """
    import rulegrad
    from rulegrad.core.primitive import PRIMITIVES

    from .manager import load, manager

    registry = load()
    registry.credit()
    lines = [f"rulegrad {rulegrad.__version__} (Python {platform.python_version()}, numpy "
             f"{np.__version__})"]  # fmt: skip
    if "backends" in sections:
        lines += ["", "Backends:"]
        for name, b in registry.backends.items():
            owner = next((p.name for p in registry.plugins.values() if name in p.backends), "?")
            if b.available:
                version = getattr(b.xp, "__version__", "")
                types = ", ".join(t.__name__ for t in b.array_types())
                lines.append(f"  {name:<4} available    {b.xp.__name__} {version} arrays: {types}"
                             f"  (plugin {owner})")  # fmt: skip
            else:
                lines.append(f"  {name:<4} unavailable  {b.reason}  (plugin {owner})")
        if not registry.backends:
            lines.append("  none: no plugin registers a backend (is rulegrad installed?)")
    if "plugins" in sections:
        lines += ["", f"Plugins (entry-point group {rulegrad.plugins.GROUP!r}):"]
        for p in registry.plugins.values():
            where = f"{p.value}" + (f" [{p.dist}]" if p.dist else "")
            if p.ok:
                n = len(p.methods)
                status = f"{n} method{'s' * (n != 1)}"
                note = getattr(manager().get_plugin(p.name), "STATUS", "")  # "scipy not installed"
                if note and isinstance(note, str):
                    status += f" ({note})"
                if p.backends:
                    status += f", backends: {', '.join(p.backends)}"
                replaced = [f"{m!r} of {m.replaces.origin}" for m in p.methods if m.replaces]
                if replaced:
                    status += f", overrides: {', '.join(replaced)}"
            else:
                status = f"FAILED: {p.error}"
            lines.append(f"  {p.name:<10} {where:<42} {status}")
            if p.source != "entry point":
                lines.append(f"  {'':<10} ({p.source})")
        failed = len(registry.failures)
        if failed:
            strict = rulegrad.plugins.STRICT_ENV
            lines.append(f"  {failed} plugin(s) failed to load; {strict}=1 makes that an error")
    if "primitives" in sections:
        from rulegrad.rules.catalog import _argument_names, forward_counts, forward_label

        prims = sorted(PRIMITIVES.values(), key=lambda p: p.name)
        count = sum(len(p.methods) for p in prims)
        ruled = [m for p in prims if not p.zero for m in p.methods]
        lines += [
            "",
            f"Primitives: {len(prims)}, with {count} methods (types, forward mode: registered by).",
            f"Forward mode: {forward_counts(ruled, _argument_names)} from their reverse rules.",
        ]
        for prim in prims:
            zero = "  (no gradient)" if prim.zero else ""
            for i, m in enumerate(prim.methods):
                plugin = registry.plugin_of(m)
                by = m.origin + (f" [plugin {plugin.name}]" if plugin else "")
                if m.replaces is not None:
                    by += f", overrides {m.replaces.origin}"
                name = prim.name if i == 0 else ""
                fwd = "-" if prim.zero else forward_label(m, _argument_names(m)).replace("`", "")
                lines.append(f"  {name:<28} {_types(m):<36} {fwd:<8} {by}{zero if i == 0 else ''}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``rulegrad info``."""
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="print only this section (repeatable)"
    )


def run(args: argparse.Namespace) -> int:
    """Print ``report`` for the parsed ``args``; 1 when a plugin failed in strict mode."""
    from .registry import PluginError

    try:
        print(report(tuple(args.only or SECTIONS)))
    except PluginError as e:
        print(f"rulegrad info: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Print ``report``; the exit code is 1 when a plugin failed in strict mode.

    Examples:
        >>> main(["--only", "plugins"])  # doctest: +ELLIPSIS
        rulegrad ...
        Plugins (entry-point group 'rulegrad'):
          cpu ...
        0
    """
    parser = argparse.ArgumentParser(prog="rulegrad info", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))
