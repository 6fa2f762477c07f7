"""``rulegrad bench``: the Knet tutorial's benchmark table, rulegrad against its peers.

Five rows, as in Knet's table: linear regression on Housing, softmax regression and a
784-64-10 MLP on MNIST, LeNet on MNIST, and an LSTM character language model on Hiawatha
(embedding and hidden 256, sequence 100, batch 128). Each row is trained for a fixed,
reduced amount of work (one *run*: a few SGD steps) by every column:

* ``rulegrad``: the model as plain numpy code, differentiated with ``rg.diff``/``rg.grad``;
* ``numpy``: the same model with its backward pass written by hand (the practical limit,
  and the unit of the ratios);
* ``autograd``: HIPS autograd on the same model code (with ``autograd.numpy``), when
  installed;
* ``torch``: PyTorch on the CPU, when installed.

Every column's gradients are first checked against the hand-written ones on the same
parameters and batch. Columns are then timed in turns, ``--repeats`` runs each, and the
table gives median milliseconds per run and the ratio to hand-written numpy. Everything
runs on one thread unless ``--threads`` says otherwise: the BLAS and OpenMP thread pools
are limited in the running process with threadpoolctl, and PyTorch's with
``torch.set_num_threads``.

Run ``rulegrad bench --help`` for the options; ``benchmarks/knet_table.py`` is the same.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np

import rulegrad as rg

__all__ = [
    "ROWS", "Row", "main", "add_arguments", "run", "run_row", "format_table", "softmax_grad",
]  # fmt: skip

DTYPE = np.float32

#: time relative to hand-written numpy that each row aims for (issue 6)
TARGETS = {"LinReg": 2.0, "Softmax": 1.3, "MLP": 1.15, "LeNet": 1.1, "CharLM": 1.0}


# ---- a benchmark row ----
@dataclass
class Row:
    """One model: its parameters, one run's batches, its code, and its hand-written gradient.

    ``loss(ops, *params, *batch)`` is the model, written once against a namespace ``ops``
    (``ops.np`` is numpy for rulegrad, ``autograd.numpy`` for HIPS autograd; ``ops.nll``,
    ``ops.relu``, ... the layers). ``hand(params, *batch)`` returns ``(loss, grads)``
    computed with a backward pass written by hand. ``variants`` are extra rulegrad losses
    timed as their own lines (a plain-ops LSTM beside the fused one, say).
    """

    name: str
    work: str
    params: list[np.ndarray]
    batches: list[tuple[np.ndarray, ...]]
    loss: Callable[..., Any]
    hand: Callable[..., tuple[Any, list[np.ndarray]]]
    lr: float = 0.1
    rulegrad_loss: Callable[..., Any] | None = None
    variants: dict[str, Callable[..., Any]] = field(default_factory=dict)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _randn(rng: np.random.Generator, *shape: int, scale: float = 0.1) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(DTYPE)


def _mnist_batches(count: int, size: int, image: bool = False) -> list[tuple[np.ndarray, ...]]:
    from rulegrad.data import mnist

    xtrn, ytrn, _, _ = mnist(flat=not image)
    return [(xtrn[i : i + size], ytrn[i : i + size]) for i in range(0, count * size, size)]


def softmax_grad(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean negative log likelihood and its gradient with respect to the scores, by hand.

    The row maxima come from a transposed copy, as `rg.nn.nll` takes them (numpy reduces
    short rows slowly), so the rows compare the engines, not two reductions."""
    s = scores - np.maximum.reduce(np.ascontiguousarray(scores.T), axis=0)[:, None]
    e = np.exp(s)
    total = np.add.reduce(e, axis=1, keepdims=True)  # (as nll: ndarray.sum is Python code)
    n = len(labels)
    rows = np.arange(n)
    loss = float(np.add.reduce(np.log(total), axis=None)) - float(np.add.reduce(s[rows, labels]))
    p = e / total
    p[rows, labels] -= 1
    p /= n
    return loss / n, p


