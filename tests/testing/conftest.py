"""Fixtures for testing the tester: throwaway primitives that leave no trace."""

from __future__ import annotations

import os
import subprocess
import sys
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


@rg.primitive(lambda dy, y, x: dy * {factor} (1 - y * y), domain=rg.Domain(args=("real",)))
def mytanh(x):
    return np.tanh(x)
'''


@pytest.fixture
def rule_package(tmp_path: Path) -> Callable[[bool], dict[str, str]]:
    """Write package ``myrules`` with a right or wrong rule, found through the ``rulegrad``
    entry-point group; returns the environment for a subprocess that sees it."""

    def make(right: bool) -> dict[str, str]:
        site = tmp_path / ("right" if right else "wrong")
        (site / "myrules").mkdir(parents=True)
        (site / "myrules" / "__init__.py").write_text(RULES.format(factor="" if right else "2 *"))
        info = site / "myrules-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myrules\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text("[rulegrad]\nmyrules = myrules\n")
        paths = [str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "CI": "true"}

    return make


def _python(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def python() -> Callable[..., subprocess.CompletedProcess]:
    """``python(args, env, cwd)``: run this Python with ``args`` and capture the output."""
    return _python
