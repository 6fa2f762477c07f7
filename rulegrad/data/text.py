"""Text corpora for character language models, a character vocabulary, and LM batches."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import final

import numpy as np

from rulegrad.data.files import fetch, resolve_dir

__all__ = [
    "HIAWATHA_URL",
    "HIAWATHA_SHA256",
    "TINYSHAKESPEARE_URL",
    "TINYSHAKESPEARE_SHA256",
    "Vocab",
    "char_batches",
    "hiawatha",
    "onehot",
    "read_text",
    "tinyshakespeare",
]

# Gutenberg's release of 24 Aug 2021; should Gutenberg reissue the file, the download fails
# its checksum (and says so) rather than training on another text.
HIAWATHA_URL = "https://www.gutenberg.org/cache/epub/19/pg19.txt"
HIAWATHA_SHA256 = "11bee0d53b79b8267736eaecd50f0d76c338279715a5bed413bd45415828cac3"
TINYSHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
_START = re.compile(r"^[ \t]*\*\*\*[ \t]*START OF.*$", re.MULTILINE)
_END = re.compile(r"^[ \t]*\*\*\*[ \t]*END OF", re.MULTILINE)


def read_text(path: str | os.PathLike[str], *, strip_gutenberg: bool = True) -> str:
    r"""Read a UTF-8 text file, dropping a BOM and, optionally, Project Gutenberg's wrapper.

    Args:
        path: the file.
        strip_gutenberg: keep only the text between the ``*** START OF`` and ``*** END OF``
            lines (without surrounding blank lines), when the file has both.

    Returns:
        The text, with newlines as ``\n``.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "pg.txt"
        >>> _ = path.write_text("\ufeffLicence\n*** START OF X\n\nSing!\n*** END OF X\n")
        >>> read_text(path)
        'Sing!\n'
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    start, end = _START.search(text), _END.search(text)
    if strip_gutenberg and start and end and start.end() <= end.start():
        text = text[start.end() : end.start()].strip() + "\n"
    return text


def hiawatha(directory: str | os.PathLike[str] | None = None, *, download: bool = True) -> str:
    r"""Return Longfellow's *The Song of Hiawatha* (Gutenberg #19) without the Gutenberg wrapper.

    Args:
        directory: folder with ``hiawatha.txt``. None searches $RULEGRAD_DATA/text,
            ``shared/data/text``, then the user cache (`default_data_dir`).
        download: fetch a missing file from `HIAWATHA_URL` (checked against `HIAWATHA_SHA256`).

    Returns:
        The poem, about 190k characters, starting with its title.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "hiawatha.txt").write_text("*** START OF X\nShould you ask\n*** END OF X")
        >>> hiawatha(folder)
        'Should you ask\n'
    """
    return _corpus(directory, "hiawatha.txt", (HIAWATHA_URL, HIAWATHA_SHA256), download)


def tinyshakespeare(
    directory: str | os.PathLike[str] | None = None, *, download: bool = True
) -> str:
    r"""Return Karpathy's char-rnn "tiny shakespeare" corpus (about 1.1M characters, 65 distinct).

    Args:
        directory: folder with ``tinyshakespeare.txt``. None searches $RULEGRAD_DATA/text,
            ``shared/data/text``, then the user cache (`default_data_dir`).
        download: fetch a missing file from `TINYSHAKESPEARE_URL` (checked against
            `TINYSHAKESPEARE_SHA256`).

    Returns:
        The text.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "tinyshakespeare.txt").write_text("First Citizen:\n")
        >>> tinyshakespeare(folder)
        'First Citizen:\n'
    """
    source = (TINYSHAKESPEARE_URL, TINYSHAKESPEARE_SHA256)
    return _corpus(directory, "tinyshakespeare.txt", source, download)


def _corpus(
    directory: str | os.PathLike[str] | None, name: str, source: tuple[str, str], download: bool
) -> str:
    """Fetch the text file `name` (from URL `source[0]`, sha256 `source[1]`) if needed; read it."""
    folder = resolve_dir("text", directory)
    fetch(folder, {name: source}, what=f"text corpus {name}", download=download)
    return read_text(folder / name)


