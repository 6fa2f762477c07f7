"""Tests for rulegrad/data/files.py: where data lives, fetching, and the import direction."""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import pytest

import rulegrad.data
from rulegrad.data import DataNotFoundError, default_data_dir, find_shared_data
from rulegrad.data.files import fetch, resolve_dir


def test_default_data_dir_uses_env_then_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """RULEGRAD_DATA/<name> wins; without it the folder is ~/.cache/rulegrad/<name>."""
    monkeypatch.setenv("RULEGRAD_DATA", str(tmp_path))
    assert default_data_dir("mnist") == tmp_path / "mnist"
    monkeypatch.delenv("RULEGRAD_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir("mnist") == tmp_path / "home" / ".cache" / "rulegrad" / "mnist"


def test_find_shared_data_walks_up_from_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A shared/data folder with a README.md in an ancestor of the cwd is found."""
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "README.md").write_text("data\n")
    (tmp_path / "main" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "main" / "deep")
    assert find_shared_data() == tmp_path / "shared" / "data"


def test_resolve_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """An explicit directory wins, then RULEGRAD_DATA, then an existing shared/data/<name>."""
    monkeypatch.setenv("RULEGRAD_DATA", str(tmp_path / "env"))
    assert resolve_dir("mnist", tmp_path / "x") == tmp_path / "x"
    assert resolve_dir("mnist", None) == tmp_path / "env" / "mnist"
    monkeypatch.delenv("RULEGRAD_DATA")
    (tmp_path / "shared" / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "README.md").write_text("data\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_dir("mnist", None) == tmp_path / "shared" / "data" / "mnist"


def test_fetch_downloads_only_missing_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Missing files are downloaded into a new folder; present ones are not requested."""
    requested = []

    def fake_urlopen(request: object, timeout: float) -> io.BytesIO:
        requested.append(request.full_url)
        return io.BytesIO(b"payload")

    monkeypatch.setattr("urllib.request.urlopen", fake_urlopen)
    folder = tmp_path / "new" / "folder"
    fetch(folder, {"a.txt": "https://example.org/a.txt"}, what="test")
    fetch(folder, {"a.txt": "https://example.org/a.txt"}, what="test")
    assert requested == ["https://example.org/a.txt"]
    assert [p.name for p in folder.iterdir()] == ["a.txt"]
    assert (folder / "a.txt").read_bytes() == b"payload"


def test_failed_download_leaves_no_partial_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A connection that breaks mid-file raises DataNotFoundError and leaves the folder clean."""

    class Broken(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise ConnectionResetError("connection reset")

    monkeypatch.setattr("urllib.request.urlopen", lambda request, timeout: Broken())
    with pytest.raises(DataNotFoundError, match="ConnectionResetError: connection reset"):
        fetch(tmp_path, {"a.txt": "https://example.org/a.txt"}, what="test")
    assert list(tmp_path.iterdir()) == []


def test_data_imports_only_stdlib_numpy_and_itself():
    """rulegrad.data imports nothing from the rest of rulegrad and nothing beyond numpy."""
    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__"}
    for path in Path(rulegrad.data.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or name.startswith("rulegrad.data"), f"{path.name}: {name}"
