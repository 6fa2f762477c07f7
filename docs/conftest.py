"""The scipy pages' examples run only where scipy is installed (rulegrad does not need it)."""

from __future__ import annotations

import importlib.util

collect_ignore = [] if importlib.util.find_spec("scipy") else ["scientific.md"]
