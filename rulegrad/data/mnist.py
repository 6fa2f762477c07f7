"""MNIST handwritten digits from the four original IDX gzip files, and a strict IDX reader."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from rulegrad.data.files import fetch, resolve_dir

__all__ = ["MNIST_URL", "MNIST_FILES", "MNIST_SHA256", "mnist", "read_idx"]

# Google's CVDF mirror of yann.lecun.com/exdb/mnist, which now refuses most automated downloads.
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
# the original files' sha256 (they also match the md5s published with MNIST)
MNIST_SHA256 = dict(
    zip(
        MNIST_FILES,
        (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    )
)

# IDX type byte -> big-endian element type (http://yann.lecun.com/exdb/mnist/, bottom of page)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or not) and check that its header matches its payload.

    Args:
        path: the file; gzip is recognised by its magic bytes, not by the name.

    Returns:
        An array of the header's shape in native byte order (uint8 for MNIST).

    Raises:
        ValueError: the gzip data is corrupt, or the magic number or type is bad, or the header
            is truncated, or there are more or fewer data bytes than the dimensions require.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "tiny-idx2-ubyte"
        >>> _ = path.write_bytes(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5]))
        >>> read_idx(path)
        array([[0, 1, 2],
               [3, 4, 5]], dtype=uint8)
    """
    raw = Path(path).read_bytes()

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: not a valid IDX file: {problem}")

    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # EOFError: truncated gzip stream
            raise bad(f"corrupt or truncated gzip data ({e})") from e
    if len(raw) < 4:
        raise bad(f"{len(raw)} bytes is too short for the 4-byte magic number")
    if raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise bad(
            f"bad magic number 0x{raw[:4].hex()} (expected 0x0000, a type byte in "
            f"{{{', '.join(f'0x{t:02x}' for t in _IDX_TYPES)}}}, and a dimension count > 0)"
        )
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise bad(f"truncated header: {ndim} dimensions need {start} bytes, file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise bad(
            f"shape {shape} of {dtype.name} needs {expected} data bytes, found {len(raw) - start}"
            + (" (truncated)" if len(raw) - start < expected else " (trailing data)")
        )
    return np.frombuffer(raw, dtype, offset=start).astype(dtype.newbyteorder("=")).reshape(shape)


def mnist(
    directory: str | os.PathLike[str] | None = None,
    *,
    dtype: type | np.dtype = np.float32,
    flat: bool = True,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST as `(xtrn, ytrn, xtst, ytst)`, downloading the files if they are missing.

    Unlike Knet's `mnist()` (28x28x1xN, labels 1..10), samples are on the first axis and labels
    are the digits themselves, as numpy code expects.

    Args:
        directory: folder with the four IDX gzip files (`MNIST_FILES`). None searches
            $RULEGRAD_DATA/mnist, then a ``shared/data/mnist`` folder, then the user cache
            (`default_data_dir`).
        dtype: float type of the images.
        flat: images as (N, 784) when True, as NCHW (N, 1, 28, 28) when False.
        download: fetch missing files from `MNIST_URL` (the network is used only then; each
            download is checked against `MNIST_SHA256`).

    Returns:
        Images scaled to [0, 1] (60000 train, 10000 test) and int64 labels 0..9.

    Raises:
        DataNotFoundError: files are missing and could not be downloaded.
        ValueError: a file is corrupt or the files do not fit together.

    Examples:
        >>> xtrn, ytrn, xtst, ytst = mnist()  # doctest: +SKIP
        >>> xtrn.shape, xtrn.dtype, ytrn[:3]  # doctest: +SKIP
        ((60000, 784), dtype('float32'), array([5, 0, 4]))
        >>> import tempfile
        >>> mnist(tempfile.mkdtemp(), download=False)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rulegrad.data.files.DataNotFoundError: MNIST files missing from ...
    """
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"mnist: dtype must be a float type, got {np.dtype(dtype)}")
    folder = resolve_dir("mnist", directory)
    files = {name: (MNIST_URL + name, MNIST_SHA256[name]) for name in MNIST_FILES}
    fetch(folder, files, what="MNIST", download=download)
    xtrn, ytrn = _load_pair(folder / MNIST_FILES[0], folder / MNIST_FILES[1], dtype, flat)
    xtst, ytst = _load_pair(folder / MNIST_FILES[2], folder / MNIST_FILES[3], dtype, flat)
    return xtrn, ytrn, xtst, ytst


def _load_pair(
    images_path: Path, labels_path: Path, dtype: type | np.dtype, flat: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Read one images file and its labels file, and check that they fit together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected N x 28 x 28 uint8 images, got {images.shape} {images.dtype}"
        )
    if labels.shape != images.shape[:1] or labels.dtype != np.uint8 or np.any(labels > 9):
        raise ValueError(
            f"{labels_path}: expected {len(images)} uint8 labels in 0..9 to match "
            f"{images_path.name}, got shape {labels.shape} {labels.dtype}"
        )
    x = images.reshape(len(images), -1) if flat else images[:, None]
    return np.divide(x, 255, dtype=dtype), labels.astype(np.int64)
