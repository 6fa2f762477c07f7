"""Where data files live, and downloading the missing ones with checksums (pooch).

pooch (and requests) load only when a file has to be downloaded, never at import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

__all__ = ["DataNotFoundError", "default_data_dir", "find_shared_data", "resolve_dir", "fetch"]

TIMEOUT = 60.0  # seconds per request; a stalled mirror should fail, not hang a test run
RETRIES = 2  # further tries after a failed download (pooch waits 1 s, then 2 s)
OFFLINE = "RULEGRAD_OFFLINE"  # set (not "0") to refuse every download, as the test suite does


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
        ``$RULEGRAD_DATA/<name>`` when that variable is set, else ``<cache>/rulegrad/<name>``
        in the user's cache folder (platformdirs: ``$XDG_CACHE_HOME`` or ``~/.cache`` on
        Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows).

    Examples:
        >>> default_data_dir("mnist").name
        'mnist'
    """
    root = os.environ.get("RULEGRAD_DATA")
    if root:
        return Path(root) / name
    import platformdirs  # lazily, as pooch is

    return Path(platformdirs.user_cache_dir("rulegrad", appauthor=False)) / name


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


def fetch(
    directory: Path, files: dict[str, tuple[str, str]], *, what: str, download: bool = True
) -> None:
    """Make sure each file named in `files` is in `directory`, downloading the missing ones.

    A download goes to a temporary file that is checked against the file's sha256 and only
    then renamed into place (pooch); it is retried `RETRIES` times, shows its progress on
    stderr, and when it fails it leaves no file and no folder it created. Files already in
    `directory` are used as they are, without hashing: they were checked when downloaded, or
    put there on purpose (``shared/data`` has its own ``verify_data.py``), and the readers
    check each file's structure.

    Args:
        directory: the folder that should hold the files.
        files: file name -> (URL to download it from, its sha256 in hex).
        what: the data set's name for error messages.
        download: whether to try the network at all (also refused when the environment
            variable ``RULEGRAD_OFFLINE`` is set, as in rulegrad's test suite).

    Raises:
        DataNotFoundError: files are missing and could not be downloaded: downloads are off,
            the network failed, or the file downloaded does not have the expected sha256.

    Examples:
        >>> fetch(Path("."), {}, what="nothing")  # nothing to fetch, so no network
    """
    missing = [name for name in files if not (directory / name).is_file()]
    if not missing:
        return
    if not download:
        reason = "download=False"
    elif os.environ.get(OFFLINE, "0") != "0":
        reason = f"downloads are off because {OFFLINE} is set"
    else:
        reason = _download_all(directory, {name: files[name] for name in missing})
        if reason is None:
            return
    missing = [name for name in files if not (directory / name).is_file()]
    sources = ", ".join(sorted({files[name][0].rsplit("/", 1)[0] + "/" for name in missing}))
    raise DataNotFoundError(
        f"{what} files missing from {directory}: {', '.join(missing)} ({reason}). "
        f"Copy them there from {sources} (or a mirror), pass directory=, "
        f"or set RULEGRAD_DATA to a folder that holds {directory.name}/."
    )


def _download_all(directory: Path, files: dict[str, tuple[str, str]]) -> str | None:
    """Download `files` into `directory` with pooch; None, or why it failed (after cleaning up).

    Folders this call creates are removed again if the download fails, so a failed download
    leaves the cache as it found it.
    """
    try:
        import pooch
    except ImportError:
        return "downloading needs pooch: pip install pooch"
    created = [d for d in (directory, *directory.parents) if not d.exists()]  # deepest first
    try:
        for name, (url, sha256) in files.items():
            registry = pooch.create(
                path=directory,
                base_url="",
                registry={name: f"sha256:{sha256}"},
                urls={name: url},
                retry_if_failed=RETRIES,
            )
            downloader = pooch.HTTPDownloader(
                progressbar=_Progress(name),
                timeout=TIMEOUT,
                headers={"User-Agent": "rulegrad (https://pypi.org/project/rulegrad)"},
            )
            registry.fetch(name, downloader=downloader)
        return None
    except (OSError, ValueError) as e:  # requests' errors are OSErrors; pooch's are ValueErrors
        if "known hash" in str(e):  # pooch deleted the download
            return f"checksum mismatch, so the download was deleted: {e}"
        return f"download failed: {type(e).__name__}: {e}"
    finally:
        for folder in created:
            try:
                folder.rmdir()  # only if empty: what a failed download left
            except OSError:
                break


class _Progress:
    """The progress bar pooch's HTTPDownloader drives (``total``, ``update``, ``reset``,
    ``close``): redrawn in place on a terminal, one line when done elsewhere."""

    def __init__(self, name: str, file: TextIO | None = None) -> None:
        self.name, self.file = name, file if file is not None else sys.stderr
        self.total, self.count, self.live = 0, 0, bool(getattr(self.file, "isatty", bool)())

    def update(self, n: int) -> None:
        self.count += n
        if self.live:
            self.file.write("\r" + self.line())
            self.file.flush()

    def reset(self) -> None:
        self.count = 0

    def close(self) -> None:
        self.file.write(("\r" if self.live else "") + self.line() + "\n")
        self.file.flush()

    def line(self) -> str:
        """``name [#####.....] 4.2/9.9 MB``, or ``name 4.2 MB`` when the size is unknown."""
        done = min(self.count, self.total) if self.total else self.count
        if not self.total:
            return f"{self.name} {done / 1e6:.1f} MB"
        bar = "#" * (30 * done // self.total)
        return f"{self.name} [{bar:.<30}] {done / 1e6:.1f}/{self.total / 1e6:.1f} MB"
