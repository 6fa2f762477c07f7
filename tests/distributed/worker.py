"""The program the distributed tests launch under ``mpiexec -n N``: one scenario per run.

    mpiexec -n 2 python tests/distributed/worker.py SCENARIO OUTDIR [options]

Each scenario writes what the test checks to OUTDIR (rank 0, or one file per rank).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import rulegrad as rg
from rulegrad import distributed as dist
from rulegrad import nn

STEPS, BATCH, LR = 5, 12, 0.3


def model(seed: int, hidden: int = 7) -> list[rg.Param]:
    """A two-layer MLP; each rank may build it from another seed (broadcast fixes that)."""
    rng = np.random.default_rng(seed)
    return [
        rg.Param(rng.standard_normal((5, hidden))),
        rg.Param(rng.standard_normal(hidden)),
        rg.Param(rng.standard_normal((hidden, 3))),
        rg.Param(np.zeros(3)),
    ]


def loss(m: list, x: np.ndarray, y: np.ndarray) -> object:
    """Mean negative log likelihood of the labels: a mean over the rows."""
    h = np.tanh(x @ m[0] + m[1])
    return nn.nll(h @ m[2] + m[3], y)


def data(batch: int = BATCH, steps: int = STEPS) -> list[tuple[np.ndarray, np.ndarray]]:
    """The global batches, the same on every rank."""
    rng = np.random.default_rng(42)
    return [(rng.standard_normal((batch, 5)), rng.integers(0, 3, batch)) for _ in range(steps)]


def train(m: list, dp: dist.DataParallel | None, batch: int, jit: bool) -> list:
    """STEPS of SGD; the gradients of the first step."""
    step = rg.jit(loss) if jit else (lambda *a: rg.diff(loss, *a))
    first = None
    for xb, yb in data(batch):
        if dp is not None:
            xb, yb = dp.shard(xb, yb)
        J = step(m, xb, yb)
        grads = [rg.grad(J, p) for p in m]
        first = grads if first is None else first
        for p, g in zip(m, grads):
            p.value -= LR * g
    return first


def scenario_train(out: Path, batch: int, bucket_mb: float, how: str) -> None:
    """SGD steps with rg.diff, rg.jit, or ("mixed") rg.jit on rank 0 and rg.diff elsewhere."""
    w = dist.init(timeout=30)
    m = model(seed=w.rank)  # different on each rank until broadcast
    with dist.DataParallel(m, bucket_mb=bucket_mb) as dp:
        first = train(m, dp, batch, how == "jit" or how == "mixed" and w.main)
        overlapped = dp.overlapped  # of the last step
    # every rank holds the same parameters: their max and min across ranks agree
    values = [p.value for p in m]
    spread = [a - b for a, b in zip(dist.allreduce(values, "max"), dist.allreduce(values, "min"))]
    if w.main:
        np.savez(out / "result.npz", *[p.value for p in m], *first)
        (out / "overlapped").write_text(str(overlapped))
        (out / "spread").write_text(str(max(float(np.abs(s).max()) for s in spread)))


def scenario_collectives(out: Path) -> None:
    w = dist.init(timeout=30)
    r = w.rank
    got = dist.allreduce(
        {"a": np.full(3, float(r)), "b": [np.float32(r) * np.ones((2, 2), np.float32)]}, "mean"
    )
    total = dist.allreduce(np.array([r + 1.0]), "sum")
    top = dist.allreduce(np.array([r]), "max")
    rows = dist.shard(10, seed=3, epoch=1)
    again = dist.shard(10, seed=3, epoch=1)
    other = dist.shard(10, seed=3, epoch=2)
    dist.barrier()
    np.savez(out / f"rank{r}.npz", a=got["a"], b=got["b"][0], total=total, top=top, rows=rows,
             again=again, other=other, size=w.size, local=w.local_rank)  # fmt: skip


def scenario_fail(out: Path) -> None:
    w = dist.init(timeout=60)
    m = model(0)
    with dist.DataParallel(m, bucket_mb=0.0001) as dp:
        for k, (xb, yb) in enumerate(data()):
            xb, yb = dp.shard(xb, yb)

            def f(m: list, x: np.ndarray, y: np.ndarray, k: int = k) -> object:
                if k == 2 and w.rank == 1:
                    raise ValueError("bad batch on purpose")
                return loss(m, x, y)

            J = rg.diff(f, m, xb, yb)
            for p in m:
                p.value -= LR * rg.grad(J, p)


def scenario_hang(out: Path) -> None:
    w = dist.init(timeout=3)
    m = model(0)
    with dist.DataParallel(m) as dp:
        for k, (xb, yb) in enumerate(data()):
            if k == 1 and w.rank == 1:
                time.sleep(120)  # stuck: rank 0 must give up on the reduction
            xb, yb = dp.shard(xb, yb)
            J = rg.diff(loss, m, xb, yb)
            for p in m:
                p.value -= LR * rg.grad(J, p)


def scenario_mismatch(out: Path) -> None:
    w = dist.init(timeout=30)
    m = model(0, hidden=7 if w.rank == 0 else 8)
    dist.broadcast(m)
    (out / f"trained{w.rank}").write_text("broadcast did not raise")


def scenario_save(out: Path) -> None:
    w = dist.init(timeout=30)
    m = model(seed=w.rank)
    opt = rg.optim.Adam(lr=0.01)
    with dist.DataParallel(m) as dp:
        for xb, yb in data(steps=2):
            xb, yb = dp.shard(xb, yb)
            J = rg.diff(loss, m, xb, yb)
            for p in m:
                opt.step(p, rg.grad(J, p))
    if w.main:  # saving writes once
        rg.save(out / "ckpt.npz", {"model": m, "opt": opt})
        np.savez(out / "params.npz", *[p.value for p in m])
    dist.barrier()
    fresh, opt2 = model(seed=100 + w.rank), rg.optim.Adam()
    rg.load(out / "ckpt.npz", into={"model": fresh, "opt": opt2})
    same = all(np.array_equal(a.value, b.value) for a, b in zip(m, fresh))
    (out / f"loaded{w.rank}").write_text(str(same))


def scenario_load(out: Path) -> None:
    """A checkpoint saved by another job, loaded on every rank of this one."""
    w = dist.init(timeout=30)
    fresh = model(seed=200 + w.rank)
    rg.load(out / "ckpt.npz", into={"model": fresh, "opt": rg.optim.Adam()})
    saved = np.load(out / "params.npz")
    same = all(np.array_equal(p.value, saved[f"arr_{i}"]) for i, p in enumerate(fresh))
    (out / f"reloaded{w.rank}").write_text(str(same))


def scaled(seed: int) -> list[rg.Param]:
    """worker's model with a 0-d Param scaling its output (a temperature)."""
    return [*model(seed), rg.Param(np.array(1.0 + seed))]


