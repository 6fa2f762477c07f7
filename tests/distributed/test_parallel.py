"""rulegrad.distributed under ``mpiexec -n 2`` and ``-n 3``: data-parallel training equals
the single-process run, collectives, sharding, faults, and checkpoints.

The multi-process tests launch tests/distributed/worker.py with the ``mpiexec`` of the
``mpi`` extra (``pip install 'rulegrad[mpi]'``); without mpi4py or mpiexec they skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import distributed as dist
from rulegrad.core.diff import GRAD_HOOK

sys.path.insert(0, str(Path(__file__).parent))
import worker  # noqa: E402

WORKER = Path(__file__).parent / "worker.py"
# the venv's mpiexec (the mpich wheel's) first, as the venv's python is the one launched
_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
MPIEXEC = shutil.which("mpiexec", path=_PATH)
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="needs mpi4py and mpiexec: pip install 'rulegrad[mpi]' (mpi4py and the mpich wheel)",
)


def launch(n: int, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the worker on ``n`` ranks, one BLAS thread each."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [MPIEXEC, "-n", str(n), sys.executable, str(WORKER), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def single_process(batch: int) -> tuple[list, list]:
    """The parameters after the steps and the first step's gradients, on one process with
    the whole batch (rank 0's initial model, which broadcast gives every rank)."""
    m = worker.model(seed=0)
    first = worker.train(m, None, batch, jit=False)
    return [p.value for p in m], first


@needs_mpi
@pytest.mark.parametrize(
    ("ranks", "batch", "bucket_mb", "jit", "overlapped"),
    [
        (2, 12, 25.0, "diff", 0),  # one bucket: reduced at the walk's end
        (2, 12, 0.0001, "diff", 3),  # one bucket per Param: four allreduces per walk
        (2, 12, 0.0004, "jit", 1),  # replayed steps: buckets of 3 and 1 Params
        (2, 12, 0.0001, "jit", 3),  # three of four started during the replay
        (2, 12, 0.0001, "mixed", 3),  # rank 0 replays, rank 1 walks: the same collectives
        (3, 10, 0.0001, "diff", 3),  # 4, 3, 3 rows: weighted by rows, not a plain mean
        (3, 10, 25.0, "jit", 0),
    ],
)
def test_training_equals_single_process(
    tmp_path: Path, ranks: int, batch: int, bucket_mb: float, jit: str, overlapped: int
) -> None:
    """Gradients and Params after 5 SGD steps on N ranks (each its rows of the global batch)
    equal one process on the whole batch, and every rank holds the same Params; buckets
    other than the last start during the backward pass (walk or jit replay)."""
    run = launch(ranks, "train", tmp_path, batch, bucket_mb, jit)
    assert run.returncode == 0, run.stderr
    got = np.load(tmp_path / "result.npz")
    params, grads = single_process(batch)
    for i, want in enumerate([*params, *grads]):
        np.testing.assert_allclose(got[f"arr_{i}"], want, rtol=1e-10, atol=1e-12)
    assert float((tmp_path / "spread").read_text()) == 0.0
    assert (tmp_path / "overlapped").read_text() == str(overlapped)


@needs_mpi
@pytest.mark.parametrize(("bucket_mb", "how"), [(25.0, "diff"), (0.0001, "diff"), (0.0001, "jit")])
def test_a_param_only_some_ranks_touch(tmp_path: Path, bucket_mb: float, how: str) -> None:
    """Rank 0's rows go through an expert and rank 1's do not: both ranks get the same
    gradient of it (the average with rank 1's zeros; it was None on rank 1, whose Adam then
    skipped the step, and the models drifted apart), and after the Adam steps both hold the
    Params of one process on the whole batch; a Param no rank reads is None on both."""
    run = launch(2, "routed", tmp_path, bucket_mb, how)
    assert run.returncode == 0, run.stderr
    m = worker.routed(seed=0)
    first = worker.train_routed(m, None, jit=False)
    assert first[5] is None
    for r in range(2):
        assert (tmp_path / f"none{r}").read_text() == " ".join(["False"] * 5 + ["True"])
        got = np.load(tmp_path / f"rank{r}.npz")
        for i, want in enumerate([*[p.value for p in m], *first[:5]]):
            np.testing.assert_allclose(got[f"arr_{i}"], want, rtol=1e-10, atol=1e-12)


@needs_mpi
def test_collectives_and_shards_on_three_ranks(tmp_path: Path) -> None:
    """allreduce's mean, sum and max over 3 ranks; shard gives each rank its rows of a
    permutation fixed by (seed, epoch): disjoint, covering all 10 rows, uneven (4, 3, 3)."""
    run = launch(3, "collectives", tmp_path)
    assert run.returncode == 0, run.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(3)]
    for r, d in enumerate(ranks):
        np.testing.assert_array_equal(d["a"], [1.0, 1.0, 1.0])  # mean of 0, 1, 2
        assert d["b"].dtype == np.float32 and (d["b"] == 1).all()
        assert d["total"].tolist() == [6.0] and d["top"].tolist() == [2]
        assert d["size"] == 3 and d["local"] == r
        np.testing.assert_array_equal(d["rows"], d["again"])
    rows = [d["rows"].tolist() for d in ranks]
    assert [len(x) for x in rows] == [4, 3, 3]
    assert sorted(sum(rows, [])) == list(range(10))
    assert sorted(sum((d["other"].tolist() for d in ranks), [])) == list(range(10))
    assert rows != [d["other"].tolist() for d in ranks]  # another epoch, another order