# ---- LinReg: Housing, full batch (Knet's housing tutorial) ----
def linreg(quick: bool = False) -> Row:
    """Linear regression on the 506 Housing samples, 100 full-batch steps per run."""
    from rulegrad.data import housing

    x, y = housing(dtype=DTYPE)
    rng = _rng(1)
    steps = 10 if quick else 100

    def loss(ops: Any, w: Any, b: Any, x: Any, y: Any) -> Any:
        return ops.np.mean((w @ x + b - y) ** 2)

    def hand(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[Any, list]:
        w, b = params
        d = w @ x + b - y
        g = d * np.asarray(2 / d.size, d.dtype)
        return float(np.mean(d * d)), [g @ x.T, g.sum(keepdims=True)]

    return Row(
        "LinReg",
        f"{steps} steps, Housing 13x506",
        [_randn(rng, 1, 13), np.zeros((1, 1), DTYPE)],
        [(x, y)] * steps,
        loss,
        hand,
    )


# ---- Softmax: MNIST, batch 100 ----
def softmax(quick: bool = False) -> Row:
    """Softmax regression on MNIST, 60 batches of 100 per run."""
    rng = _rng(2)
    count = 6 if quick else 60

    def loss(ops: Any, w: Any, b: Any, x: Any, labels: Any) -> Any:
        return ops.nll(x @ w + b, labels)

    def hand(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> tuple[Any, list]:
        w, b = params
        value, ds = softmax_grad(x @ w + b, labels)
        return value, [x.T @ ds, ds.sum(axis=0)]

    return Row(
        "Softmax",
        f"{count} batches of 100, 784-10",
        [_randn(rng, 784, 10, scale=0.01), np.zeros(10, DTYPE)],
        _mnist_batches(count, 100),
        loss,
        hand,
    )


# ---- MLP: MNIST, one hidden layer of 64 ReLUs, batch 100 ----
def mlp(quick: bool = False) -> Row:
    """A 784-64-10 ReLU MLP on MNIST, 60 batches of 100 per run."""
    rng = _rng(3)
    count = 6 if quick else 60

    def loss(ops: Any, w1: Any, b1: Any, w2: Any, b2: Any, x: Any, labels: Any) -> Any:
        h = ops.relu(x @ w1 + b1)
        return ops.nll(h @ w2 + b2, labels)

    def hand(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> tuple[Any, list]:
        w1, b1, w2, b2 = params
        a = x @ w1 + b1
        h = np.maximum(a, 0)
        value, ds = softmax_grad(h @ w2 + b2, labels)
        da = (ds @ w2.T) * (a > 0)
        return value, [x.T @ da, da.sum(axis=0), h.T @ ds, ds.sum(axis=0)]

    return Row(
        "MLP",
        f"{count} batches of 100, 784-64-10",
        [_randn(rng, 784, 64), np.zeros(64, DTYPE), _randn(rng, 64, 10), np.zeros(10, DTYPE)],
        _mnist_batches(count, 100),
        loss,
        hand,
    )


# ---- LeNet: MNIST, conv-relu-pool twice then two dense layers, batch 100 ----
# The hand-written baseline calls the numpy backend's kernels directly (im2col + one GEMM per
# pass; rulegrad.backends.cpu.conv): plain numpy, so the row compares the backward passes, not
# two convolution kernels.
def hand_conv(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cross-correlation of ``x`` (N, C, H, W) with ``w`` (K, C, kh, kw), no padding."""
    from rulegrad.backends.cpu import conv

    return conv.conv4(w, x, mode=1)


def hand_conv_back(
    w: np.ndarray, x: np.ndarray, dy: np.ndarray, need_dx: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Gradients of `hand_conv` for ``w`` and (if ``need_dx``) ``x``."""
    from rulegrad.backends.cpu import conv

    dx = conv.conv4_dx(w, x, dy, mode=1) if need_dx else None
    return conv.conv4_dw(w, x, dy, mode=1), dx


def hand_pool(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling with stride 2."""
    from rulegrad.backends.cpu import conv

    return conv.pool(x)


def hand_pool_back(x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient of `hand_pool`: each ``dy`` goes to its window's first maximum."""
    from rulegrad.backends.cpu import conv

    return conv.pool_dx(x, y, dy)


def lenet(quick: bool = False) -> Row:
    """LeNet (Knet's: 5x5 convs with 20 and 50 filters, 500 hidden), 5 batches of 100."""
    rng = _rng(4)
    count = 1 if quick else 5
    batches = [(x.reshape(-1, 1, 28, 28), y) for x, y in _mnist_batches(count, 100)]

    def loss(ops: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any,
             b4: Any, x: Any, labels: Any) -> Any:  # fmt: skip
        h = ops.pool(ops.relu(ops.conv(w1, x) + b1))
        h = ops.pool(ops.relu(ops.conv(w2, h) + b2))
        h = ops.relu(h.reshape(len(labels), -1) @ w3 + b3)
        return ops.nll(h @ w4 + b4, labels)

    def hand(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> tuple[Any, list]:
        w1, b1, w2, b2, w3, b3, w4, b4 = params
        a1 = hand_conv(w1, x) + b1
        r1 = np.maximum(a1, 0)
        p1 = hand_pool(r1)
        a2 = hand_conv(w2, p1) + b2
        r2 = np.maximum(a2, 0)
        p2 = hand_pool(r2)
        f = p2.reshape(len(labels), -1)
        a3 = f @ w3 + b3
        h3 = np.maximum(a3, 0)
        value, ds = softmax_grad(h3 @ w4 + b4, labels)
        dw4, db4 = h3.T @ ds, ds.sum(axis=0)
        da3 = (ds @ w4.T) * (a3 > 0)
        dw3, db3 = f.T @ da3, da3.sum(axis=0)
        dp2 = (da3 @ w3.T).reshape(p2.shape)
        da2 = hand_pool_back(r2, p2, dp2) * (a2 > 0)
        db2 = da2.sum(axis=(0, 2, 3))[:, None, None]
        dw2, dp1 = hand_conv_back(w2, p1, da2)
        da1 = hand_pool_back(r1, p1, dp1) * (a1 > 0)
        db1 = da1.sum(axis=(0, 2, 3))[:, None, None]
        dw1, _ = hand_conv_back(w1, x, da1, need_dx=False)
        return value, [dw1, db1, dw2, db2, dw3, db3, dw4, db4]

    params = [
        _randn(rng, 20, 1, 5, 5), np.zeros((20, 1, 1), DTYPE),
        _randn(rng, 50, 20, 5, 5), np.zeros((50, 1, 1), DTYPE),
        _randn(rng, 800, 500, scale=0.05), np.zeros(500, DTYPE),
        _randn(rng, 500, 10), np.zeros(10, DTYPE),
    ]  # fmt: skip
    return Row("LeNet", f"{count} batches of 100, 1x28x28", params, batches, loss, hand)


# ---- CharLM: an LSTM language model on Hiawatha ----
def _lstm_steps(ops: Any, w: Any, b: Any, x: Any, h: Any, c: Any) -> Any:
    """The LSTM as plain per-step code; returns the hidden states stacked (T*B, H)."""
    xp = ops.np
    n = h.shape[-1]
    outputs = []
    for t in range(x.shape[0]):
        z = xp.concatenate([x[t], h], axis=1) @ w + b
        i, f, o = ops.sigm(z[:, :n]), ops.sigm(z[:, n : 2 * n]), ops.sigm(z[:, 2 * n : 3 * n])
        c = f * c + i * xp.tanh(z[:, 3 * n :])
        h = o * xp.tanh(c)
        outputs.append(h)
    return xp.concatenate(outputs, axis=0)


def charlm(quick: bool = False) -> Row:
    """The character LSTM (embedding and hidden 256) on one 128 x 100 window of Hiawatha."""
    from rulegrad.data import Vocab, char_batches, hiawatha

    text = hiawatha()
    vocab = Vocab(text)
    steps, batch = (10, 32) if quick else (100, 128)
    ids, targets = char_batches(vocab.encode(text), batch, steps)[0]
    ids, labels = np.ascontiguousarray(ids.T), np.ascontiguousarray(targets.T).ravel()
    rng = _rng(5)
    nv, nh = len(vocab), 256

    def loss(ops: Any, emb: Any, w: Any, b: Any, wy: Any, by: Any, ids: Any, labels: Any) -> Any:
        h = c = ops.np.zeros((ids.shape[1], nh), DTYPE)
        hs = _lstm_steps(ops, w, b, emb[ids], h, c)
        return ops.nll(hs @ wy + by, labels)

    def fused(ops: Any, emb: Any, w: Any, b: Any, wy: Any, by: Any, ids: Any, labels: Any) -> Any:
        h = c = np.zeros((ids.shape[1], nh), DTYPE)
        hs, _, _ = rg.nn.lstm(w, b, emb[ids], h, c)
        return ops.nll(hs.reshape(-1, nh) @ wy + by, labels)

    def hand(params: list[np.ndarray], ids: np.ndarray, labels: np.ndarray) -> tuple[Any, list]:
        emb, w, b, wy, by = params
        h = c = np.zeros((ids.shape[1], nh), emb.dtype)
        x = emb[ids]
        hs, cs, gates = rg.nn.lstm(w, b, x, h, c)  # (plain arrays: no tape)
        flat = hs.reshape(-1, nh)
        value, ds = softmax_grad(flat @ wy + by, labels)
        dhs = (ds @ wy.T).reshape(hs.shape)
        # the unused outputs' gradients as rulegrad's backward pass gives them: one zero,
        # broadcast (full arrays of zeros would cost this column 14 ms a step to make and scan)
        zero = np.zeros((), hs.dtype)
        unused = np.broadcast_to(zero, cs.shape), np.broadcast_to(zero, gates.shape)
        dw, db, dx, _, _ = rg.nn.lstmback((dhs, *unused), (hs, cs, gates), w, b, x, h, c)
        # the embedding's gradient: each row's picks summed by a one-hot product, as rulegrad's
        # untake does (np.add.at takes 7x longer), so the row compares the engines
        onehot = np.zeros((len(emb), ids.size), dx.dtype)
        onehot[ids.ravel(), np.arange(ids.size)] = 1
        demb = onehot @ dx.reshape(ids.size, -1)
        return value, [demb, dw, db, flat.T @ ds, ds.sum(axis=0)]

    params = [
        _randn(rng, nv, nh), _randn(rng, 2 * nh, 4 * nh, scale=0.05), np.zeros(4 * nh, DTYPE),
        _randn(rng, nh, nv), np.zeros(nv, DTYPE),
    ]  # fmt: skip
    return Row(
        "CharLM",
        f"1 window: batch {batch}, sequence {steps}, embedding and hidden 256, vocabulary {nv}",
        params,
        [(ids, labels)],
        loss,
        hand,
        rulegrad_loss=fused,
        variants={"CharLM, LSTM in plain ops": loss},
    )


ROWS: dict[str, Callable[[bool], Row]] = {
    "LinReg": linreg,
    "Softmax": softmax,
    "MLP": mlp,
    "LeNet": lenet,
    "CharLM": charlm,
}


# ---- the layers each framework gets ----
def rulegrad_ops() -> SimpleNamespace:
    """rulegrad's layers: numpy itself and ``rulegrad.nn``."""
    from rulegrad import nn
    from rulegrad.rules.conv import conv4, pool

    return SimpleNamespace(
        np=np, nll=nn.nll, relu=nn.relu, sigm=nn.sigm,
        conv=lambda w, x: conv4(w, x, mode=1), pool=pool,
    )  # fmt: skip


def autograd_ops() -> SimpleNamespace:
    """HIPS autograd's layers: ``autograd.numpy`` plus conv and pool made primitives here."""
    import autograd.numpy as anp
    from autograd.extend import defvjp, primitive

    def nll(scores: Any, labels: Any) -> Any:
        s = scores - anp.max(scores, axis=1, keepdims=True)
        logp = s - anp.log(anp.sum(anp.exp(s), axis=1, keepdims=True))
        return -anp.mean(logp[anp.arange(len(labels)), labels])

    conv = primitive(hand_conv)
    defvjp(
        conv,
        lambda y, w, x: lambda dy: hand_conv_back(w, x, dy, need_dx=False)[0],
        lambda y, w, x: lambda dy: hand_conv_back(w, x, dy)[1],
    )

    pool = primitive(hand_pool)
    defvjp(pool, lambda y, x: lambda dy: hand_pool_back(x, y, dy))
    return SimpleNamespace(
        np=anp, nll=nll, relu=lambda x: anp.where(x > 0, x, 0.0),
        sigm=lambda x: 1 / (1 + anp.exp(-x)), conv=conv, pool=pool,
    )  # fmt: skip


# ---- columns: a gradient function and a training step per framework ----
def _sgd(params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
    for p, g in zip(params, grads):
        p -= lr * g


def _rulegrad_column(
    row: Row, loss: Callable[..., Any], jit: bool = False
) -> tuple[Callable, Callable]:
    """``rg.diff(loss, ...)`` on every step, or with ``jit`` the same loss through ``rg.jit``."""
    ops = rulegrad_ops()
    params = [rg.Param(p.copy()) for p in row.params]
    record = rg.jit(loss) if jit else partial(rg.diff, loss)

    def grads(*batch: Any) -> list[np.ndarray]:
        J = record(ops, *params, *batch)
        return [rg.grad(J, p) for p in params]

    def run() -> None:
        for batch in row.batches:
            J = record(ops, *params, *batch)
            for p in params:
                p.value -= row.lr * rg.grad(J, p)

    return grads, run


def _numpy_column(row: Row) -> tuple[Callable, Callable]:
    params = [p.copy() for p in row.params]

    def grads(*batch: Any) -> list[np.ndarray]:
        return row.hand(params, *batch)[1]

    def run() -> None:
        for batch in row.batches:
            _sgd(params, row.hand(params, *batch)[1], row.lr)

    return grads, run


def _autograd_column(row: Row) -> tuple[Callable, Callable]:
    import autograd

    ops = autograd_ops()
    params = [p.copy() for p in row.params]
    gradient = autograd.grad(lambda ps, *batch: row.loss(ops, *ps, *batch))

    def run() -> None:
        for batch in row.batches:
            _sgd(params, gradient(params, *batch), row.lr)

    return (lambda *batch: gradient(params, *batch)), run


def torch_ops() -> SimpleNamespace:
    """PyTorch's layers behind the names the models use (``ops.np.mean`` is ``torch.mean``)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

    xp = SimpleNamespace(
        mean=torch.mean,
        tanh=torch.tanh,
        concatenate=lambda xs, axis=0: torch.cat(xs, dim=axis),
        zeros=lambda shape, dtype=None: torch.zeros(shape),
    )
    return SimpleNamespace(
        np=xp, nll=F.cross_entropy, relu=torch.relu, sigm=torch.sigmoid,
        conv=lambda w, x: F.conv2d(x, w), pool=lambda x: F.max_pool2d(x, 2),
    )  # fmt: skip


def _torch_column(row: Row, threads: int = 1) -> tuple[Callable, Callable]:
    import torch

    torch.set_num_threads(threads)
    ops = torch_ops()
    params = [torch.tensor(p, requires_grad=True) for p in row.params]
    batches = [tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in b) for b in row.batches]

    def gradient(batch: tuple) -> tuple:
        return torch.autograd.grad(row.loss(ops, *params, *batch), params)

    def run() -> None:
        for batch in batches:
            grads = gradient(batch)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= row.lr * g

    def grads(*batch: Any) -> list[np.ndarray]:
        return [
            g.numpy()
            for g in gradient(tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in batch))
        ]

    return grads, run


def _available(module: str) -> str | None:
    """None if ``module`` imports, else why not."""
    try:
        importlib.import_module(module)
    except ImportError as e:
        return f"{module} not installed ({e.name or e})"
    return None


@dataclass
class Result:
    """One row's timings: column -> median seconds per run (None with a reason if skipped)."""

    row: str
    work: str
    medians: dict[str, float | None]
    skipped: dict[str, str]
    errors: dict[str, float]


def _check(name: str, got: list[Any], want: list[np.ndarray]) -> float:
    """The worst relative difference between two gradient lists; raises if over 1e-3."""
    worst = 0.0
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g, dtype=np.float64)
        scale = max(float(np.max(np.abs(w))), 1e-12)
        if g.shape != w.shape:
            raise AssertionError(f"{name}: gradient {i} has shape {g.shape}, want {w.shape}")
        worst = max(worst, float(np.max(np.abs(g - w))) / scale)
    if worst > 1e-3:
        raise AssertionError(f"{name}: gradients differ from hand-written numpy by {worst:.2e}")
    return worst


def run_row(
    row: Row, repeats: int = 5, columns: tuple[str, ...] | None = None, threads: int = 1
) -> list[Result]:
    """Check each column's gradients against numpy's, then time ``repeats`` runs of each.

    Args:
        row: the model and its data.
        repeats: timed runs per column, after one warm-up run; the table shows the median.
        columns: time only these columns (and the numpy one); None for every one installed.
        threads: PyTorch's thread count (the BLAS pools are the caller's: see `run`).

    Returns:
        The row's `Result`, and one more per rulegrad variant of the row.
    """
    runners: dict[str, Callable[[], None]] = {}
    skipped: dict[str, str] = {}
    errors: dict[str, float] = {}
    batch = row.batches[0]
    ref_grads, ref_run = _numpy_column(row)
    want = [np.asarray(g, dtype=np.float64) for g in ref_grads(*batch)]
    runners["numpy"] = ref_run
    loss = row.rulegrad_loss or row.loss
    builders: dict[str, Callable[[], tuple[Callable, Callable]]] = {
        "rulegrad": lambda: _rulegrad_column(row, loss),
        "jit": lambda: _rulegrad_column(row, loss, jit=True),
        "autograd": lambda: _autograd_column(row),
        "torch": lambda: _torch_column(row, threads),
    }
    variants = {}
    for label, variant in row.variants.items():
        variants[label] = label, f"{label} jit"
        builders[label] = lambda variant=variant: _rulegrad_column(row, variant)
        builders[f"{label} jit"] = lambda variant=variant: _rulegrad_column(row, variant, True)
    for name, build in builders.items():
        if columns is not None and name not in columns and name.split()[0] not in row.variants:
            skipped[name] = "not selected"
            continue
        reason = _available(name) if name in ("autograd", "torch") else None
        if reason:
            skipped[name] = reason
            continue
        grads, run = build()
        errors[name] = _check(f"{row.name} {name}", grads(*batch), want)
        runners[name] = run
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run()  # warm up: caches, lazy imports, first-touch allocation
    names = list(runners)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            runners[name]()
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    own = {name for pair in variants.values() for name in pair}
    main_cols = {k: v for k, v in med.items() if k not in own}
    results = [Result(row.name, row.work, main_cols, skipped, errors)]
    for label, (eager, jitted) in variants.items():
        if eager in med:
            cols = {"rulegrad": med[eager], "jit": med.get(jitted), "numpy": med["numpy"]}
            results.append(Result(label, row.work, cols, {}, {}))
    return results


def format_table(results: list[Result]) -> str:
    """A Markdown table: median ms per run and the ratio to hand-written numpy."""
    cols = [("rulegrad", "rulegrad"), ("jit", "rulegrad jit"), ("numpy", "numpy by hand"),
            ("autograd", "HIPS autograd"), ("torch", "PyTorch CPU")]  # fmt: skip
    lines = [
        "| row | work per run | " + " | ".join(title for _, title in cols) + " | target |",
        "| --- | --- | " + " | ".join("---:" for _ in cols) + " | ---: |",
    ]
    for res in results:
        base = res.medians.get("numpy")
        cells = []
        for key, _ in cols:
            t = res.medians.get(key)
            if t is None:
                cells.append("n/a")
            elif key == "numpy":
                cells.append(f"{t * 1e3:.1f} ms (1.00)")
            else:
                cells.append(f"{t * 1e3:.1f} ms ({t / base:.2f})" if base else f"{t * 1e3:.1f} ms")
        target = TARGETS.get(res.row)
        work = res.work if res.row in TARGETS else "same"
        lines.append(
            f"| {res.row} | {work} | "
            + " | ".join(cells)
            + f" | {'<= ' + str(target) if target else ''} |"
        )
    return "\n".join(lines)


def _row_name(text: str) -> str:
    """An argparse type: one of the `ROWS`."""
    if text not in ROWS:
        raise argparse.ArgumentTypeError(f"unknown row {text!r}; choose from {', '.join(ROWS)}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``rulegrad bench``."""
    from .cli import positive_int

    parser.add_argument("rows", nargs="*", metavar="ROW", type=_row_name,
                        help=f"rows to run (default: all): {', '.join(ROWS)}")  # fmt: skip
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="timed runs per column (median)"
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the work (smoke test)")
    parser.add_argument("--threads", type=positive_int, default=1, help="BLAS/OpenMP threads")
    parser.add_argument("--profile", action="store_true", help="also profile rulegrad per row")


def run(args: argparse.Namespace) -> int:
    """Run the rows ``args`` name and print the table; returns the exit code.

    The exit code is 1 when no row could run (their data missing, say)."""
    from threadpoolctl import threadpool_limits

    from .cli import plural

    rows = args.rows or list(ROWS)
    print(f"rulegrad bench: {', '.join(rows)}; {plural(args.repeats, 'run')} per column, "
          f"median; {plural(args.threads, 'thread')}; numpy {np.__version__}",
          flush=True)  # fmt: skip
    results: list[Result] = []
    failed: list[str] = []
    with threadpool_limits(limits=args.threads):
        for name in rows:
            start = time.perf_counter()
            try:
                got = run_row(ROWS[name](args.quick), args.repeats, threads=args.threads)
            except (OSError, rg.RulegradError) as e:  # data missing; no conv kernel; ...
                failed.append(name)
                print(f"  {name}: skipped ({type(e).__name__}: {e})", flush=True)
                continue
            results += got
            print(f"  {name}: done in {time.perf_counter() - start:.1f}s; skipped: "
                  f"{got[0].skipped or 'none'}", flush=True)  # fmt: skip
            if args.profile:
                _profile_row(ROWS[name](args.quick))
    if not results:
        print(f"rulegrad bench: error: no row could run ({', '.join(failed)}: see why above). "
              "The rows read Housing, MNIST and Hiawatha through rulegrad.data: put them in "
              "$RULEGRAD_DATA or let them download.", file=sys.stderr)  # fmt: skip
        return 1
    print()
    print(format_table(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``rulegrad bench`` with these arguments; returns the exit code."""
    from .cli import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="rulegrad bench",
        description="The Knet benchmark table: rulegrad, hand-written numpy backprop, HIPS "
        "autograd and PyTorch CPU, median time per run and the ratio to numpy.",
        formatter_class=HelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))


def _profile_row(row: Row) -> None:
    """Print where rulegrad's time goes in one run of ``row``."""
    from rulegrad.profile import profile

    _, run = _rulegrad_column(row, row.rulegrad_loss or row.loss)
    run()
    with profile() as p:
        run()
    print(p.table(limit=12))


if __name__ == "__main__":
    sys.exit(main())
