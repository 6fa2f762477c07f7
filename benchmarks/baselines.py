"""Check the benchmark's hand-written numpy backprop against numeric differences, and time it.

The "numpy" column of the Knet table (``rulegrad bench``) is each model's backward pass
written by hand: the practical limit any framework is measured against. The code lives in
`rulegrad.bench` beside the models (``linreg``, ``softmax``, ``mlp``, ``lenet``, ``charlm``;
each row's ``hand`` function, and ``hand_conv``, ``hand_pool`` and ``rg.nn.lstmback`` for the
layers), so the installed command has it. The table already checks every framework's
gradients against it; this script checks the baselines themselves, independently of any
autodiff: in float64, along random directions ``v``, the directional derivative
``<grad, v>`` must match the central difference ``(L(p + h v) - L(p - h v)) / 2h``.

Usage: ``python benchmarks/baselines.py [ROW ...] [--full]`` (``--full``: the benchmark's
full-size batches rather than the quick ones).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # read once, when numpy loads its BLAS: set them first

import argparse  # noqa: E402 (imports follow the thread settings on purpose)
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from rulegrad.bench import ROWS, Row  # noqa: E402


def directional_errors(row: Row, directions: int = 3, h: float = 1e-7) -> list[float]:
    """Relative errors of ``<grad, v>`` against central differences, in float64."""
    rng = np.random.default_rng(0)
    # nudge every parameter: zero biases on blank image regions sit exactly on ReLU's kink
    params = [p.astype(np.float64) + 0.01 * rng.standard_normal(p.shape) for p in row.params]
    batch = tuple(b.astype(np.float64) if b.dtype.kind == "f" else b for b in row.batches[0])
    _, grads = row.hand(params, *batch)
    errors = []
    for _ in range(directions):
        v = [rng.standard_normal(p.shape) for p in params]
        plus = row.hand([p + h * d for p, d in zip(params, v)], *batch)[0]
        minus = row.hand([p - h * d for p, d in zip(params, v)], *batch)[0]
        numeric = (plus - minus) / (2 * h)
        analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, v))
        errors.append(abs(analytic - numeric) / max(abs(numeric), 1e-12))
    return errors


def time_baseline(row: Row, repeats: int = 5) -> float:
    """Median seconds for one run (the row's batches) of hand-written forward and backward."""
    params = [p.copy() for p in row.params]
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for batch in row.batches:
            for p, g in zip(params, row.hand(params, *batch)[1]):
                p -= row.lr * g
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", default=list(ROWS), help=f"of {', '.join(ROWS)}")
    parser.add_argument("--full", action="store_true", help="full-size runs, not quick ones")
    args = parser.parse_args()
    print(f"{'row':<8}{'worst relative error':>22}{'ms per run':>12}  work per run")
    for name in args.rows:
        row = ROWS[name](quick=not args.full)
        worst = max(directional_errors(row))
        status = "ok" if worst < 1e-4 else "MISMATCH"  # kinks (ReLU, max) add noise
        print(f"{name:<8}{worst:>18.1e} {status:<3}{time_baseline(row) * 1e3:>12.1f}  {row.work}")


if __name__ == "__main__":
    main()