@final
class Vocab:
    """The sorted distinct characters of a text, mapping characters to ids 0..len-1 and back.

    Args:
        text: the characters to index (usually the whole corpus).

    Examples:
        >>> vocab = Vocab("hello")
        >>> vocab.chars, len(vocab)
        ('ehlo', 4)
        >>> vocab.encode("hole")
        array([1, 3, 2, 0])
        >>> vocab.decode([2, 0, 2, 3])
        'lelo'
    """

    __slots__ = ("chars", "_codes")

    def __init__(self, text: str) -> None:
        if not text:
            raise ValueError("Vocab: the text is empty, so there are no characters to index")
        self.chars = "".join(sorted(set(text)))
        self._codes = _codepoints(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"Vocab({self.chars!r})"

    def encode(self, text: str) -> np.ndarray:
        """Return the int64 ids of the characters of `text`; ValueError for unknown characters."""
        codes = _codepoints(text)
        ids = np.searchsorted(self._codes, codes).clip(max=len(self) - 1)
        unknown = self._codes[ids] != codes
        if np.any(unknown):
            chars = "".join(sorted({text[i] for i in np.flatnonzero(unknown)}))
            raise ValueError(f"Vocab.encode: characters not in the vocabulary: {chars!r}")
        return ids.astype(np.int64)

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """Return the string of the characters with ids `ids` (flattened)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if np.any((ids < 0) | (ids >= len(self))):
            raise ValueError(f"Vocab.decode: ids must be in 0..{len(self) - 1}")
        return "".join(self.chars[i] for i in ids)


def _codepoints(text: str) -> np.ndarray:
    """Return the Unicode code points of `text` as a uint32 array (vectorised `ord`)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def char_batches(
    ids: np.ndarray, batch_size: int, seq_len: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut a sequence of ids into (inputs, targets) windows for truncated backprop through time.

    As in Knet's charlm, the sequence is split into `batch_size` contiguous streams, one per
    row, so row ``b`` of one window continues in row ``b`` of the next, and a recurrent state can
    be carried across windows. Targets are the inputs shifted by one character. The last window
    is shorter when `seq_len` does not divide the stream length; the few ids that do not fill a
    whole stream are dropped.

    Args:
        ids: 1-d integer array (for example `Vocab.encode` of a corpus).
        batch_size: number of parallel streams (rows).
        seq_len: number of time steps (columns) per window.

    Returns:
        A list of `(inputs, targets)` pairs of shape (batch_size, <= seq_len), views into `ids`.

    Examples:
        >>> [(x.tolist(), y.tolist()) for x, y in char_batches(np.arange(11), 2, 3)]
        [([[0, 1, 2], [5, 6, 7]], [[1, 2, 3], [6, 7, 8]]), ([[3, 4], [8, 9]], [[4, 5], [9, 10]])]
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or batch_size < 1 or seq_len < 1:
        raise ValueError(
            f"char_batches: need 1-d ids and batch_size, seq_len >= 1, got ids of shape "
            f"{ids.shape}, batch_size={batch_size}, seq_len={seq_len}"
        )
    steps = (len(ids) - 1) // batch_size
    if steps < 1:
        raise ValueError(f"char_batches: {len(ids)} ids are too few for {batch_size} streams")
    inputs = ids[: steps * batch_size].reshape(batch_size, steps)
    targets = ids[1 : steps * batch_size + 1].reshape(batch_size, steps)
    return [
        (inputs[:, t : t + seq_len], targets[:, t : t + seq_len]) for t in range(0, steps, seq_len)
    ]


def onehot(
    ids: Iterable[int] | np.ndarray, n: int, *, dtype: type | np.dtype = np.float32
) -> np.ndarray:
    """Return one-hot vectors of length `n` for integer ids, on a new last axis.

    Args:
        ids: integer array of any shape, values in 0..n-1.
        n: the number of classes (for text, ``len(vocab)``).
        dtype: element type of the result.

    Returns:
        An array of shape ``ids.shape + (n,)``.

    Examples:
        >>> onehot([2, 0], 3)
        array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer) or np.any((ids < 0) | (ids >= n)):
        raise ValueError(f"onehot: ids must be integers in 0..{n - 1}, got dtype {ids.dtype}")
    return (ids[..., None] == np.arange(n)).astype(dtype)
