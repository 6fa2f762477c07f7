"""Fixtures for the data tests: the real shared data folder, and a guard against the network."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rulegrad.data import find_shared_data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``shared/data`` folder with the real files; tests using it skip when it is absent."""
    found = find_shared_data()
    if found is None:
        pytest.skip("no shared/data/README.md above the cwd or the rulegrad package")
    return found


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every download fail at once, so that no data test can reach the network."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network disabled in the test suite")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
