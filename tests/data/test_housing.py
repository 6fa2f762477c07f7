"""Tests for rulegrad/data/housing.py: the Boston Housing loader in Knet's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rulegrad.data import DataNotFoundError, housing, minibatch
from rulegrad.data.housing import HOUSING_URL


def test_real_layout_and_known_facts(shared_data: Path):
    """x is (13, 506) standardized per feature, y is (1, 506) raw MEDV with mean 22.53."""
    x, y = housing(shared_data / "housing", download=False)
    assert (x.shape, y.shape, x.dtype, y.dtype) == ((13, 506), (1, 506), np.float64, np.float64)
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=1, ddof=1), 1)
    assert y.mean() == pytest.approx(22.5328, abs=1e-4) and (y.min(), y.max()) == (5.0, 50.0)


def test_real_minibatches_on_sample_axis(shared_data: Path):
    """The Knet layout batches along axis 1: 5 full batches of 100 from 506 samples."""
    x, y = housing(shared_data / "housing", dtype=np.float32, download=False)
    batches = minibatch(x, y, 100, axis=1)
    assert len(batches) == 5 and x.dtype == np.float32
    assert all(xb.shape == (13, 100) and yb.shape == (1, 100) for xb, yb in batches)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("1 2 3\n4 5 6\n", "expected N >= 2 rows of 14 columns"), ("CRIM ZN\n", "numeric table")],
    ids=["columns", "header"],
)
def test_bad_file_error(tmp_path: Path, text: str, problem: str):
    """A file that is not a 14-column numeric table raises a ValueError naming it."""
    (tmp_path / "housing.data").write_text(text)
    with pytest.raises(ValueError, match=f"housing.data: .*{problem}"):
        housing(tmp_path)


def test_offline_error_names_url(tmp_path: Path):
    """Without the file and the network the error names the folder, file and UCI URL."""
    with pytest.raises(DataNotFoundError, match="housing.data") as info:
        housing(tmp_path)
    assert str(tmp_path) in str(info.value) and HOUSING_URL.rsplit("/", 1)[0] in str(info.value)
