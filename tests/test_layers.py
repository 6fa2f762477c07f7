"""The layers stay clean: imports point one way and the core stays small (STYLE.md)."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rulegrad"

#: package -> the rulegrad subpackages it must not import
FORBIDDEN = {
    "core": {"rules", "plugins", "backends", "testing", "data", "optim"},
    "rules": {"plugins", "backends", "testing", "data", "optim"},
    "data": {"core", "rules", "plugins", "backends", "testing", "optim"},
    "optim": {"rules", "plugins", "backends", "testing", "data"},
}
CORE_LINE_BUDGET = 1110


def _imported_subpackages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").startswith("rulegrad."):
                found.add(node.module.split(".")[1])
            elif node.level >= 2 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level >= 2:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("rulegrad."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    """core imports no rules/plugins/backends/testing; rules import only core; and so on."""
    for path in sorted((PACKAGE / package).rglob("*.py")):
        bad = _imported_subpackages(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(PACKAGE.parent)} imports rulegrad.{sorted(bad)}"


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
    """rulegrad/core stays readable in one sitting: within CORE_LINE_BUDGET lines of code."""
    total = sum(_code_lines(p) for p in (PACKAGE / "core").glob("*.py"))
    assert total <= CORE_LINE_BUDGET, f"rulegrad/core has {total} lines of code"
