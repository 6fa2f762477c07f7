"""pytest plugin: ``pytest --rulegrad-check=PKG[,PKG]`` runs the generated checks of packages.

Installed with rulegrad under the ``pytest11`` entry point (``-p
rulegrad.testing.pytest_plugin`` loads it by hand). For each package named, the plugin
imports it (which registers its rules) and adds a ``rulegrad-check`` module of tests:
one gradient check per method the package registered (ids such as
``rulegrad-check::test_gradients[mypkg.softsign[object]]``) and one registry-hygiene
test. No test file is needed; ``-k``, ``-x`` and the other options apply as usual.

Without the option the plugin does nothing (it imports neither rulegrad nor Hypothesis).
"""

from __future__ import annotations

import importlib
import os
import types
from pathlib import Path
from typing import Any

import pytest

__all__ = ["RuleChecks"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rulegrad", "rulegrad gradient checks")
    group.addoption(
        "--rulegrad-check",
        action="append",
        default=[],
        metavar="PKG[,PKG]",
        help="import these packages and run the generated gradient checks of the rules "
        "they register (repeatable)",
    )
    group.addoption(
        "--rulegrad-profile",
        default=None,
        metavar="NAME",
        help="Hypothesis profile of the generated checks: ci or dev (default from "
        "RULEGRAD_HYPOTHESIS_PROFILE, HYPOTHESIS_PROFILE, or CI)",
    )


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("rulegrad_profile")
    if name:
        os.environ["RULEGRAD_HYPOTHESIS_PROFILE"] = name


def packages(config: pytest.Config) -> list[str]:
    """The packages named by ``--rulegrad-check`` options, in order, each once."""
    names = [p.strip() for opt in config.getoption("rulegrad_check") for p in opt.split(",")]
    return list(dict.fromkeys(p for p in names if p))


class RuleChecks(pytest.Module):
    """A test module made in memory: the generated checks of some packages."""

    packages: tuple[str, ...] = ()

    def _getobj(self) -> Any:
        from rulegrad.testing.autotests import gradient_tests, signature_tests

        for name in self.packages:
            importlib.import_module(name)
        module = types.ModuleType("rulegrad_check", "generated rulegrad gradient checks")
        module.__file__ = str(self.path)
        module.test_gradients = gradient_tests(*self.packages)
        module.test_signatures = signature_tests(*self.packages)
        return module


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so they apply to these tests
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    names = packages(config)
    if not names:
        return
    from rulegrad.testing import autotests

    module = RuleChecks.from_parent(session, path=Path(autotests.__file__), nodeid="rulegrad-check")
    module.packages = tuple(names)
    items.extend(session.genitems(module))