@needs_mpi
def test_a_failing_rank_ends_the_job_naming_it(tmp_path: Path) -> None:
    """A rank raising in the middle of step 3 stops every rank within seconds (MPI abort),
    the message naming the rank and its exception, instead of leaving rank 0 waiting."""
    start = time.monotonic()
    run = launch(2, "fail", tmp_path, timeout=60)
    assert time.monotonic() - start < 30
    assert run.returncode != 0
    assert "rank 1 of 2 failed with ValueError: bad batch on purpose" in run.stderr


@needs_mpi
def test_a_stuck_rank_makes_the_others_time_out(tmp_path: Path) -> None:
    """A rank that never joins the reduction: rank 0 raises CollectiveTimeoutError after
    its timeout (3 s here) and the job ends, rather than hanging."""
    start = time.monotonic()
    run = launch(2, "hang", tmp_path, timeout=100)
    assert time.monotonic() - start < 60
    assert run.returncode != 0
    assert "rank 0 of 2 failed with CollectiveTimeoutError" in run.stderr
    assert "did not complete within 3 s" in run.stderr


@needs_mpi
def test_broadcast_refuses_models_of_other_shapes(tmp_path: Path) -> None:
    """Ranks whose models differ in a Param's shape get BroadcastMismatchError naming the
    Param, both shapes and the ranks, before any training."""
    run = launch(2, "mismatch", tmp_path)
    assert run.returncode != 0
    assert "BroadcastMismatchError" in run.stderr
    assert "Param 0 (in rg.params order) is a ndarray of shape (5, 8)" in run.stderr
    assert "on rank 1 but a ndarray of shape (5, 7)" in run.stderr
    assert not list(tmp_path.glob("trained*"))


@needs_mpi
def test_checkpoint_saved_on_two_ranks_loads_on_one_and_on_two(tmp_path: Path) -> None:
    """rank 0 alone writes the checkpoint of a 2-rank run (model and Adam state); it loads
    into fresh models on both ranks, in one process, and in a new 2-rank job."""
    run = launch(2, "save", tmp_path)
    assert run.returncode == 0, run.stderr
    assert [f.name for f in tmp_path.glob("*.npz.part")] == []
    assert (tmp_path / "loaded0").read_text() == (tmp_path / "loaded1").read_text() == "True"
    fresh, opt = worker.model(seed=7), rg.optim.Adam()
    rg.load(tmp_path / "ckpt.npz", into={"model": fresh, "opt": opt})
    saved = np.load(tmp_path / "params.npz")
    for i, p in enumerate(fresh):
        np.testing.assert_array_equal(p.value, saved[f"arr_{i}"])
    assert [s["t"] for _, s in opt.states()] == [2] * 4
    run = launch(2, "load", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "reloaded0").read_text() == (tmp_path / "reloaded1").read_text() == "True"