def scaled_loss(m: list, x: np.ndarray, y: np.ndarray) -> object:
    return loss(m[:4], x, y) * m[4]


def scenario_scalar(out: Path) -> None:
    """Adam steps of a model with a 0-d Param: broadcast keeps it a 0-d array, which
    optimizers update in place (a number they cannot)."""
    w = dist.init(timeout=30)
    m = scaled(seed=w.rank)
    opt = rg.optim.Adam(lr=0.01)
    with dist.DataParallel(m) as dp:
        for xb, yb in data(steps=2):
            xb, yb = dp.shard(xb, yb)
            J = rg.diff(scaled_loss, m, xb, yb)
            for p in m:
                opt.step(p, rg.grad(J, p))
    np.savez(out / f"rank{w.rank}.npz", *[p.value for p in m])


def routed(seed: int) -> list[rg.Param]:
    """worker's model with two more Params: an expert that only the rows routed to it go
    through (a mixture of experts), and one no step reads."""
    rng = np.random.default_rng(seed + 10)
    return [*model(seed), rg.Param(rng.standard_normal((5, 3))), rg.Param(np.zeros(3))]


def routed_loss(m: list, x: np.ndarray, y: np.ndarray, k: int) -> object:
    """worker's loss, the first ``k`` rows going through the expert ``m[4]`` as well (with
    none, the expert is not read)."""
    h = np.tanh(x @ m[0] + m[1])
    out = h @ m[2] + m[3]
    if k:
        out = np.concatenate([out[:k] + x[:k] @ m[4], out[k:]])
    return nn.nll(out, y)


def routed_data() -> list[tuple[np.ndarray, np.ndarray]]:
    """Global batches whose first half is routed to the expert (a positive first feature):
    on 2 ranks, rank 0's rows all are and rank 1's none."""
    batches = data(steps=4)
    for x, _ in batches:
        x[:, 0] = np.abs(x[:, 0]) * np.where(np.arange(len(x)) < len(x) // 2, 1, -1)
    return batches


def train_routed(m: list, dp: dist.DataParallel | None, jit: bool) -> list:
    """Adam steps of the routed model; the gradients of the first step."""
    step = rg.jit(routed_loss) if jit else (lambda *a: rg.diff(routed_loss, *a))
    opt = rg.optim.Adam(lr=0.05)
    first = None
    for xb, yb in routed_data():
        if dp is not None:
            xb, yb = dp.shard(xb, yb)
        J = step(m, xb, yb, int(np.sum(xb[:, 0] > 0)))  # the routed rows come first
        grads = [rg.grad(J, p) for p in m]
        first = grads if first is None else first
        for p, g in zip(m, grads):
            opt.step(p, g)
    return first


def scenario_routed(out: Path, bucket_mb: float, how: str) -> None:
    """Adam steps where rank 0's rows go through the expert and rank 1's do not: each rank
    writes its Params, its first gradients, and which of them were None."""
    w = dist.init(timeout=30)
    m = routed(seed=w.rank)
    with dist.DataParallel(m, bucket_mb=bucket_mb) as dp:
        first = train_routed(m, dp, how == "jit")
    np.savez(out / f"rank{w.rank}.npz", *[p.value for p in m],
             *[np.zeros(0) if g is None else g for g in first])  # fmt: skip
    (out / f"none{w.rank}").write_text(" ".join(str(g is None) for g in first))


def scenario_nccl(out: Path) -> None:
    """NCCL's allreduce and broadcast of cupy arrays, one GPU per rank."""
    import cupy

    w = dist.init(timeout=60)
    cupy.cuda.Device(w.local_rank).use()
    nccl = dist.NCCLCommunicator.of(w)
    buf = cupy.full(5, float(w.rank + 1), cupy.float32)
    dist.wait([nccl.iallreduce(buf, "sum")], "NCCL allreduce", w)
    ok = bool((buf == sum(range(1, w.size + 1))).all())
    b = cupy.arange(4, dtype=cupy.float64) * (w.rank == 0)
    dist.wait([nccl.ibcast(b, 0)], "NCCL broadcast", w)
    ok = ok and bool((b == cupy.arange(4)).all())
    ok = ok and isinstance(dist.communicator(buf, w), dist.NCCLCommunicator)
    if w.main:
        (out / "nccl").write_text("ok" if ok else "wrong values")


if __name__ == "__main__":
    name, outdir, *opts = sys.argv[1:]
    where = Path(outdir)
    if name == "train":
        scenario_train(where, int(opts[0]), float(opts[1]), opts[2])
    elif name == "routed":
        scenario_routed(where, float(opts[0]), opts[1])
    else:
        globals()[f"scenario_{name}"](where)
