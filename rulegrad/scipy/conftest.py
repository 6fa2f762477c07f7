"""pytest (--doctest-modules): without scipy, the modules that import it are not collected."""

from __future__ import annotations

try:
    import scipy  # noqa: F401
except ImportError:
    collect_ignore = [
        "__init__.py",
        "special.py",
        "stats.py",
        "mvn.py",
        "linalg.py",
        "signal.py",
        "catalog.py",
        "integrate.py",
    ]
