"""Data-parallel scaling: step time of the MLP and LeNet on 1 and 2 processes (one BLAS
thread each) at the same global batch, the share of communication hidden behind the
backward walk, and rulegrad's allreduce bandwidth against mpi4py's own.

    python benchmarks/scaling.py [--ranks 1 2] [--steps 30] [--bucket-mb 0.5] [--how diff jit]

It launches itself under ``mpiexec -n R`` (the ``mpi`` extra's) for each R and prints one
table. Synthetic data: the figures are about time, not learning.

Rows: each model's step with ``rg.diff`` (``mlp``, ``lenet``) and with ``rg.jit``
(``mlp jit``, ``lenet jit``: recorded once, then replayed, the replay handing each gradient
to its bucket as it is finished), as ``--how`` picks.

Columns: ``step ms`` (median over the steps, rank 0, buckets of ``--bucket-mb`` reduced
during the walk or replay), ``speedup`` (the 1-process step time of the same row over this
one: throughput at the same global batch), ``1-bucket ms`` (the step with all gradients in
one bucket, reduced after the walk: nothing overlapped), ``comm ms`` (the same gradients
reduced by one blocking mpi4py ``Allreduce``), ``waited ms`` and ``1-bucket waited`` (per
step, the time ``rg.grad`` waited for reductions, which includes waiting for the other rank
to get there), ``hidden`` (the time the overlap saved, ``1-bucket ms - step ms``, as a share
of ``comm ms``: the share of communication hidden behind the walk; ``-`` where ``comm ms``
is under 5% of the step, too small to tell from the steps' noise), ``overlapped``
(``dp.overlapped`` of the last step: the buckets started before its last gradient), and for
the allreduce rows the bandwidth in MB/s (algorithm bytes: the buffer's size over the time)
of ``dist.allreduce`` and of mpi4py's ``Allreduce`` of the same buffers (the ceiling).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def mlp(rng: np.random.Generator) -> tuple[list, object, tuple]:
    """784-512-512-10 ReLU MLP (float32), a global batch of 256."""
    import rulegrad as rg
    from rulegrad import nn

    sizes = [784, 512, 512, 10]
    model = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        model += [rg.Param((rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)),
                  rg.Param(np.zeros(b, np.float32))]  # fmt: skip

    def loss(m: list, x: np.ndarray, y: np.ndarray) -> object:
        for w, b in zip(m[:-2:2], m[1:-2:2]):
            x = nn.relu(x @ w + b)
        return nn.nll(x @ m[-2] + m[-1], y)

    x = rng.standard_normal((256, 784)).astype(np.float32)
    return model, loss, (x, rng.integers(0, 10, 256))


def lenet(rng: np.random.Generator) -> tuple[list, object, tuple]:
    """examples/lenet.py's model, a global batch of 128 images."""
    sys.path.insert(0, str(HERE.parents[1] / "examples"))
    import lenet as example

    x = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    return example.init(rng), example.loss, (x, rng.integers(0, 10, 128))


def worker(steps: int, bucket_mb: float, how: list[str]) -> None:
    """Run under mpiexec: time each model's steps; rank 0 prints a JSON line."""
    from rulegrad import distributed as dist

    w = dist.init(timeout=600)
    rows = []
    for name, make in (("mlp", mlp), ("lenet", lenet)):
        model, loss, (x, y) = make(np.random.default_rng(0))
        grads = [np.ones_like(p.value) for p in model]
        comm = _blocking(w, grads, steps) if w.size > 1 else 0.0
        for mode in how:
            jit = mode == "jit"
            # buckets of bucket_mb, reduced during the walk; and one bucket, reduced at its end
            step, waited, overlapped = _steps(w, model, loss, x, y, steps, bucket_mb, jit)
            end, end_waited, _ = _steps(w, model, loss, x, y, steps, float("inf"), jit)
            rows.append({
                "model": f"{name} jit" if jit else name, "ranks": w.size, "step_ms": 1e3 * step,
                "end_ms": 1e3 * end, "comm_ms": 1e3 * comm, "waited_ms": 1e3 * waited,
                "end_waited_ms": 1e3 * end_waited, "overlapped": overlapped,
                "params": sum(int(np.size(p.value)) for p in model),
            })  # fmt: skip
        if w.size > 1:
            rows.append(_bandwidth(w, grads, name))
    if w.main:
        print(json.dumps(rows))


