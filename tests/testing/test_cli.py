"""``rulegrad check PKG``: the generated checks of an installed package, from the shell."""

from __future__ import annotations

import importlib.metadata
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rulegrad.testing.autotests import profile
from rulegrad.testing.cli import main

from .conftest import RULES, write_package


def test_throwaway_package_is_an_entry_point(
    rule_package: Callable[..., dict], package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package written for these tests is found in the ``rulegrad`` entry-point group."""
    env = rule_package(True)
    monkeypatch.syspath_prepend(env["PYTHONPATH"].split(os.pathsep)[0])
    found = importlib.metadata.entry_points(group="rulegrad", name=package)
    assert [ep.value for ep in found] == [package]


def test_check_passes_a_right_rule(
    rule_package: Callable[..., dict], package: str, tmp_path: Path, python: Callable
) -> None:
    """A right rule: exit code 0, a table naming the primitive and its examples."""
    out = python(["-m", "rulegrad", "check", package], rule_package(True), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("mytanh"))
    examples = str(profile("ci").max_examples)
    assert row.split()[1:4] == ["mytanh[object]", examples, "0"] and row.endswith("ok")
    assert "all passed" in out.stdout


def test_check_fails_a_wrong_rule(
    rule_package: Callable[..., dict], package: str, tmp_path: Path, python: Callable
) -> None:
    """A rule off by a factor 2: exit code 1, the primitive named, the shrunk input shown."""
    out = python(["-m", "rulegrad", "check", package], rule_package(False), tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL (GradCheckError)" in out.stdout
    assert f"---- mytanh[object] (primitive mytanh, registered by {package})" in out.stdout
    assert "analytic" in out.stdout and "Draw 3 (shapes): ((),)" in out.stdout


def test_check_ignores_another_package_named_myrules(
    rule_package: Callable[..., dict], package: str, tmp_path: Path, python: Callable
) -> None:
    """An installed ``myrules`` rule package (with a wrong rule) does not disturb the check
    of the throwaway package: its name is its own."""
    other = tmp_path / "other"
    write_package(other, "myrules", RULES.format(factor="2 *", domain=""))
    out = python(["-m", "rulegrad", "check", package], rule_package(True, sites=(other,)), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 method(s) of" in out.stdout


def test_check_without_domain_uses_the_default(
    rule_package: Callable[..., dict], package: str, tmp_path: Path, python: Callable
) -> None:
    """A rule registered without domain= is checked on the default domain, and the report
    says so: a right rule passes, a wrong one fails."""
    out = python(["-m", "rulegrad", "check", package], rule_package(True, False), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("mytanh"))
    assert row.endswith("ok (default domain)")
    assert "declare no Domain" in out.stdout and "mytanh[object]" in out.stdout
    out = python(["-m", "rulegrad", "check", package], rule_package(False, False), tmp_path)
    assert out.returncode == 1 and "FAIL (GradCheckError)" in out.stdout, out.stdout


def test_check_without_hypothesis_says_what_to_install(tmp_path: Path, python: Callable) -> None:
    """Without Hypothesis, ``rulegrad check`` exits 2 saying to install rulegrad[check]."""
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "from rulegrad.cli import main\n"
        "sys.exit(main(['check', 'rulegrad']))\n"
    )
    out = python(["-c", code], dict(os.environ), tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "pip install 'rulegrad[check]'" in out.stderr and "Traceback" not in out.stderr


def test_check_in_process_table_and_filters() -> None:
    """main() prints one row per method checked; -k filters; a bad package exits 2."""
    buf = io.StringIO()
    assert main(["rulegrad.rules.math", "-k", "np.log", "--max-examples", "3"], out=buf) == 0
    rows = [line.split()[1] for line in buf.getvalue().splitlines()[1:] if line.startswith("np.")]
    assert rows == ["np.log[object]", "np.log2[object]", "np.log10[object]", "np.log1p[object]"]
    assert main(["no_such_package_here"], out=io.StringIO()) == 2
    assert main(["rulegrad", "-k", "no-such-method"], out=io.StringIO()) == 1
    assert "no_such_package_here" not in sys.modules
