"""The ``rulegrad`` command line: subcommands, --version, usage errors, defaults in --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rulegrad import cli

ROOT = Path(__file__).resolve().parents[1]


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`rulegrad` alone prints the usage on stderr and exits 2, as argparse's usage errors do."""
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: rulegrad") and "a command is required" in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command exits 2 naming the choices."""
    assert cli.main(["trian"]) == 2
    assert "invalid choice: 'trian'" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`rulegrad --version` prints the installed version and exits 0."""
    import rulegrad

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rulegrad {rulegrad.__version__}"


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    """`rulegrad --help` lists every subcommand with its one-line help."""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, text) in cli.COMMANDS.items():
        assert f"{name}" in out and text in out


def test_help_does_not_import_the_subcommands() -> None:
    """`rulegrad --help` imports none of the subcommands' modules (it stays fast)."""
    code = (
        "import sys, contextlib, io\n"
        "from rulegrad import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['--help'])\n"
        "print(sorted(m for m, _ in cli.COMMANDS.values() if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["demo", "bench"])
def test_subcommand_help_shows_defaults(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each subcommand's --help is a subparser's (prog 'rulegrad CMD') with its defaults."""
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: rulegrad {command}") and "(default: " in out


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["demo", "--epochs", "-1"], "--epochs"),
        (["demo", "--epochs", "0"], "--epochs"),
        (["bench", "--repeats", "0"], "--repeats"),
        (["bench", "--threads", "-2"], "--threads"),
    ],
)
def test_counts_must_be_positive(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A count of zero or less is a usage error (exit 2) naming the option, before any work."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "not a positive whole number" in err


def test_plural() -> None:
    """One takes the singular, every other count the plural."""
    assert [cli.plural(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]
    assert cli.plural(1, "batch", "batches") == "1 batch"


def test_info_runs_through_the_command() -> None:
    """`rulegrad info --only plugins` runs through the command line and exits 0."""
    assert cli.main(["info", "--only", "plugins"]) == 0


def test_python_m_rulegrad_from_the_checkouts_parent_folder(tmp_path: Path) -> None:
    """`python -m rulegrad` works from the folder above the checkout, which holds a folder
    named like the package (the checkout itself, here a stand-in) that must not shadow it."""
    (tmp_path / "rulegrad").mkdir()  # as a checkout named rulegrad seen from its parent
    done = subprocess.run(
        [sys.executable, "-m", "rulegrad", "info", "--only", "backends"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rulegrad ") and "cpu  available" in done.stdout


def test_a_command_exiting_with_a_message_keeps_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command that exits with a message (SystemExit("...")) has it printed, status 1."""
    from rulegrad import demo

    def fails(args: object) -> int:
        raise SystemExit("--gpu: cupy is not installed")

    monkeypatch.setattr(demo, "run", fails)
    assert cli.main(["demo"]) == 1
    assert "--gpu: cupy is not installed" in capsys.readouterr().err
