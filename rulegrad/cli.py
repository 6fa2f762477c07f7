"""The ``rulegrad`` command: ``demo``, ``check``, ``info`` and ``bench``.

Each subcommand lives with the code it drives and is imported only when used, so
``rulegrad --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main"]

#: subcommand -> (module, function taking the remaining argv and returning an exit code, help)
COMMANDS = {
    "demo": ("rulegrad.demo", "main", "train a small MLP and print loss and accuracy"),
    "check": ("rulegrad.testing.cli", "main", "run generated gradient checks for packages"),
    "info": ("rulegrad.plugins.info", "main", "list backends, plugins and primitives"),
    "bench": ("rulegrad.bench", "main", "run the Knet benchmark table"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the ``rulegrad`` command line; returns the exit code.

    Examples:
        >>> main(["--help"])  # doctest: +ELLIPSIS
        usage: rulegrad ...
        0
    """
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="rulegrad",
        description="Reverse-mode automatic differentiation for plain numpy code.",
        usage="rulegrad {" + ",".join(COMMANDS) + "} [options]",
    )
    parser.add_argument("command", choices=COMMANDS, help="; ".join(
        f"{name}: {spec[2]}" for name, spec in COMMANDS.items()
    ))  # fmt: skip
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help(sys.stdout)
        return 0
    args, rest = parser.parse_known_args(argv[:1])
    module, func, _ = COMMANDS[args.command]
    return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
