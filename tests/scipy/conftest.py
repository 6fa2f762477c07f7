"""tests/scipy: rulegrad's own scipy rules (rulegrad/scipy; files test_scipy_*.py, as tests/rules has
test_linalg.py); skipped without scipy."""

from __future__ import annotations

import pytest

pytest.importorskip("scipy", reason="rulegrad's scipy rules need scipy")
