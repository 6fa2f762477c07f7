"""The layers stay clean: imports point one way and the core stays small (STYLE.md)."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rulegrad"

#: folder of rulegrad -> the rulegrad modules (and their submodules) it must not import,
#: even under TYPE_CHECKING
FORBIDDEN = {
    "core": {"rules", "plugins", "backends", "testing", "data", "optim", "distributed"},
    "rules": {"plugins", "backends", "testing", "data", "optim"},
    "data": {"core", "rules", "plugins", "backends", "testing", "optim"},
    "optim": {"rules", "plugins", "backends", "testing", "data"},
    "plugins": {"testing"},  # the VSpace its hook returns lives below both: rulegrad.vspace
    "backends/cpu": {"backends.gpu"},  # one backend never imports another
    "backends/gpu": {"backends.cpu"},
}
CORE_LINE_BUDGET = 1650


def _imports(source: str, package: tuple[str, ...]) -> set[str]:
    """The rulegrad modules ``source`` (a file in folder ``package`` of rulegrad) imports,
    relative to rulegrad: ``{"core.box", ...}``; ``from .x import name`` counts as importing
    ``x.name`` too (``name`` may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("rulegrad."):
                    continue
                base = node.module.split(".")[1:]
            else:
                base = list(package[: len(package) - node.level + 1])
                base += node.module.split(".") if node.module else []
            found.add(".".join(base))
            found.update(".".join([*base, alias.name]) for alias in node.names)
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("rulegrad.")]
            found.update(name.split(".", 1)[1] for name in names)
    return found - {""}


def _imported_modules(path: Path) -> set[str]:
    return _imports(path.read_text(), path.relative_to(PACKAGE).parent.parts)


def _forbidden(imported: set[str], banned: set[str]) -> set[str]:
    return {m for m in imported if any(m == b or m.startswith(f"{b}.") for b in banned)}


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_point_one_way(folder: str) -> None:
    """core imports no rules/plugins/backends/testing; rules import only core; no backend
    imports another; plugins never import testing; and so on."""
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        bad = _forbidden(_imported_modules(path), FORBIDDEN[folder])
        assert not bad, f"{path.relative_to(PACKAGE.parent)} imports rulegrad.{sorted(bad)}"


def test_the_import_check_sees_relative_and_type_checking_imports() -> None:
    """The check resolves ``..cpu.random`` from backends/gpu, and reads TYPE_CHECKING blocks."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ..cpu.random import fans\n"
        "if TYPE_CHECKING:\n"
        "    from ...testing.vspace import VSpace\n"
        "from .. import geometry\n"
    )
    imported = _imports(source, ("backends", "gpu"))
    assert _forbidden(imported, FORBIDDEN["backends/gpu"]) == {
        "backends.cpu.random", "backends.cpu.random.fans",
    }  # fmt: skip
    assert _forbidden(imported, {"testing"}) == {"testing.vspace", "testing.vspace.VSpace"}
    assert "backends.geometry" in imported


def _code_lines(path: Path) -> int:
    """Lines holding code: no blank lines, comments or docstrings (tinygrad's sz.py idea)."""
    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        if is_doc and isinstance(first.value.value, str):
            docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):  # fmt: skip
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docstrings)


def test_core_fits_its_line_budget() -> None:
    """rulegrad/core stays readable in one sitting: under CORE_LINE_BUDGET lines of code."""
    total = sum(_code_lines(p) for p in (PACKAGE / "core").glob("*.py"))
    assert total <= CORE_LINE_BUDGET, f"rulegrad/core has {total} lines of code"


def test_bench_benchmarks_and_examples_use_no_private_names() -> None:
    """The benchmark's baselines and the examples import no private (``_name``) function of
    rulegrad: what they need is public (``rg.nn.lstmback``) or written out beside them."""
    root = PACKAGE.parent
    files = [PACKAGE / "bench.py", *root.glob("benchmarks/*.py"), *root.glob("examples/*.py")]
    private = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rulegrad"):
                private += [f"{path.name}: {a.name}" for a in node.names if a.name[0] == "_"]
    assert private == []
