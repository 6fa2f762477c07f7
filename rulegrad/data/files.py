"""Where data files live, and fetching the missing ones (stdlib urllib, never at import time)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["DataNotFoundError", "default_data_dir", "find_shared_data", "resolve_dir", "fetch"]

TIMEOUT = 60.0  # seconds per request; a stalled mirror should fail, not hang a test run


class DataNotFoundError(FileNotFoundError):
    """Data files are missing and could not be downloaded.

    It derives from `FileNotFoundError` rather than `RulegradError` because `rulegrad.data`
    imports nothing else from rulegrad, and `except OSError` is what loader callers expect.
    """


def default_data_dir(name: str) -> Path:
    """Return the directory a data set called `name` is cached in.

    Args:
        name: the data set's folder name (``"mnist"``, ``"housing"``, ``"text"``).

    Returns:
        ``$RULEGRAD_DATA/<name>`` when that variable is set, else ``~/.cache/rulegrad/<name>``.

    Examples:
        >>> default_data_dir("mnist").name
        'mnist'
    """
    root = os.environ.get("RULEGRAD_DATA")
    return Path(root) / name if root else Path.home() / ".cache" / "rulegrad" / name


def find_shared_data() -> Path | None:
    """Find a ``shared/data`` folder (one holding a README.md) above the cwd or this package.

    A checkout at ``/work/main`` finds ``/work/shared/data``; so does a checkout that has its own
    ``shared/`` folder.

    Returns:
        The folder, or None when no ancestor has one.

    Examples:
        >>> found = find_shared_data()
        >>> found is None or (found / "README.md").is_file()
        True
    """
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "data"
            if (candidate / "README.md").is_file():
                return candidate
    return None


def resolve_dir(name: str, directory: str | os.PathLike[str] | None) -> Path:
    """Return `directory` if given, else the first of RULEGRAD_DATA, shared data, the cache.

    Args:
        name: the data set's folder name.
        directory: an explicit folder, or None to search.

    Returns:
        The folder to read (and download into).

    Examples:
        >>> resolve_dir("mnist", "/tmp/m") == Path("/tmp/m")
        True
    """
    if directory is not None:
        return Path(directory)
    shared = find_shared_data()
    if "RULEGRAD_DATA" not in os.environ and shared is not None and (shared / name).is_dir():
        return shared / name
    return default_data_dir(name)


def fetch(directory: Path, urls: dict[str, str], *, what: str, download: bool = True) -> None:
    """Make sure each file named in `urls` is in `directory`, downloading the missing ones.

    Args:
        directory: the folder that should hold the files.
        urls: file name -> URL to download it from.
        what: the data set's name for error messages.
        download: whether to try the network at all.

    Raises:
        DataNotFoundError: files are missing and `download` is False or the download failed.

    Examples:
        >>> fetch(Path("."), {}, what="nothing")  # nothing to fetch, so no network
    """
    missing = [name for name in urls if not (directory / name).is_file()]
    if not missing:
        return
    reason = "download=False"
    if download:
        from http.client import HTTPException  # the network stack loads only to download

        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name in missing:
                _download(urls[name], directory / name)
            return
        except (OSError, HTTPException) as e:  # URLError and timeouts are OSErrors
            reason = f"download failed: {type(e).__name__}: {e}"
    missing = [name for name in urls if not (directory / name).is_file()]
    sources = ", ".join(sorted({urls[name].rsplit("/", 1)[0] + "/" for name in missing}))
    raise DataNotFoundError(
        f"{what} files missing from {directory}: {', '.join(missing)} ({reason}). "
        f"Copy them there from {sources} (or a mirror), pass directory=, "
        f"or set RULEGRAD_DATA to a folder that holds {directory.name}/."
    )


def _download(url: str, path: Path) -> None:
    """Download `url` to `path` through a temporary file, so a failure leaves no partial file."""
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "rulegrad"})
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                shutil.copyfileobj(response, tmp)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)
