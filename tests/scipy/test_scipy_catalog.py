"""rulegrad/scipy/catalog.py: docs/scipy.md is generated from the registry and up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import scipy

from rulegrad import plugins
from rulegrad.core import PRIMITIVES
from rulegrad.scipy.catalog import catalog, label

PAGE = Path(__file__).resolve().parents[2] / "docs" / "scipy.md"


def test_docs_page_matches_the_registry() -> None:
    """docs/scipy.md is what `python -m rulegrad.scipy.catalog` prints, in a fresh interpreter."""
    made_with = f"with scipy {'.'.join(scipy.__version__.split('.')[:2])};"
    if made_with not in PAGE.read_text():
        pytest.skip(f"docs/scipy.md lists another scipy's functions; this is {made_with}")
    command = [sys.executable, "-m", "rulegrad.scipy.catalog"]
    fresh = subprocess.run(command, capture_output=True, text=True, check=True, cwd=PAGE.parents[1])
    assert PAGE.read_text() == fresh.stdout, (
        "docs/scipy.md is out of date: run `python -m rulegrad.scipy.catalog > docs/scipy.md`"
    )


def test_every_scipy_method_is_listed_with_a_domain() -> None:
    """Each method the plugin registers appears on the page, and none lacks a domain."""
    plugins.load()
    page = catalog()
    listed = 0
    for key, prim in PRIMITIVES.items():
        for method in prim.methods:
            if method.origin.startswith("rulegrad.scipy.") and not prim.zero:
                assert f"`{label(key)}`" in page
                listed += 1
    assert listed >= 110 and "none declared" not in page


def test_rows_say_where_forward_mode_gets_the_tangent() -> None:
    """Each row has a forward column (native, derived, or per argument), and the count
    line totals them."""
    plugins.load()
    page = catalog()
    rows = [line.split(" | ") for line in page.splitlines() if line.startswith("| `")]
    assert rows and all(len(row) == 4 for row in rows)
    assert all(row[2] in ("native", "derived") or row[2].startswith("native for") for row in rows)
    assert "Forward mode: " in page and "with native forward rules" in page
