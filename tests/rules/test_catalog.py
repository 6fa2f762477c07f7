"""The primitives page: generated from the registry, and docs/primitives.md is up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rulegrad.core.primitive import PRIMITIVES
from rulegrad.rules.catalog import _argument_names, catalog, forward_label, label, numpy_release

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
    assert "| `np.log` | object | `x` | native | positive |" in page
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


def test_forward_column_says_native_or_derived_per_method() -> None:
    """Each row's forward column is what forward mode uses: np.sin's rule is native, so is
    concat's one forward rule for all its arguments, and no method of rulegrad's own rules
    is derived (the derived label: test_forward_label_per_argument)."""
    rows = [line.split(" | ") for line in catalog().splitlines() if line.startswith("| `")]
    assert all(len(row) == 5 for row in rows)
    sin = next(row for row in rows if row[0] == "| `np.sin`")
    assert sin[3] == "native"
    concat = next(row for row in rows if row[0] == "| `shape.concat`")
    assert concat[3] == "native"
    assert not [row for row in rows if "derived" in row[3]]
    assert "native forward rules" in catalog().split("## ")[1]  # the count, and the intro


def test_forward_label_per_argument(scratch_registry: None) -> None:
    """A method with a forward rule for some differentiable arguments only is marked per
    argument; arguments without a reverse rule (no derivative) are left out."""
    import rulegrad as rg

    @rg.primitive(lambda dy, y, x, w, n: dy * w, lambda dy, y, x, w, n: dy * x, None,
                  jvp=lambda dx, y, x, w, n: dx * w)  # fmt: skip
    def scratch_mul(x, w, n):
        return x * w

    @rg.primitive(lambda dy, y, x: dy)
    def scratch_id(x):
        return x

    mul, ident = scratch_mul.methods[0], scratch_id.methods[0]
    assert forward_label(mul, _argument_names(mul)) == "native for `x`; derived for `w`"
    assert forward_label(ident, _argument_names(ident)) == "derived"
