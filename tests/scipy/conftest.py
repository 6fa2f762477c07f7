"""tests/scipy: rulegrad's own scipy rules (rulegrad/scipy), skipped without scipy.

The files are test_scipy_*.py: tests/rules has a test_linalg.py and a test_catalog.py."""

from __future__ import annotations

import pytest

pytest.importorskip("scipy", reason="rulegrad's scipy rules need scipy")
