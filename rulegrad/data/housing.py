"""UCI Boston Housing, standardized and laid out as in Knet's housing tutorial."""

from __future__ import annotations

import os

import numpy as np

from rulegrad.data.files import fetch, resolve_dir

__all__ = ["HOUSING_URL", "HOUSING_SHA256", "housing"]

HOUSING_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/housing/housing.data"
HOUSING_SHA256 = "baadf72995725d76efe787b664e1f083388c79ba21ef9a7990d87f774184735a"


def housing(
    directory: str | os.PathLike[str] | None = None,
    *,
    dtype: type | np.dtype = np.float64,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Load Boston Housing as `(x, y)` with samples in columns, as Knet's tutorial does.

    Each of the 13 feature rows is standardized to mean 0 and sample standard deviation 1
    (Julia's `std`, ddof=1); the target MEDV (median value in $1000s) is left as is. Pass
    ``axis=1`` to `minibatch` for this layout. The data has the problematic feature `B`; use it
    only as a numeric regression benchmark.

    Args:
        directory: folder with ``housing.data`` (whitespace separated, 14 columns, no header).
            None searches $RULEGRAD_DATA/housing, ``shared/data/housing``, then
            the user cache (`default_data_dir`).
        dtype: float type of the result.
        download: fetch a missing file from `HOUSING_URL` (checked against `HOUSING_SHA256`).

    Returns:
        x of shape (13, N) and y of shape (1, N); N is 506 for the UCI file.

    Raises:
        DataNotFoundError: the file is missing and could not be downloaded.
        ValueError: the file does not parse as a table with 14 columns.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "housing.data").write_text("1 " * 13 + "24.0\n" + "3 " * 13 + "21.6\n")
        >>> x, y = housing(folder)
        >>> x.shape, y.shape
        ((13, 2), (1, 2))
        >>> x[0], y
        (array([-0.70710678,  0.70710678]), array([[24. , 21.6]]))
    """
    folder = resolve_dir("housing", directory)
    files = {"housing.data": (HOUSING_URL, HOUSING_SHA256)}
    fetch(folder, files, what="Boston Housing", download=download)
    path = folder / "housing.data"
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise ValueError(f"{path}: not a whitespace-separated numeric table: {e}") from e
    if table.shape[1] != 14 or len(table) < 2:
        raise ValueError(f"{path}: expected N >= 2 rows of 14 columns, got shape {table.shape}")
    x, y = table[:, :13].T, table[:, 13:].T
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, ddof=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(y, dtype=dtype)