@needs_mpi
def test_broadcast_keeps_a_0d_param_an_array(tmp_path: Path) -> None:
    """A 0-d Param stays a 0-d array through broadcast (it became a numpy number, which an
    optimizer refused to update in place): Adam on 2 ranks is the one-process run."""
    run = launch(2, "scalar", tmp_path)
    assert run.returncode == 0, run.stderr
    m, opt = worker.scaled(seed=0), rg.optim.Adam(lr=0.01)
    for x, y in worker.data(steps=2):
        J = rg.diff(worker.scaled_loss, m, x, y)
        for p in m:
            opt.step(p, rg.grad(J, p))
    for r in range(2):
        got = np.load(tmp_path / f"rank{r}.npz")
        for i, p in enumerate(m):
            np.testing.assert_allclose(got[f"arr_{i}"], p.value, rtol=1e-10, atol=1e-12)


def test_one_process_world_changes_nothing() -> None:
    """Not launched under MPI: rank 0 of 1; DataParallel sets no hook and its shard is the
    whole batch, so training is the plain single-process run."""
    w = dist.init()
    assert (w.rank, w.size, w.local_rank, w.comm) == (0, 1, 0, None)
    m = worker.model(seed=0)
    want, _ = single_process(worker.BATCH)
    with dist.DataParallel(m) as dp:
        assert GRAD_HOOK.get() is None
        worker.train(m, dp, worker.BATCH, jit=False)
    for p, v in zip(m, want):
        np.testing.assert_array_equal(p.value, v)


def test_communicator_is_chosen_by_array_type() -> None:
    """An array type without a communicator is a DistributedError naming it; a third-party
    backend adds its own with @dist.communicator.dispatch."""

    class Strange:
        pass

    class Mine:
        pass

    class MineComm(dist.Communicator):
        pass

    w = dist.World(0, 2, 0, 2, None, 1.0)
    with pytest.raises(dist.DistributedError, match="no communicator for .*Strange arrays"):
        dist.communicator(Strange(), w)

    @dist.communicator.dispatch
    def communicator(x: Mine, w: dist.World) -> dist.Communicator:
        return MineComm()

    assert isinstance(dist.communicator(Mine(), w), MineComm)


def test_a_second_data_parallel_in_the_context_is_refused() -> None:
    """Activating a DataParallel inside another's context is a DistributedError: the walks
    would hand every gradient to the inner one and the outer one's Params would silently
    differ across ranks. The same one again (with dp: after dp.activate()) is fine."""
    two = dist.World(0, 2, 0, 2, None, 1.0)
    gen, disc = worker.model(seed=0), worker.model(seed=1)
    dp = dist.DataParallel(gen, broadcast=False, w=two)
    other = dist.DataParallel(disc, broadcast=False, w=two)
    with dp:
        with pytest.raises(dist.DistributedError, match=r"one DataParallel of all the models"):
            other.activate()
        with dp:
            assert GRAD_HOOK.get() is dp
        assert GRAD_HOOK.get() is dp
    assert GRAD_HOOK.get() is None
    with other:  # one after the other is fine
        assert GRAD_HOOK.get() is other


def test_allreduce_checks_its_op() -> None:
    """An unknown op is refused, naming the ones there are."""
    with pytest.raises(dist.DistributedError, match="op must be one of"):
        dist.allreduce(np.ones(2), "avg")


def test_shard_refuses_arrays_of_different_lengths() -> None:
    """Arrays sharded together must have one length."""
    with pytest.raises(dist.DistributedError, match=r"\[3, 4\] rows"):
        dist.shard((np.ones(3), np.ones(4)))
    dp = dist.DataParallel([rg.Param(np.ones(2))])  # (one process: the same check)
    with pytest.raises(dist.DistributedError, match=r"dp.shard: the arrays have \[3, 4\] rows"):
        dp.shard(np.ones(3), np.ones(4))


