"""The primitives page: generated from the registry, and docs/primitives.md is up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rulegrad.core.primitive import PRIMITIVES
from rulegrad.rules.catalog import catalog, label, numpy_release

PAGE = Path(__file__).resolve().parents[2] / "docs" / "primitives.md"


def test_docs_page_matches_the_registry() -> None:
    """docs/primitives.md is what its documented command prints, in a fresh interpreter (so
    primitives other tests register, or methods they replace, cannot hide a stale page)."""
    made_with = f"with numpy {numpy_release()};"
    if made_with not in PAGE.read_text():
        pytest.skip(f"docs/primitives.md lists another numpy's functions; this is {made_with}")
    command = [sys.executable, "-m", "rulegrad.rules.catalog"]
    fresh = subprocess.run(command, capture_output=True, text=True, check=True, cwd=PAGE.parents[1])
    assert PAGE.read_text() == fresh.stdout, (
        "docs/primitives.md is out of date: run "
        "`python -m rulegrad.rules.catalog > docs/primitives.md`"
    )


def test_catalog_in_process_lists_what_is_registered() -> None:
    """catalog() reads the live registry: the methods rulegrad.rules registered appear."""
    page = catalog()
    assert "| `np.log` | object | `x` | positive |" in page
    assert "`nn.softmax_nll`" in page and "`np.linalg.svd`" in page


def test_every_rule_method_is_listed_with_a_domain() -> None:
    """Each method rulegrad.rules registers appears on the page, and none lacks a domain."""
    page = catalog()
    for key, prim in PRIMITIVES.items():
        for method in prim.methods:
            if method.origin.startswith("rulegrad.rules.") and not prim.zero:
                assert f"`{label(key)}`" in page
    assert "none declared" not in page


def test_page_does_not_depend_on_what_else_registered(scratch_registry: None) -> None:
    """Primitives defined elsewhere (tests, doctests, plugins) stay off the page."""
    import numpy as np

    import rulegrad as rg

    @rg.primitive(lambda dy, y, x: dy)
    def scratch_identity(x):
        return x

    rg.implements(np.i0)(lambda x: x)
    assert "scratch_identity" not in catalog() and "np.i0" not in catalog()
