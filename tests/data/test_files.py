"""Tests for rulegrad/data/files.py: where data lives, fetching, and the import direction."""

from __future__ import annotations

import ast
import hashlib
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rulegrad.data
from rulegrad.data import DataNotFoundError, default_data_dir, find_shared_data, housing
from rulegrad.data.files import RETRIES, fetch, resolve_dir
from rulegrad.data.housing import HOUSING_SHA256
from rulegrad.data.mnist import MNIST_SHA256
from rulegrad.data.text import HIAWATHA_SHA256, TINYSHAKESPEARE_SHA256


def test_default_data_dir_uses_env_then_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """RULEGRAD_DATA/<name> wins; without it the folder is ~/.cache/rulegrad/<name>."""
    monkeypatch.setenv("RULEGRAD_DATA", str(tmp_path))
    assert default_data_dir("mnist") == tmp_path / "mnist"
    monkeypatch.delenv("RULEGRAD_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_checks_sha256_and_shows_progress(file_server, tmp_path: Path, capfd):
    """A missing file is downloaded, checked, and reported on stderr; present ones are kept."""
    file_server.files["/a.txt"] = b"payload" * 1000
    folder = tmp_path / "new" / "folder"
    files = {"a.txt": (file_server.url + "/a.txt", sha256(b"payload" * 1000))}
    fetch(folder, files, what="test")
    fetch(folder, files, what="test")  # already there: no second request
    assert file_server.requests == ["/a.txt"]
    assert [p.name for p in folder.iterdir()] == ["a.txt"]
    assert (folder / "a.txt").read_bytes() == b"payload" * 1000
    assert "a.txt [" + "#" * 30 + "] 0.0/0.0 MB" in capfd.readouterr().err


def test_bad_checksum_raises_and_leaves_nothing(file_server, tmp_path: Path):
    """A download with the wrong sha256 raises a clear error; no file, no new empty folder."""
    file_server.files["/a.txt"] = b"tampered"
    folder = tmp_path / "cache" / "rulegrad" / "test"
    with pytest.raises(DataNotFoundError, match="checksum mismatch.*a.txt") as info:
        fetch(folder, {"a.txt": (file_server.url + "/a.txt", sha256(b"good"))}, what="test")
    assert sha256(b"tampered") in str(info.value)  # the message shows what arrived
    assert list(tmp_path.iterdir()) == []


def test_failed_download_leaves_no_empty_folders(file_server, tmp_path: Path):
    """A 404 (after the retries) raises naming the status and leaves the cache folders unmade."""
    (tmp_path / "cache").mkdir()
    folder = tmp_path / "cache" / "rulegrad" / "test"
    with pytest.raises(DataNotFoundError, match="404"):
        fetch(folder, {"a.txt": (file_server.url + "/a.txt", sha256(b"x"))}, what="test")
    assert file_server.requests == ["/a.txt"] * (1 + RETRIES)
    assert list((tmp_path / "cache").iterdir()) == []  # the folder that existed stays


def test_download_is_retried(file_server, tmp_path: Path):
    """A server error on the first try is retried, and the second try succeeds."""
    file_server.files["/a.txt"] = b"ok"
    file_server.failures["/a.txt"] = [503]
    fetch(tmp_path, {"a.txt": (file_server.url + "/a.txt", sha256(b"ok"))}, what="test")
    assert (tmp_path / "a.txt").read_bytes() == b"ok" and len(file_server.requests) == 2


def test_offline_refuses_to_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """With RULEGRAD_OFFLINE set (as in this test suite) nothing is requested, and it says so."""
    monkeypatch.setenv("RULEGRAD_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match="downloads are off because RULEGRAD_OFFLINE"):
        fetch(tmp_path / "x", {"a.txt": ("http://127.0.0.1:9/a.txt", sha256(b""))}, what="t")
    assert list(tmp_path.iterdir()) == []


def test_present_files_are_not_hashed(tmp_path: Path):
    """A file already in the folder is used as it is (checked when downloaded, not each load)."""
    (tmp_path / "a.txt").write_bytes(b"my own copy")
    fetch(tmp_path, {"a.txt": ("http://127.0.0.1:9/a.txt", sha256(b"other"))}, what="t")


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME is the Linux convention")
def test_cache_honours_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Without RULEGRAD_DATA the cache is $XDG_CACHE_HOME/rulegrad/<name>."""
    monkeypatch.delenv("RULEGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir("mnist") == tmp_path / "xdg" / "rulegrad" / "mnist"


def test_loader_downloads_into_cache(file_server, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """housing() with no data anywhere downloads into the user cache and loads the file."""
    table = "".join(f"{i} " * 13 + f"{20 + i}\n" for i in range(1, 4)).encode()
    file_server.files["/housing.data"] = table
    module = importlib.import_module("rulegrad.data.housing")  # not the function of that name
    monkeypatch.setattr(module, "HOUSING_URL", file_server.url + "/housing.data")
    monkeypatch.setattr(module, "HOUSING_SHA256", sha256(table))
    monkeypatch.setattr("rulegrad.data.files.find_shared_data", lambda: None)
    monkeypatch.delenv("RULEGRAD_DATA", raising=False)
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda name, **kw: str(tmp_path / name))
    x, y = housing()
    assert y.tolist() == [[21.0, 22.0, 23.0]]
    assert (tmp_path / "rulegrad" / "housing" / "housing.data").read_bytes() == table


def test_known_checksums_match_shared_readme(shared_data: Path):
    """The sha256 in the loaders are the ones in shared/data/README.md, and its files have them."""
    readme = (shared_data / "README.md").read_text()
    rows = dict(re.findall(r"\| `(\w+/[\w.-]+)` \| \d+ \| `([0-9a-f]{64})`", readme))
    known = {f"mnist/{name}": h for name, h in MNIST_SHA256.items()}
    known["housing/housing.data"] = HOUSING_SHA256
    known["text/hiawatha.txt"] = HIAWATHA_SHA256
    known["text/tinyshakespeare.txt"] = TINYSHAKESPEARE_SHA256
    assert known == rows
    for name, h in known.items():
        if (shared_data / name).is_file():
            assert sha256((shared_data / name).read_bytes()) == h, name


def test_import_rulegrad_loads_no_download_stack():
    """`import rulegrad` imports neither pooch, requests nor platformdirs (only a download does)."""
    stack = "{'pooch', 'requests', 'platformdirs'}"
    code = f"import sys, rulegrad; print(sorted({stack} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_data_imports_only_stdlib_numpy_and_itself():
    """rulegrad.data imports nothing from the rest of rulegrad; pooch and platformdirs only
    inside functions (lazily), and nothing else beyond numpy."""
    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__"}
    for path in Path(rulegrad.data.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            lazy = {"pooch", "platformdirs"} if id(node) not in top else set()
            for name in names:
                first = name.split(".")[0]
                ok = first in allowed | lazy or name.startswith("rulegrad.data")
                assert ok, f"{path.name}: {name}"
