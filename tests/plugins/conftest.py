"""Throwaway plugins installed into a temporary sys.path entry, and a clean reload after."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rulegrad import plugins


@pytest.fixture
def install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_registry: None
) -> Iterator[Callable[[str, str], Path]]:
    """Make ``install(module, source)`` write a module and a dist-info declaring it as a
    ``rulegrad`` entry point (named like the module), as pip would, and put it on sys.path.

    Plugins are reloaded without it afterwards, and the primitives it made are dropped.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    names: list[str] = []

    def write(module: str, source: str) -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{module}-0.1.dist-info"  # (a '-' in the name would cut it there)
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[rulegrad]\n{module} = {module}\n")
        names.append(module)
        return site

    yield write
    monkeypatch.undo()
    for module in names:
        sys.modules.pop(module, None)
    plugins.load(reload=True)


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "rulegrad-scipy"


@pytest.fixture(scope="session")
def scipy_plugin() -> object:
    """The example plugin: installed, or else imported from its source folder."""
    pytest.importorskip("scipy", reason="the example plugin needs scipy")
    try:
        import rulegrad_scipy
    except ImportError:
        sys.path.insert(0, str(EXAMPLE))
        import rulegrad_scipy
    return rulegrad_scipy
