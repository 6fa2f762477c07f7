"""Engine overhead: per-primitive cost and an MLP training step against hand-written backprop.

Prints, in one run and on one thread:

1. forward+backward cost per primitive for a chain of 100 elementwise ops on 3-element
   arrays (rulegrad recording with ``rg.diff`` on every call, rulegrad replaying with
   ``rg.jit``, hand-written numpy forward+backward, and, when installed, HIPS autograd and
   PyTorch's eager autograd on one thread);
2. one MLP training step (784-64-10, batch 100, float32) for the same columns, with ratios
   to hand-written: first with the softmax cross-entropy written in plain numpy ops (a
   dozen primitives, each with its own rule), then with ``rg.nn.nll`` (one primitive whose
   rule is the hand-written one; PyTorch's column uses its fused ``cross_entropy``).

The HIPS autograd and PyTorch columns measure this machine: issue 2 quotes its targets
(3 us a primitive, 1.15x a step) beside those libraries' figures on the machine the
targets were set on, so they say how this machine compares.

Run: ``python benchmarks/overhead.py [--repeat N]``. Medians of N timed runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread, before numpy loads BLAS

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

import rulegrad as rg  # noqa: E402
from rulegrad.rules.nn import _rowmax  # noqa: E402

CHAIN = 100


def median_time(f: Callable[[], object], repeat: int, number: int) -> float:
    """Median over ``repeat`` runs of the mean time of ``number`` calls, in seconds."""
    f()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            f()
        times.append((time.perf_counter() - t) / number)
    return statistics.median(times)


# ---- a chain of elementwise ops: (x * c + c) then tanh, alternating ----
def chain(x: object) -> object:
    for i in range(CHAIN // 2):
        x = x * 0.9 + 0.01 if i % 2 else np.tanh(x) * 1.1
    return np.sum(x)


def chain_by_hand(x: np.ndarray) -> np.ndarray:
    """The same chain with its backward pass written out."""
    saved = []
    for i in range(CHAIN // 2):
        if i % 2:
            x = x * 0.9 + 0.01
        else:
            t = np.tanh(x)
            saved.append(t)
            x = t * 1.1
    g = np.ones_like(x)
    for i in reversed(range(CHAIN // 2)):
        g = g * 0.9 if i % 2 else (g * 1.1) * (1 - saved.pop() ** 2)
    return g


# ---- the MLP step ----
def init_mlp(rng: np.random.Generator) -> list[np.ndarray]:
    f32 = np.float32
    return [
        (rng.standard_normal((784, 64)) * 0.05).astype(f32), np.zeros(64, f32),
        (rng.standard_normal((64, 10)) * 0.05).astype(f32), np.zeros(10, f32),
    ]  # fmt: skip


def mlp_loss(w: list, x: np.ndarray, onehot: np.ndarray) -> object:
    h = np.maximum(x @ w[0] + w[1], 0)
    s = h @ w[2] + w[3]
    s = s - rg.stop_gradient(np.max(s, axis=1, keepdims=True))
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(logp * onehot) / x.shape[0]


def mlp_loss_nll(w: list, x: np.ndarray, labels: np.ndarray) -> object:
    """`mlp_loss` with the library's cross-entropy (labels as integers, not one-hot)."""
    h = np.maximum(x @ w[0] + w[1], 0)
    return rg.nn.nll(h @ w[2] + w[3], labels)


def mlp_step_by_hand(w: list, x: np.ndarray, onehot: np.ndarray, lr: float = 0.1) -> float:
    """The step with its backward pass written out; like rulegrad's, it computes the loss
    (what a training loop reports) as well as the update."""
    a = x @ w[0] + w[1]
    h = np.maximum(a, 0)
    s = h @ w[2] + w[3]
    s = s - _rowmax(s)  # rg.nn.nll's row maxima (numpy reduces short rows slowly)
    e = np.exp(s)
    total = e.sum(axis=1, keepdims=True)
    loss = float(np.sum(np.log(total)) - np.sum(s * onehot)) / x.shape[0]
    p = e / total
    ds = (p - onehot) / x.shape[0]
    dw2, db2 = h.T @ ds, ds.sum(0)
    dh = ds @ w[2].T
    da = dh * (a > 0)
    dw0, db0 = x.T @ da, da.sum(0)
    for p_, g in zip(w, (dw0, db0, dw2, db2)):
        p_ -= lr * g
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        autograd = None
    torch = _torch()

    x3 = np.array([0.1, -0.2, 0.3])
    ops = CHAIN  # each loop iteration is two primitives
    rows = [("hand-written numpy", median_time(lambda: chain_by_hand(x3), args.repeat, 200))]
    rows.append(("rulegrad", median_time(lambda: rg.grad(chain)(x3), args.repeat, 100)))
    p3 = rg.Param(x3.copy())
    chain_step = rg.jit(lambda: chain(p3))
    rows.append(("rulegrad jit", median_time(lambda: rg.grad(chain_step(), p3), args.repeat, 100)))
    if autograd is not None:

        def achain(x: object) -> object:
            for i in range(CHAIN // 2):
                x = x * 0.9 + 0.01 if i % 2 else anp.tanh(x) * 1.1
            return anp.sum(x)

        rows.append(
            ("HIPS autograd", median_time(lambda: autograd.grad(achain)(x3), args.repeat, 50))
        )
    if torch is not None:
        torch_step = partial(torch_chain, torch, x3)
        rows.append(("PyTorch eager", median_time(torch_step, args.repeat, 50)))
    print(f"Per-primitive forward+backward, chain of {ops} ops on 3-element arrays (median)")
    print(f"{'':22}{'us/op':>10}{'ratio':>10}")
    base = rows[0][1]
    for name, t in rows:
        print(f"{name:22}{t / ops * 1e6:10.2f}{t / base:10.2f}")

    rng = np.random.default_rng(0)
    x = rng.random((100, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 100)
    onehot = np.eye(10, dtype=np.float32)[labels]
    w_hand = init_mlp(rng)
    hand = median_time(lambda: mlp_step_by_hand(w_hand, x, onehot), args.repeat, 20)
    losses = {"plain numpy ops": (mlp_loss, onehot), "rg.nn.nll": (mlp_loss_nll, labels)}
    for title, (loss, target) in losses.items():
        rows = [("hand-written numpy", hand)]
        for name, record in (("rulegrad", partial(rg.diff, loss)), ("rulegrad jit", rg.jit(loss))):
            step = sgd_step(record, [rg.Param(a) for a in init_mlp(rng)], x, target)
            rows.append((name, median_time(step, args.repeat, 20)))
        if autograd is not None and loss is mlp_loss:
            w_ag = init_mlp(rng)

            def ag_loss(w: list, x: np.ndarray, onehot: np.ndarray) -> object:
                h = anp.maximum(anp.dot(x, w[0]) + w[1], 0)
                s = anp.dot(h, w[2]) + w[3]
                s = s - anp.max(s, axis=1, keepdims=True)
                logp = s - anp.log(anp.sum(anp.exp(s), axis=1, keepdims=True))
                return -anp.sum(logp * onehot) / x.shape[0]

            ag_grad = autograd.grad(ag_loss)

            def ag_step(w_ag: list = w_ag, ag_grad: Callable = ag_grad) -> None:
                for p, g in zip(w_ag, ag_grad(w_ag, x, onehot)):
                    p -= 0.1 * g

            rows.append(("HIPS autograd", median_time(ag_step, args.repeat, 20)))
        if torch is not None:
            step = torch_mlp_step(torch, init_mlp(rng), x, target, fused=loss is mlp_loss_nll)
            rows.append(("PyTorch eager", median_time(step, args.repeat, 20)))
        print(f"\nMLP training step 784-64-10, batch 100, float32, loss in {title} (median)")
        print(f"{'':22}{'ms/step':>10}{'ratio':>10}")
        for name, t in rows:
            print(f"{name:22}{t * 1e3:10.3f}{t / hand:10.2f}")


def _torch() -> object:
    """PyTorch on one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def torch_chain(torch: object, x: np.ndarray) -> object:
    """`chain` in PyTorch, forward and backward: its gradient with respect to ``x``."""
    t = torch.tensor(x, requires_grad=True)
    y = t
    for i in range(CHAIN // 2):
        y = y * 0.9 + 0.01 if i % 2 else torch.tanh(y) * 1.1
    y.sum().backward()
    return t.grad


def torch_mlp_step(
    torch: object, init: list[np.ndarray], x: np.ndarray, target: np.ndarray, fused: bool
) -> Callable[[], float]:
    """The MLP step in PyTorch: the loss in plain tensor ops (one-hot ``target``) or, with
    ``fused``, ``relu`` and ``cross_entropy`` (integer labels), then SGD on each weight."""
    w = [torch.tensor(a, requires_grad=True) for a in init]
    tx, tt = torch.from_numpy(x), torch.from_numpy(target)
    cross_entropy = torch.nn.functional.cross_entropy

    def step() -> float:
        if fused:
            loss = cross_entropy(torch.relu(tx @ w[0] + w[1]) @ w[2] + w[3], tt)
        else:
            h = torch.clamp(tx @ w[0] + w[1], min=0)
            s = h @ w[2] + w[3]
            s = s - s.max(dim=1, keepdim=True).values.detach()
            logp = s - torch.log(torch.exp(s).sum(dim=1, keepdim=True))
            loss = -(logp * tt).sum() / x.shape[0]
        grads = torch.autograd.grad(loss, w)
        with torch.no_grad():
            for p, g in zip(w, grads):
                p -= 0.1 * g
        return loss.item()

    step.weights = w  # type: ignore[attr-defined]  (for the test that it makes the update)
    return step


def sgd_step(
    record: Callable[..., object], w: list[rg.Param], x: np.ndarray, target: np.ndarray
) -> Callable[[], None]:
    """One training step: ``record(w, x, target)`` (rg.diff or rg.jit), then SGD on each Param."""

    def step() -> None:
        J = record(w, x, target)
        for p in w:
            p.value -= 0.1 * rg.grad(J, p)

    return step


if __name__ == "__main__":
    main()
