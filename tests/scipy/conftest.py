"""tests/scipy: rulegrad's own scipy rules (rulegrad/scipy); skipped without scipy."""

from __future__ import annotations

import pytest

pytest.importorskip("scipy", reason="rulegrad's scipy rules need scipy")