@pytest.mark.gpu
@needs_mpi
@pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="needs cupy and a GPU")
def test_nccl_allreduce_of_cupy_arrays(tmp_path: Path) -> None:
    """cupy arrays are reduced through NCCL: 2 ranks when there are 2 GPUs, else 1."""
    import cupy

    try:
        gpus = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("no CUDA device")
    run = launch(min(gpus, 2), "nccl", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "nccl").read_text() == "ok"


class _Handle:
    """A fake reduction: done once released, summing two equal ranks (times 2)."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf, self.released, self.done = buf, False, False

    def test(self) -> bool:
        if self.released and not self.done:
            self.buf *= 2
            self.done = True
        return self.done


def test_grad_waits_only_for_its_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """With one bucket per Param, the walk starts every bucket (last layer first) and
    rg.grad(J, p) waits for p's alone: the reduced gradient once p's bucket is done, and a
    CollectiveTimeoutError naming the bucket if it never is."""
    from rulegrad.distributed import parallel

    handles: list[_Handle] = []

    class Fake(dist.Communicator):
        def iallreduce(self, buf: np.ndarray, op: str) -> _Handle:
            handles.append(_Handle(buf))
            return handles[-1]

    monkeypatch.setattr(parallel, "communicator", lambda x, w: Fake())
    two = dist.World(0, 2, 0, 2, None, 0.2)
    m = worker.model(seed=0)
    x, y = worker.data()[0]
    want = [rg.grad(rg.diff(worker.loss, m, x, y), p) for p in m]
    with dist.DataParallel(m, bucket_mb=1e-6, broadcast=False, w=two):
        J = rg.diff(worker.loss, m, x, y)
        assert handles == []  # nothing is reduced while recording
        with pytest.raises(dist.CollectiveTimeoutError, match=r"bucket 1 of 4\) did not"):
            rg.grad(J, m[3])  # walks, starting 4 buckets; none is ever done
        assert len(handles) == 4
        handles[0].released = True
        np.testing.assert_allclose(rg.grad(J, m[3]), want[3])  # bucket 0: the last Param
        assert [h.done for h in handles] == [True, False, False, False]
        with pytest.raises(dist.CollectiveTimeoutError, match=r"bucket 4 of 4\) did not"):
            rg.grad(J, m[0])
        for h in handles:
            h.released = True
        for p, g in zip(m, want):
            np.testing.assert_allclose(rg.grad(J, p), g)


def test_leaving_the_context_completes_the_reductions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Buckets whose gradients no rg.grad read are completed on leaving ``with dp:`` (MPI
    finalized with them in flight: MPICH's "communicator has pending references")."""
    from rulegrad.distributed import parallel

    handles: list[_Handle] = []

    class Fake(dist.Communicator):
        def iallreduce(self, buf: np.ndarray, op: str) -> _Handle:
            handles.append(_Handle(buf))
            handles[-1].released = len(handles) == 1  # the others: after rg.grad
            return handles[-1]

    monkeypatch.setattr(parallel, "communicator", lambda x, w: Fake())
    two = dist.World(0, 2, 0, 2, None, 1.0)
    m = worker.model(seed=0)
    with dist.DataParallel(m, bucket_mb=1e-6, broadcast=False, w=two):
        rg.grad(rg.diff(worker.loss, m, *worker.data()[0]), m[3])  # bucket 1 of 4 only
        for h in handles:
            h.released = True
        assert len(handles) == 4 and [h.done for h in handles] == [True, False, False, False]
    assert all(h.done for h in handles)


