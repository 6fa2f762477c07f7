"""Tests for rulegrad/data/text.py: corpora, Gutenberg stripping, Vocab, LM batches, onehot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rulegrad.data import (
    DataNotFoundError,
    Vocab,
    char_batches,
    hiawatha,
    onehot,
    read_text,
    tinyshakespeare,
)
from rulegrad.data.text import HIAWATHA_URL


def test_real_hiawatha_is_the_poem_only(shared_data: Path):
    """After stripping, Hiawatha starts with its title and has no BOM or Gutenberg licence."""
    text = hiawatha(shared_data / "text", download=False)
    assert text.startswith("The Song of Hiawatha\n") and text.endswith("The End\n")
    assert "\ufeff" not in text and "GUTENBERG" not in text.upper()
    assert 180_000 < len(text) < 200_000


def test_real_hiawatha_unstripped_keeps_licence(shared_data: Path):
    """strip_gutenberg=False keeps the header and licence but still drops the BOM."""
    text = read_text(shared_data / "text" / "hiawatha.txt", strip_gutenberg=False)
    assert text.startswith("The Project Gutenberg eBook of The Song of Hiawatha")
    assert "*** END OF THE PROJECT GUTENBERG EBOOK" in text


def test_real_tinyshakespeare(shared_data: Path):
    """tinyshakespeare is unchanged by stripping: 1115394 characters, 65 distinct."""
    text = tinyshakespeare(shared_data / "text", download=False)
    assert len(text) == 1115394 and text.startswith("First Citizen:")
    vocab = Vocab(text)
    assert len(vocab) == 65 and vocab.decode(vocab.encode(text[:500])) == text[:500]


def test_offline_error_names_url(tmp_path: Path):
    """A missing corpus without network raises DataNotFoundError naming the Gutenberg URL."""
    with pytest.raises(DataNotFoundError, match="hiawatha.txt") as info:
        hiawatha(tmp_path)
    assert HIAWATHA_URL.rsplit("/", 1)[0] in str(info.value)


def test_read_text_without_markers_is_unchanged(tmp_path: Path):
    """A file without both Gutenberg markers comes back as written (less a BOM)."""
    (tmp_path / "a.txt").write_text("\ufeff*** START OF nothing\nbody\n", encoding="utf-8")
    assert read_text(tmp_path / "a.txt") == "*** START OF nothing\nbody\n"


def test_vocab_round_trip_and_order():
    """Characters are sorted by code point, and non-ASCII text round-trips."""
    vocab = Vocab("Hiawatha’s “wooing”\n")
    assert list(vocab.chars) == sorted(set(vocab.chars)) and len(vocab) == 15
    ids = vocab.encode("“Hiawatha’s”")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "“Hiawatha’s”"
    assert vocab.decode(ids.reshape(2, 6)) == "“Hiawatha’s”"


def test_vocab_errors():
    """An empty text, unknown characters and out-of-range ids raise ValueError."""
    with pytest.raises(ValueError, match="text is empty"):
        Vocab("")
    vocab = Vocab("abc")
    with pytest.raises(ValueError, match="not in the vocabulary: 'dz'"):
        vocab.encode("zadd")
    with pytest.raises(ValueError, match=r"ids must be in 0\.\.2"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match="ids must be in"):
        vocab.decode([-1])


def test_char_batches_streams_and_shift():
    """Rows are contiguous streams across windows and targets are inputs shifted by one."""
    ids = np.arange(103)
    batches = char_batches(ids, batch_size=4, seq_len=10)
    assert len(batches) == 3 and batches[-1][0].shape == (4, 5)
    inputs = np.concatenate([x for x, _ in batches], axis=1)
    targets = np.concatenate([y for _, y in batches], axis=1)
    np.testing.assert_array_equal(inputs, np.arange(100).reshape(4, 25))
    np.testing.assert_array_equal(targets, inputs + 1)
    assert np.shares_memory(batches[0][0], ids)


@pytest.mark.parametrize(
    ("ids", "batch_size", "seq_len"),
    [(np.arange(4), 4, 2), (np.arange(12).reshape(3, 4), 2, 2), (np.arange(9), 2, 0)],
    ids=["too-short", "2-d", "seq_len-0"],
)
def test_char_batches_errors(ids: np.ndarray, batch_size: int, seq_len: int):
    """Too few ids, 2-d ids, or a zero length raise ValueError."""
    with pytest.raises(ValueError, match="char_batches"):
        char_batches(ids, batch_size, seq_len)


def test_onehot_shape_dtype_and_errors():
    """onehot adds a last axis of length n with a single 1 at each id; bad ids are refused."""
    ids = np.array([[0, 2], [1, 1]])
    out = onehot(ids, 3, dtype=np.float64)
    assert out.shape == (2, 2, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(-1), ids)
    np.testing.assert_array_equal(out.sum(-1), 1)
    with pytest.raises(ValueError, match=r"integers in 0\.\.2"):
        onehot([3], 3)
    with pytest.raises(ValueError, match="integers"):
        onehot([0.5], 3)
