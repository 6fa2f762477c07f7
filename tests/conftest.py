"""Shared fixtures: a clean registry for tests that define throwaway primitives."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from rulegrad.core.box import FUNCTIONS
from rulegrad.core.primitive import PRIMITIVES

# The suite never downloads: the data loaders refuse to while this is set, and tests that need
# data skip when it is not on disk. RULEGRAD_OFFLINE=0 in the environment lets loaders download.
os.environ.setdefault("RULEGRAD_OFFLINE", "1")

# Under --doctest-modules pytest would import each conftest a second time as a module.
collect_ignore_glob = ["conftest.py", "**/conftest.py"]


@pytest.fixture
def scratch_registry() -> Iterator[None]:
    """Remove every primitive a test registers once it is done."""
    prims, funcs = dict(PRIMITIVES), dict(FUNCTIONS)
    yield
    PRIMITIVES.clear()
    PRIMITIVES.update(prims)
    FUNCTIONS.clear()
    FUNCTIONS.update(funcs)