def test_every_param_of_the_model_gets_the_reduced_gradient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A walk that reached some of the model's Params leaves a pending gradient for all of
    them, also for those this rank's step did not read (None here, where the fake's other
    rank is this one: no rank gave one); a walk that reached none of them starts no
    reduction, and a Param outside the model keeps its own gradient. vjp's pullback walks
    again over the pending gradients."""
    from rulegrad.distributed import parallel

    handles: list[_Handle] = []

    class Fake(dist.Communicator):
        def iallreduce(self, buf: np.ndarray, op: str) -> _Handle:
            handles.append(_Handle(buf))
            handles[-1].released = True
            return handles[-1]

    monkeypatch.setattr(parallel, "communicator", lambda x, w: Fake())
    two = dist.World(0, 2, 0, 2, None, 1.0)
    m, other = worker.routed(seed=0), rg.Param(np.ones(3))
    x, y = worker.routed_data()[0]
    want = rg.diff(worker.routed_loss, m, x, y, 0)
    with dist.DataParallel(m, bucket_mb=1e-6, broadcast=False, w=two):
        J = rg.diff(lambda: np.sum(other * other))
        np.testing.assert_allclose(rg.grad(J, other), 2 * other.value)
        assert rg.grad(J, m[0]) is None and handles == []
        J = rg.diff(lambda: worker.routed_loss(m, x, y, 0) + np.sum(other))
        np.testing.assert_allclose(rg.grad(J, other), np.ones(3))
        assert len(handles) == 6  # one bucket per Param of the model
        for p in m[:4]:
            np.testing.assert_allclose(rg.grad(J, p), rg.grad(want, p))
        assert rg.grad(J, m[4]) is None and rg.grad(J, m[5]) is None
        _, back = rg.vjp(lambda v: worker.routed_loss(m, v, y, 0), x)
        np.testing.assert_allclose(back(1.0)[0], back(1.0)[0])
        assert len(handles) == 18


_EVENTS: list[str] = []


@rg.primitive(lambda dy, y, x: (_EVENTS.append("first layer's rule"), dy)[1])
def _marked(x: np.ndarray) -> np.ndarray:
    """The identity, whose rule notes when the backward pass reaches it."""
    return x + 0.0


def _marked_loss(m: list, x: np.ndarray, y: np.ndarray) -> object:
    """worker.loss, noting when the backward pass reaches the first layer's product."""
    h = np.tanh(_marked(x @ m[0]) + m[1])
    return rg.nn.nll(h @ m[2] + m[3], y)


@pytest.mark.parametrize("how", ["diff", "jit"])
def test_buckets_start_during_the_backward_pass(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """With one bucket per Param, the buckets of the last three Params start before the
    backward pass reaches the first layer, with rg.diff's walk and with an rg.jit replay
    alike (dp.overlapped says so), and the reduced gradients are the single-process ones."""
    from rulegrad.distributed import parallel

    class Fake(dist.Communicator):
        def iallreduce(self, buf: np.ndarray, op: str) -> _Handle:
            _EVENTS.append("bucket started")
            handle = _Handle(buf)
            handle.released = True
            return handle

    monkeypatch.setattr(parallel, "communicator", lambda x, w: Fake())
    two = dist.World(0, 2, 0, 2, None, 5.0)
    m = worker.model(seed=0)
    step = rg.jit(_marked_loss) if how == "jit" else (lambda *a: rg.diff(_marked_loss, *a))
    batches = worker.data()[:3]
    wants = [[rg.grad(rg.diff(worker.loss, m, x, y), p) for p in m] for x, y in batches]
    started = ["bucket started"] * 3  # the last three Params' buckets, then the first's
    with dist.DataParallel(m, bucket_mb=1e-6, broadcast=False, w=two) as dp:
        for (x, y), want in zip(batches, wants):  # (jit: records, then replays each time)
            _EVENTS.clear()
            J = step(m, x, y)
            got = [rg.grad(J, p) for p in m]  # (diff: the walk runs here)
            assert [*started, "first layer's rule", "bucket started"] == _EVENTS
            assert dp.overlapped == 3
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w)
    if how == "jit":
        assert sum(p is not None for p in step.programs.values()) == 1


def test_init_without_mpi4py(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without mpi4py a script runs as one process, even when launched as one rank; launched
    on several ranks it is a DistributedError saying what to install."""
    from rulegrad.distributed import job as world_module

    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    monkeypatch.setattr(world_module, "_WORLD", [])
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("PMI_SIZE", "1")
    w = dist.init()
    assert (w.rank, w.size, w.comm) == (0, 1, None)
    monkeypatch.setattr(world_module, "_WORLD", [])
    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(dist.DistributedError, match=r"mpi4py is not installed: pip install"):
        dist.init()
