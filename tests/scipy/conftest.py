"""tests/scipy: rulegrad's own scipy rules (rulegrad/scipy), not collected without scipy.

The files are test_scipy_*.py: tests/rules has a test_linalg.py and a test_catalog.py."""

from __future__ import annotations

try:
    import scipy  # noqa: F401
except ImportError:
    collect_ignore_glob = ["test_scipy_*.py"]
