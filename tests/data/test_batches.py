"""Tests for rulegrad/data/batches.py: minibatch and the re-iterable Minibatches."""

from __future__ import annotations

import numpy as np
import pytest

from rulegrad.data import minibatch


def test_sequential_batches_are_views_in_order():
    """Without shuffling, batches come in order, as views, and the remainder is dropped."""
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    batches = minibatch(x, y, 3)
    assert len(batches) == 3
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert all(np.shares_memory(xb, x) and xb.shape == (3, 2) for xb, _ in batches)


def test_partial_keeps_the_last_batch():
    """partial=True adds the last, smaller batch and counts it in len."""
    batches = minibatch(np.zeros((10, 1)), np.arange(10), 4, partial=True)
    assert len(batches) == 3 and [len(yb) for _, yb in batches] == [4, 4, 2]
    assert len(minibatch(np.zeros((8, 1)), np.arange(8), 4, partial=True)) == 2


def test_shuffle_reshuffles_each_epoch_and_keeps_pairs():
    """Each iteration is a new permutation of all samples, with x and y still paired."""
    x, y = np.arange(100) * 10, np.arange(100)
    batches = minibatch(x, y, 10, shuffle=True, rng=0)
    epochs = [np.concatenate([yb for _, yb in batches]) for _ in range(2)]
    assert all(sorted(e.tolist()) == list(range(100)) for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], y)
    assert all(np.array_equal(xb, yb * 10) for xb, yb in batches)
    again = minibatch(x, y, 10, shuffle=True, rng=0)
    assert np.array_equal(np.concatenate([yb for _, yb in again]), epochs[0])


def test_sample_axis_last_for_knet_layout():
    """axis=-1 batches features x samples data, with y of a different rank."""
    x, y = np.arange(12).reshape(3, 4), np.arange(4)
    (xb, yb), *_ = minibatch(x, y, 2, axis=-1, shuffle=True, rng=np.random.default_rng(1))
    assert xb.shape == (3, 2) and np.array_equal(xb, x[:, yb])


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"y": np.arange(9)}, r"x has 10 samples along axis 0 \(shape \(10, 2\)\) but y has 9"),
        ({"n": 0}, "batch size n must be a positive integer, got 0"),
        ({"n": 2.5}, "batch size n must be a positive integer"),
        ({"axis": 1}, r"sample axis 1 is out of range for y of shape \(10,\)"),
    ],
    ids=["counts", "zero", "float", "axis"],
)
def test_errors(kwargs: dict, problem: str):
    """Mismatched sample counts, a bad batch size or axis raise a ValueError saying which."""
    args = {"x": np.zeros((10, 2)), "y": np.arange(10), "n": 2} | kwargs
    with pytest.raises(ValueError, match=problem):
        minibatch(**args)
