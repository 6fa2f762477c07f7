"""Fixtures for testing the tester: throwaway primitives that leave no trace."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rulegrad.testing.autotests import STATS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch(scratch_registry: None) -> Iterator[None]:
    """A registry (and check statistics) restored after the test: throwaway rules stay local."""
    stats = dict(STATS)
    yield
    STATS.clear()
    STATS.update(stats)


RULES = '''"""A throwaway rule package, as a third party would write it."""

import numpy as np

import rulegrad as rg


@rg.primitive(lambda dy, y, x: dy * {factor} (1 - y * y){domain})
def mytanh(x):
    return np.tanh(x)
'''

#: The throwaway package's name: one no installed package has (``myrules`` may exist).
PACKAGE = f"rulegrad_test_rules_{uuid.uuid4().hex[:12]}"


def write_package(site: Path, name: str, source: str) -> None:
    """Write package ``name`` under ``site``, declared in the ``rulegrad`` entry-point group."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(source)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[rulegrad]\n{name} = {name}\n")


@pytest.fixture
def rule_package(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Write package `PACKAGE` with a right or wrong rule (with ``domain=False``, declaring
    no Domain), found through the ``rulegrad`` entry-point group; returns the environment
    for a subprocess that sees it (``sites``: more folders to put first on its path)."""

    def make(right: bool, domain: bool = True, sites: tuple[Path, ...] = ()) -> dict[str, str]:
        site = tmp_path / f"{'right' if right else 'wrong'}-{'domain' if domain else 'none'}"
        declared = ', domain=rg.Domain(args=("real",))' if domain else ""
        write_package(site, PACKAGE, RULES.format(factor="" if right else "2 *", domain=declared))
        paths = [*map(str, sites), str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "CI": "true"}

    return make


@pytest.fixture
def package() -> str:
    """The name of the package `rule_package` writes."""
    return PACKAGE


def _python(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def python() -> Callable[..., subprocess.CompletedProcess]:
    """``python(args, env, cwd)``: run this Python with ``args`` and capture the output."""
    return _python