def _steps(w: object, model: list, loss: object, x: np.ndarray, y: np.ndarray, steps: int,
           bucket_mb: float, jit: bool) -> tuple[float, float, int]:  # fmt: skip
    """Median seconds per SGD step (after 3 untimed), seconds per step waited in rg.grad,
    and the buckets of the last step started before its last gradient (`dp.overlapped`)."""
    import rulegrad as rg
    from rulegrad import distributed as dist

    run = rg.jit(loss) if jit else (lambda *args: rg.diff(loss, *args))
    dp = dist.DataParallel(model, bucket_mb=min(bucket_mb, 1e6))
    times = []
    with dp:
        for k in range(steps + 3):
            dist.barrier()
            if k == 3:
                dp.waited = 0.0
            t = time.perf_counter()
            xb, yb = dp.shard(x, y)
            J = run(model, xb, yb)
            for p in model:
                p.value -= 0.001 * rg.grad(J, p)
            times.append(time.perf_counter() - t)
    return statistics.median(times[3:]), dp.waited / steps, dp.overlapped


def _blocking(w: object, grads: list, steps: int) -> float:
    """Median seconds of one blocking mpi4py Allreduce of all the gradients (fused)."""
    from mpi4py import MPI

    flat = np.concatenate([g.ravel() for g in grads])
    times = []
    for _ in range(steps):
        w.comm.Barrier()
        t = time.perf_counter()
        w.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _bandwidth(w: object, grads: list, name: str) -> dict:
    """MB/s of dist.allreduce of the gradients against mpi4py's Allreduce of one buffer."""
    from mpi4py import MPI

    from rulegrad import distributed as dist

    nbytes = sum(g.nbytes for g in grads)
    flat = np.concatenate([g.ravel() for g in grads])
    ours, theirs = [], []
    for _ in range(20):
        w.comm.Barrier()
        t = time.perf_counter()
        dist.allreduce(grads, "sum")
        ours.append(time.perf_counter() - t)
        w.comm.Barrier()
        t = time.perf_counter()
        w.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        theirs.append(time.perf_counter() - t)
    mb = nbytes / 1e6
    ours_mbps, theirs_mbps = mb / statistics.median(ours), mb / statistics.median(theirs)
    return {"model": f"allreduce ({name} grads, {mb:.1f} MB)", "ranks": w.size,
            "ours_MBps": ours_mbps, "mpi4py_MBps": theirs_mbps}  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    """Launch the workers and print the table; returns its rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="process counts")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model")
    parser.add_argument("--bucket-mb", type=float, default=0.5, help="DataParallel bucket size")
    parser.add_argument("--how", nargs="+", choices=["diff", "jit"], default=["diff", "jit"],
                        help="time the steps with rg.diff, with rg.jit, or both")  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.steps, args.bucket_mb, args.how)
        return []
    mpiexec = Path(sys.executable).parent / "mpiexec"
    rows: list[dict] = []
    for n in args.ranks:
        cmd = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(n), sys.executable,
               str(HERE), "--worker", "--steps", str(args.steps),
               "--bucket-mb", str(args.bucket_mb), "--how", *args.how]  # fmt: skip
        run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ONE_THREAD})
        if run.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{run.stderr}")
        rows += json.loads(run.stdout.strip().splitlines()[-1])
    base = {r["model"]: r["step_ms"] for r in rows if r["ranks"] == 1}
    print(f"{'model':9} {'ranks':>5} {'step ms':>8} {'speedup':>7} {'1-bucket ms':>11} "
          f"{'comm ms':>8} {'waited ms':>9} {'1-bucket waited':>15} {'hidden':>6} "
          f"{'overlapped':>10}")  # fmt: skip
    for r in rows:
        if "step_ms" in r:
            speed = base.get(r["model"], float("nan")) / r["step_ms"]
            gain = r["end_ms"] - r["step_ms"]  # what overlapping saved per step
            # a share of communication too small against the step to tell from its noise
            # (under 5% of it) is not printed: the difference of two step times is noise
            small = r["comm_ms"] < 0.05 * r["step_ms"]
            hidden = "-" if small or not r["comm_ms"] else f"{gain / r['comm_ms']:.0%}"
            print(f"{r['model']:9} {r['ranks']:5d} {r['step_ms']:8.2f} {speed:7.2f} "
                  f"{r['end_ms']:11.2f} {r['comm_ms']:8.3f} {r['waited_ms']:9.3f} "
                  f"{r['end_waited_ms']:15.3f} {hidden:>6} {r['overlapped']:10d}")  # fmt: skip
    for r in rows:
        if "ours_MBps" in r:
            print(f"{r['model']:34} {r['ranks']:5d}  dist.allreduce {r['ours_MBps']:8.0f} MB/s, "
                  f"mpi4py Allreduce {r['mpi4py_MBps']:8.0f} MB/s")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
