"""Tests for rulegrad/data/mnist.py: the strict IDX reader and the MNIST loader."""

from __future__ import annotations

import gzip
import hashlib
import importlib
from pathlib import Path

import numpy as np
import pytest

from rulegrad.data import DataNotFoundError, mnist, read_idx
from rulegrad.data.mnist import MNIST_FILES, MNIST_URL


def idx_bytes(array: np.ndarray, type_byte: int = 0x08, dtype: str = ">u1") -> bytes:
    """Encode an array as an uncompressed IDX file."""
    header = bytes([0, 0, type_byte, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(dtype).tobytes()


def fake_mnist_files(train_labels: list[int], test_labels: list[int]) -> dict[str, bytes]:
    """The four gzipped MNIST files with tiny data: image i is all i, the last all 255."""
    files = {}
    for split, labels in (("train", train_labels), ("t10k", test_labels)):
        images = np.repeat(np.arange(len(labels), dtype=np.uint8), 28 * 28).reshape(-1, 28, 28)
        images[-1] = 255
        files[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(images))
        files[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.array(labels)))
    return files


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    """Write name -> bytes into folder and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def real(shared_data: Path) -> tuple[np.ndarray, ...]:
    """The real MNIST, parsed once per module (no download)."""
    return mnist(shared_data / "mnist", download=False)


def test_real_shapes_dtypes_and_range(real: tuple[np.ndarray, ...]):
    """Flat float32 images in [0, 1] and int64 labels 0..9, 60000 train and 10000 test."""
    xtrn, ytrn, xtst, ytst = real
    assert (xtrn.shape, ytrn.shape, xtst.shape, ytst.shape) == (
        (60000, 784),
        (60000,),
        (10000, 784),
        (10000,),
    )
    assert (xtrn.dtype, ytrn.dtype) == (np.float32, np.int64)
    assert xtrn.min() == 0.0 and xtrn.max() == 1.0 and 0.12 < xtrn.mean() < 0.14
    assert ytst.min() == 0 and ytst.max() == 9


def test_real_known_labels(real: tuple[np.ndarray, ...]):
    """First labels and per-digit counts match the published MNIST statistics."""
    _, ytrn, _, ytst = real
    assert ytrn[:5].tolist() == [5, 0, 4, 1, 9] and ytst[:3].tolist() == [7, 2, 1]
    counts = np.bincount(ytrn, minlength=10)
    assert counts.sum() == 60000 and counts[1] == 6742 and counts[5] == 5421
    assert np.bincount(ytst, minlength=10).tolist()[:2] == [980, 1135]


def test_nchw_layout_dtype_and_scaling(tmp_path: Path):
    """flat=False gives (N, 1, 28, 28); dtype is honoured and 255 maps to exactly 1."""
    folder = write_files(tmp_path, fake_mnist_files([3, 1, 4], [1, 5]))
    xtrn, ytrn, xtst, ytst = mnist(folder, flat=False, dtype=np.float64)
    assert xtrn.shape == (3, 1, 28, 28) and xtst.shape == (2, 1, 28, 28)
    assert xtrn.dtype == np.float64 and ytrn.tolist() == [3, 1, 4] and ytst.tolist() == [1, 5]
    assert xtrn[1, 0, 5, 7] == 1 / 255 and xtrn[2].min() == 1.0


def test_rejects_mismatched_labels_and_int_dtype(tmp_path: Path):
    """Labels that do not match the images, or an integer dtype, raise ValueError."""
    folder = write_files(tmp_path, fake_mnist_files([3, 1, 4], [1, 5]))
    (folder / MNIST_FILES[3]).write_bytes(gzip.compress(idx_bytes(np.array([1, 2, 3]))))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: expected 2 uint8 labels"):
        mnist(folder)
    with pytest.raises(ValueError, match="dtype must be a float type"):
        mnist(folder, dtype=np.int32)


def test_read_idx_big_endian_types(tmp_path: Path):
    """Multi-byte IDX types are read big-endian and returned in native byte order."""
    values = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    (tmp_path / "a.idx").write_bytes(idx_bytes(values, 0x0C, ">i4"))
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and out.dtype.isnative and out.tolist() == values.tolist()


GOOD = idx_bytes(np.arange(6).reshape(2, 3))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (GOOD[:-1], "needs 6 data bytes, found 5 (truncated)"),
        (GOOD + b"\0", "found 7 (trailing data)"),
        (b"\1" + GOOD[1:], "bad magic number 0x01000802"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "bad magic number 0x00000702"),
        (GOOD[:10], "truncated header: 2 dimensions need 12 bytes"),
        (GOOD[:3], "3 bytes is too short"),
        (gzip.compress(GOOD)[:-10], "corrupt or truncated gzip data"),
    ],
    ids=["truncated", "trailing", "magic", "type", "header", "short", "gzip"],
)
def test_read_idx_corrupt_file_error(tmp_path: Path, data: bytes, problem: str):
    """A corrupt IDX file raises a ValueError naming the file and what is wrong."""
    path = tmp_path / "bad-idx2-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="bad-idx2-ubyte.gz: not a valid IDX file") as info:
        read_idx(path)
    assert problem in str(info.value)


def test_offline_error_names_folder_files_and_url(tmp_path: Path):
    """Without the files and without network the error says where, what, and from where."""
    with pytest.raises(DataNotFoundError) as info:
        mnist(tmp_path / "mnist")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and "RULEGRAD_OFFLINE" in message
    assert str(tmp_path / "mnist") in message and MNIST_URL in message and "Copy them" in message
    assert all(name in message for name in MNIST_FILES)
    with pytest.raises(DataNotFoundError, match="download=False"):
        mnist(tmp_path, download=False)


def test_download_fetches_the_four_files(file_server, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """Missing files are fetched from MNIST_URL, checked against MNIST_SHA256, then parsed."""
    served = fake_mnist_files([7, 2], [1])
    module = importlib.import_module("rulegrad.data.mnist")  # not the function of that name
    monkeypatch.setattr(module, "MNIST_URL", file_server.url + "/mnist/")
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in served.items()}
    monkeypatch.setattr(module, "MNIST_SHA256", hashes)
    file_server.files.update({f"/mnist/{name}": data for name, data in served.items()})
    _, ytrn, xtst, _ = mnist(tmp_path / "mnist")
    assert ytrn.tolist() == [7, 2] and xtst.shape == (1, 784)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(MNIST_FILES)
