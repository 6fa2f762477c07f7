"""The ``rulegrad`` command: ``demo``, ``check``, ``info`` and ``bench``.

Each subcommand is an argparse subparser whose arguments live with the code it drives: the
module defines ``add_arguments(parser)`` and ``run(args) -> int``, and is imported only
when its command is chosen, so ``rulegrad --help`` stays fast. A module without
``add_arguments`` gets its remaining arguments as a list, through its ``main(argv)``.

Also home to what every subcommand's parser shares: `positive_int` (a type for counts),
`plural` (``"1 epoch"``, ``"2 epochs"``) and `HelpFormatter` (defaults shown in ``--help``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "positive_int", "plural", "HelpFormatter", "COMMANDS"]

#: subcommand -> (module, one-line help); each module has ``add_arguments`` and ``run``
#: (or ``main(argv)``), imported only when the command runs
COMMANDS = {
    "demo": ("rulegrad.demo", "train a small MLP and print the loss and test accuracy"),
    "check": ("rulegrad.testing.cli", "run the generated gradient checks for packages"),
    "info": ("rulegrad.plugins.info", "list backends, plugins and primitives"),
    "bench": ("rulegrad.bench", "time a training step against numpy, autograd and PyTorch"),
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in ``--help`` (``(default: 5)``), and none for flags."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (``--epochs -1`` is a usage error).

    Examples:
        >>> positive_int("3")
        3
        >>> positive_int("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: 0 is not a positive whole number (1, 2, ...)
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number (1, 2, ...)")
    return value


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with its noun, singular for one and plural otherwise.

    Examples:
        >>> plural(1, "epoch"), plural(3, "epoch"), plural(0, "batch", "batches")
        ('1 epoch', '3 epochs', '0 batches')
    """
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rulegrad")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="rulegrad",
        description="Reverse-mode automatic differentiation for plain numpy code.",
        epilog="Run 'rulegrad COMMAND --help' for a command's options.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rulegrad {_version()}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    subparsers = {
        name: commands.add_parser(
            name, help=text, description=text[0].upper() + text[1:] + ".",
            formatter_class=HelpFormatter,
        )
        for name, (_, text) in COMMANDS.items()
    }  # fmt: skip
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    """Run the ``rulegrad`` command line; returns the exit code.

    Without a command it prints the usage and returns 2, as argparse does for usage errors.

    Examples:
        >>> main(["--help"])  # doctest: +ELLIPSIS
        usage: rulegrad [-h] [--version] COMMAND ...
        ...
            demo      train a small MLP and print the loss and test accuracy
        ...
        0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _run(argv)
    except SystemExit as e:  # --help and --version (0), a usage error (2), or a message
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)  # as the interpreter would have on exiting
        return 1


def _run(argv: list[str]) -> int:
    parser, subparsers = _parser()
    name = next((a for a in argv if not a.startswith("-")), None)
    if name in COMMANDS:
        module = importlib.import_module(COMMANDS[name][0])
        if not hasattr(module, "add_arguments"):  # a command that parses its own arguments
            index = argv.index(name)
            parser.parse_args(argv[:index])  # --version, --help, or a usage error
            return int(module.main(argv[index + 1 :]) or 0)
        module.add_arguments(subparsers[name])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("rulegrad: error: a command is required: " + ", ".join(COMMANDS), file=sys.stderr)
        return 2
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
