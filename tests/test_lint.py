"""The linters CI holds the code to: `ruff check` and `ruff format --check` are clean.

They run with the ruff installed in the environment (the ``dev`` extra has it), so the
README's test command, which installs that extra, is also the lint; without ruff the tests
skip and say so.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

needs_ruff = pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None,
    reason="ruff is not installed (pip install -e '.[dev]')",
)


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@needs_ruff
def test_ruff_check_is_clean() -> None:
    """`ruff check .` finds nothing in the repository."""
    done = _ruff("check")
    assert done.returncode == 0, done.stdout + done.stderr


@needs_ruff
def test_ruff_format_is_clean() -> None:
    """`ruff format --check .` would reformat no file."""
    done = _ruff("format", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
