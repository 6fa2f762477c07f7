"""Time conv4 and its two gradients on LeNet's first layer: ours, a naive loop, PyTorch (CPU).

The layer is Knet's LeNet conv1: a batch of 100 float32 images 1x28x28, 20 filters 5x5, mode 0.
Each row gives the median wall time of repeated calls (``time.perf_counter``) and how many times
slower the naive loop over output pixels and PyTorch's ``conv2d`` (skipped if torch is missing)
are than ours. All results are checked against ours before timing.

Everything runs on one thread, so the numbers compare kernels rather than thread pools: the
``*_NUM_THREADS`` variables below are set to 1 before numpy is imported (export them to override).

Usage (from the repository root, with rulegrad installed): ``python benchmarks/conv_kernels.py``
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # read once, when numpy loads its BLAS: set them first

import argparse  # noqa: E402 (imports follow the thread settings on purpose)
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from rulegrad.backends.cpu.conv import conv4, conv4_dw, conv4_dx  # noqa: E402


def median_ms(f: Callable[[], object], reps: int) -> float:
    """Median time of ``reps`` calls of ``f`` in milliseconds, after one warm-up call."""
    f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


# ---- the naive reference: cross-correlation, one output pixel at a time ----


def naive_forward(wc: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y[:, :, i, j] = <x window (i, j), wc>`` for each output pixel (wc: flipped w)."""
    k, _, kh, kw = wc.shape
    n, _, h, w = x.shape
    y = np.empty((n, k, h - kh + 1, w - kw + 1), dtype=x.dtype)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            y[:, :, i, j] = np.tensordot(
                x[:, :, i : i + kh, j : j + kw], wc, ([1, 2, 3], [1, 2, 3])
            )
    return y


def naive_dw(wc: np.ndarray, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``dwc += dy[:, :, i, j]^T @ x window (i, j)`` for each output pixel."""
    kh, kw = wc.shape[2:]
    dwc = np.zeros_like(wc)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            dwc += np.tensordot(dy[:, :, i, j], x[:, :, i : i + kh, j : j + kw], ([0], [0]))
    return dwc


def naive_dx(wc: np.ndarray, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``x window (i, j) += dy[:, :, i, j] @ wc`` for each output pixel."""
    kh, kw = wc.shape[2:]
    dx = np.zeros_like(x)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            dx[:, :, i : i + kh, j : j + kw] += np.tensordot(dy[:, :, i, j], wc, ([1], [0]))
    return dx


def torch_functions(wc: np.ndarray, x: np.ndarray, dy: np.ndarray) -> dict | None:
    """PyTorch's conv2d and its two gradients as zero-argument callables, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    tw, tx, tdy = (torch.from_numpy(np.ascontiguousarray(a)) for a in (wc, x, dy))
    grad = torch.nn.grad
    return {
        "conv4": lambda: torch.nn.functional.conv2d(tx, tw).numpy(),
        "conv4_dw": lambda: grad.conv2d_weight(tx, tw.shape, tdy).numpy(),
        "conv4_dx": lambda: grad.conv2d_input(tx.shape, tw, tdy).numpy(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=50, help="repeats for ours and torch")
    parser.add_argument("--naive-reps", type=int, default=5, help="repeats for the naive loop")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 1, 28, 28), dtype=np.float32)
    w = rng.standard_normal((20, 1, 5, 5), dtype=np.float32)
    dy = rng.standard_normal((100, 20, 24, 24), dtype=np.float32)
    wc = np.ascontiguousarray(w[:, :, ::-1, ::-1])  # mode 0 is cross-correlation with this

    def flip(a: np.ndarray) -> np.ndarray:
        return a[:, :, ::-1, ::-1]

    rows = {  # name: (ours, naive, how to turn a cross-correlation result into ours)
        "conv4": (lambda: conv4(w, x), lambda: naive_forward(wc, x), lambda a: a),
        "conv4_dw": (lambda: conv4_dw(w, x, dy), lambda: naive_dw(wc, x, dy), flip),
        "conv4_dx": (lambda: conv4_dx(w, x, dy), lambda: naive_dx(wc, x, dy), lambda a: a),
    }
    torch_rows = torch_functions(wc, x, dy)

    print(f"LeNet conv1: x {x.shape} float32, w {w.shape}, mode 0, one thread; median ms")
    print(f"{'op':<10}{'ours':>9}{'naive':>10}{'naive/ours':>12}{'torch':>9}{'torch/ours':>12}")
    for name, (ours, naive, to_ours) in rows.items():
        expected = ours()
        assert expected.dtype == np.float32
        np.testing.assert_allclose(to_ours(naive()), expected, rtol=1e-3, atol=1e-3)
        t_ours = median_ms(ours, args.reps)
        t_naive = median_ms(naive, args.naive_reps)
        line = f"{name:<10}{t_ours:9.2f}{t_naive:10.2f}{t_naive / t_ours:11.1f}x"
        if torch_rows is not None:
            np.testing.assert_allclose(to_ours(torch_rows[name]()), expected, rtol=1e-3, atol=1e-3)
            t_torch = median_ms(torch_rows[name], args.reps)
            line += f"{t_torch:9.2f}{t_torch / t_ours:11.2f}x"
        else:
            line += f"{'-':>9}{'-':>12}"
        print(line)
    if torch_rows is None:
        print("torch: not installed, its columns are skipped (pip install torch to compare)")


if __name__ == "__main__":
    main()
