"""Loaders for the benchmark data sets (MNIST, Boston Housing, text corpora) and minibatching.

Pure numpy and the standard library (pooch downloads, imported only then); nothing else from
rulegrad is imported. Files are read from an explicit folder, $RULEGRAD_DATA/<name>, a
``shared/data/<name>`` folder or the user cache (``~/.cache/rulegrad/<name>`` on Linux), and
downloaded only when missing, checked against their sha256.
"""

from __future__ import annotations

from rulegrad.data.batches import Minibatches, minibatch
from rulegrad.data.files import DataNotFoundError, default_data_dir, find_shared_data
from rulegrad.data.housing import housing
from rulegrad.data.mnist import mnist, read_idx
from rulegrad.data.text import Vocab, char_batches, hiawatha, onehot, read_text, tinyshakespeare

__all__ = [
    # files.py: where data lives
    "DataNotFoundError",
    "default_data_dir",
    "find_shared_data",
    # mnist.py, housing.py, text.py: data sets and readers
    "mnist",
    "read_idx",
    "housing",
    "hiawatha",
    "tinyshakespeare",
    "read_text",
    # text.py: character language models
    "Vocab",
    "char_batches",
    "onehot",
    # batches.py: minibatching
    "minibatch",
    "Minibatches",
]
