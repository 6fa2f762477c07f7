"""The pytest plugin: ``--rulegrad-check=PKG`` adds the generated checks of a package."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from pathlib import Path


def _load_plugin() -> list[str]:
    """``-p`` for the plugin unless rulegrad's ``pytest11`` entry point already loads it
    (pytest refuses a plugin registered twice)."""
    points = importlib.metadata.entry_points(group="pytest11")
    installed = any(ep.value == "rulegrad.testing.pytest_plugin" for ep in points)
    return [] if installed else ["-p", "rulegrad.testing.pytest_plugin"]


PLUGIN = ["-m", "pytest", *_load_plugin(), "-p", "no:cacheprovider"]


def test_plugin_collects_generated_checks_with_readable_ids(
    rule_package: Callable[..., dict], package: str, tmp_path: Path, python: Callable
) -> None:
    """Each method of the package is one test with id ``name[types]``; no test file needed."""
    args = [*PLUGIN, f"--rulegrad-check={package},rulegrad.rules.math", "--collect-only", "-q"]
    out = python(args, rule_package(True), tmp_path)
    ids = out.stdout.splitlines()
    assert "rulegrad-check::test_gradients[mytanh[object]]" in ids
    assert "rulegrad-check::test_gradients[np.log[object]]" in ids
    assert "rulegrad-check::test_signatures" in ids


def test_plugin_passes_right_and_fails_wrong_rules(
    rule_package: Callable[..., dict], package: str, tmp_path: Path, python: Callable
) -> None:
    """A right rule passes; a wrong one fails, the failure naming the primitive."""
    check = [*PLUGIN, f"--rulegrad-check={package}", "-q"]
    good = python(check, rule_package(True), tmp_path)
    assert good.returncode == 0 and "2 passed" in good.stdout, good.stdout
    bad = python(check, rule_package(False), tmp_path)
    assert bad.returncode == 1 and "1 failed, 1 passed" in bad.stdout, bad.stdout
    assert "FAILED rulegrad-check::test_gradients[mytanh[object]]" in bad.stdout
    assert "gradient check of mytanh[object]" in bad.stdout


def test_plugin_is_inert_without_the_option(tmp_path: Path, python: Callable) -> None:
    """Without --rulegrad-check the plugin adds no tests."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    out = python([*PLUGIN, "-q"], dict(os.environ), tmp_path)
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout
