"""Engine overhead: per-primitive cost and an MLP training step against hand-written backprop.

Prints, in one run and on one thread:

1. forward+backward cost per primitive for a chain of 100 elementwise ops on 3-element
   arrays (rulegrad recording with ``rg.diff`` on every call, rulegrad replaying with
   ``rg.jit``, hand-written numpy forward+backward, and, when installed, HIPS autograd and
   PyTorch's eager autograd on one thread), and a forward-mode step on the same chain
   (``rg.jvp``, a call of ``rg.linearize``'s ``f_jvp``, and, when installed, HIPS
   autograd's ``make_jvp`` and ``torch.func.jvp``), with the jvp's ratios to the vjp
   (forward+backward) and to the other libraries' jvps, all from the same run;
2. one MLP training step (784-64-10, batch 100, float32) for the same columns, with ratios
   to the same step written by hand from the same targets: first with the softmax
   cross-entropy in plain numpy ops on one-hot targets (a dozen primitives, each with its
   own rule), then with the library's layers on integer labels, ``rg.nn.relu`` and
   ``rg.nn.nll`` (one primitive whose rule is the hand-written one; PyTorch's column uses
   ``relu`` and its fused ``cross_entropy``): the step of ``rulegrad bench``'s MLP row,
   repeated on one batch.

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
from rulegrad.bench import softmax_grad  # noqa: E402

CHAIN = 100


def median_times(columns: dict[str, tuple[Callable[[], object], int]], repeat: int) -> dict:
    """Median time per call of each column ``name: (f, number)``, in seconds, timed in
    turns: each of ``repeat`` rounds times ``number`` calls of every column, so a slow spell
    of a shared machine falls on all the columns instead of on whichever ran then."""
    for f, _ in columns.values():
        f()  # warm up: first calls record, allocate and fill caches
    times: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(repeat):
        for name, (f, number) in columns.items():
            t = time.perf_counter()
            for _ in range(number):
                f()
            times[name].append((time.perf_counter() - t) / number)
    return {name: statistics.median(ts) for name, ts in times.items()}


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
    """The model with the library's layers, ``rg.nn.relu`` and ``rg.nn.nll`` on integer
    labels: the loss of the MLP row of ``rulegrad bench`` (Knet's MLP tutorial)."""
    return rg.nn.nll(rg.nn.relu(x @ w[0] + w[1]) @ w[2] + w[3], labels)


def mlp_step_by_hand(w: list, x: np.ndarray, onehot: np.ndarray, lr: float = 0.1) -> float:
    """The step with its backward pass written out; like rulegrad's, it computes the loss
    (what a training loop reports) as well as the update. Its row maxima and sums are
    `rg.nn.nll`'s (a transposed copy's maxima, ``np.add.reduce``), so the table compares
    the engines."""
    a = x @ w[0] + w[1]
    h = np.maximum(a, 0)
    s = h @ w[2] + w[3]
    s = s - np.maximum.reduce(np.ascontiguousarray(s.T), axis=0)[:, None]
    e = np.exp(s)
    total = np.add.reduce(e, axis=1, keepdims=True)
    n = x.shape[0]
    loss = float(np.add.reduce(np.log(total), axis=None)) - float(np.add.reduce(s * onehot, None))
    _backward_by_hand(w, x, a, h, (e / total - onehot) / n, lr)
    return loss / n


def mlp_step_by_hand_labels(w: list, x: np.ndarray, labels: np.ndarray, lr: float = 0.1) -> float:
    """The step of `mlp_loss_nll` written by hand, from the same integer labels: the
    hand-written MLP step of ``rulegrad bench`` (its softmax cross-entropy and gradient,
    ``softmax_grad``), then the same SGD update."""
    a = x @ w[0] + w[1]
    h = np.maximum(a, 0)
    loss, ds = softmax_grad(h @ w[2] + w[3], labels)
    _backward_by_hand(w, x, a, h, ds, lr)
    return loss


def _backward_by_hand(
    w: list, x: np.ndarray, a: np.ndarray, h: np.ndarray, ds: np.ndarray, lr: float
) -> None:
    """Both hand-written steps' backward pass from the scores' gradient ``ds`` (``a`` the
    hidden layer before its ReLU, ``h`` after), then SGD on each weight in place."""
    da = (ds @ w[2].T) * (a > 0)
    for p, g in zip(w, (x.T @ da, da.sum(0), h.T @ ds, ds.sum(0))):
        p -= lr * g


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
    p3 = rg.Param(x3.copy())
    chain_step = rg.jit(lambda: chain(p3))
    columns = {
        "hand-written numpy": (partial(chain_by_hand, x3), 200),
        "rulegrad": (partial(rg.grad(chain), x3), 100),
        "rulegrad jit": (lambda: rg.grad(chain_step(), p3), 100),
        "rulegrad jvp": (partial(rg.jvp, chain, (x3,), (np.ones(3),)), 100),  # forward mode
        "rulegrad f_jvp": (partial(rg.linearize(chain, x3)[1], np.ones(3)), 100),
    }
    if autograd is not None:

        def achain(x: object) -> object:
            for i in range(CHAIN // 2):
                x = x * 0.9 + 0.01 if i % 2 else anp.tanh(x) * 1.1
            return anp.sum(x)

        columns["HIPS autograd"] = (partial(autograd.grad(achain), x3), 50)
        columns["HIPS autograd jvp"] = (partial(autograd.make_jvp(achain)(x3), np.ones(3)), 50)
    if torch is not None:
        columns["PyTorch eager"] = (partial(torch_chain, torch, x3), 50)
        columns["torch.func.jvp"] = (partial(torch_jvp_chain, torch, x3), 5)  # (slow: see it)
    times = median_times(columns, args.repeat)
    print(f"Per-primitive forward+backward, chain of {CHAIN} ops on 3-element arrays (median)")
    print(f"{'':22}{'us/op':>10}{'ratio':>10}")
    base = times["hand-written numpy"]
    for name, t in times.items():
        print(f"{name:22}{t / CHAIN * 1e6:10.2f}{t / base:10.2f}")
    missing = {"HIPS autograd": autograd is None, "PyTorch": torch is None}
    for name in [name for name, gone in missing.items() if gone]:
        print(f"{name:22}{'not installed':>20}")
    print("\nForward mode on the same chain, ratios of this run's medians (target: jvp <= vjp)")
    for text, ratio in forward_ratios(times):
        print(f"  {text:46}{ratio:>14}")

    rng = np.random.default_rng(0)
    x = rng.random((100, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 100)
    onehot = np.eye(10, dtype=np.float32)[labels]
    # each loss against the hand-written step taking the same targets (one-hot, or labels)
    losses = {
        "plain numpy ops": (mlp_loss, mlp_step_by_hand, onehot),
        "rg.nn.relu and rg.nn.nll": (mlp_loss_nll, mlp_step_by_hand_labels, labels),
    }
    for title, (loss, by_hand, target) in losses.items():
        columns = {"hand-written numpy": (partial(by_hand, init_mlp(rng), x, target), 20)}
        for name, record in (("rulegrad", partial(rg.diff, loss)), ("rulegrad jit", rg.jit(loss))):
            step = sgd_step(record, [rg.Param(a) for a in init_mlp(rng)], x, target)
            columns[name] = (step, 20)
        if autograd is not None and loss is mlp_loss:
            columns["HIPS autograd"] = (
                autograd_mlp_step(autograd, anp, init_mlp(rng), x, onehot),
                20,
            )
        if torch is not None:
            step = torch_mlp_step(torch, init_mlp(rng), x, target, fused=loss is mlp_loss_nll)
            columns["PyTorch eager"] = (step, 20)
        times = median_times(columns, args.repeat)
        hand = times["hand-written numpy"]
        print(f"\nMLP training step 784-64-10, batch 100, float32, loss in {title} (median)")
        print(f"{'':22}{'ms/step':>10}{'ratio':>10}")
        for name, t in times.items():
            print(f"{name:22}{t * 1e3:10.3f}{t / hand:10.2f}")


def forward_ratios(times: dict[str, float]) -> list[tuple[str, str]]:
    """The rulegrad jvp's time over the vjp's (``rg.grad``: forward+backward), over HIPS
    autograd's ``make_jvp`` and ``torch.func.jvp`` (``not installed`` without them), and
    ``f_jvp``'s (a call of `rg.linearize`'s linear map) over the jvp's.

    Examples:
        >>> forward_ratios({"rulegrad": 2.0, "rulegrad jvp": 1.0, "rulegrad f_jvp": 0.5})[:2]
        [('rulegrad jvp / rulegrad vjp (forward+backward)', '0.50'), \
('rulegrad jvp / HIPS autograd make_jvp', 'not installed')]
    """
    jvp = times["rulegrad jvp"]
    pairs = [
        ("rulegrad jvp / rulegrad vjp (forward+backward)", "rulegrad", jvp),
        ("rulegrad jvp / HIPS autograd make_jvp", "HIPS autograd jvp", jvp),
        ("rulegrad jvp / torch.func.jvp", "torch.func.jvp", jvp),
        ("rulegrad f_jvp (linearize) / rulegrad jvp", "rulegrad jvp", times["rulegrad f_jvp"]),
    ]
    return [
        (text, f"{t / times[other]:.2f}" if other in times else "not installed")
        for text, other, t in pairs
    ]


def autograd_mlp_step(
    autograd: object, anp: object, w: list[np.ndarray], x: np.ndarray, onehot: np.ndarray
) -> Callable[[], None]:
    """The plain-ops MLP step in HIPS autograd, then SGD on each weight."""

    def loss(w: list, x: np.ndarray, onehot: np.ndarray) -> object:
        h = anp.maximum(anp.dot(x, w[0]) + w[1], 0)
        s = anp.dot(h, w[2]) + w[3]
        s = s - anp.max(s, axis=1, keepdims=True)
        logp = s - anp.log(anp.sum(anp.exp(s), axis=1, keepdims=True))
        return -anp.sum(logp * onehot) / x.shape[0]

    gradient = autograd.grad(loss)

    def step() -> None:
        for p, g in zip(w, gradient(w, x, onehot)):
            p -= 0.1 * g

    return step


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


def torch_jvp_chain(torch: object, x: np.ndarray) -> object:
    """`chain` in PyTorch's forward mode, ``torch.func.jvp`` along ones: its derivative.

    (On torch 2.13's CPU build, forward-mode ``*`` and ``+`` of dual tensors run Python
    decompositions from ``torch._refs``, about a millisecond each, where ``tanh`` takes
    microseconds: the column measures that, as a user of this code would meet it.)"""
    t = torch.tensor(x)

    def f(y: object) -> object:
        for i in range(CHAIN // 2):
            y = y * 0.9 + 0.01 if i % 2 else torch.tanh(y) * 1.1
        return y.sum()

    return torch.func.jvp(f, (t,), (torch.ones_like(t),))[1]


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
