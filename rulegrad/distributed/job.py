"""The processes of a data-parallel job: `init`, `World`, `barrier`, and fault handling.

`init` finds out whether the program was launched under MPI (``mpiexec``, ``srun``) and, if
so, joins it through ``mpi4py``; otherwise (not launched, or mpi4py missing) the world is
one process and every collective is a no-op, so the same script runs both ways. Under MPI a
rank that raises an uncaught exception prints it with its rank and aborts the whole job
(``MPI_Abort``), and every wait on a collective has a timeout: a failing rank ends the job
with its name in the message instead of leaving the others waiting forever.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import RulegradError

__all__ = [
    "World",
    "init",
    "world",
    "barrier",
    "main_prints",
    "wait",
    "DistributedError",
    "CollectiveTimeoutError",
    "BroadcastMismatchError",
]

#: Environment variables that MPI launchers set in each process they start.
_LAUNCHED = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


#: Seconds a wait polls without sleeping (a reduction usually completes within it; a sleep,
#: even a short one, gives the core away for far longer than the reduction takes).
SPIN = 0.05
#: Seconds a failing rank waits between writing its error and ``MPI_Abort``: the abort
#: makes the launcher kill every rank, and output it has not read from the pipes yet is
#: lost (about one failing launch in 30 printed nothing, under ``mpiexec -n 2``).
ABORT_GRACE = 0.5


class DistributedError(RulegradError):
    """A data-parallel run went wrong: ranks disagree, or a collective was misused."""


class CollectiveTimeoutError(DistributedError, TimeoutError):
    """A collective did not complete in time: another rank died, hangs or skipped it."""


class BroadcastMismatchError(DistributedError, ValueError):
    """The ranks' models differ in the number, shapes or dtypes of their Params."""


@dataclass
class World:
    """This process's place in the job.

    Attributes:
        rank: this process's number, 0 to ``size - 1`` (rank 0 prints and saves).
        size: the number of processes.
        local_rank: the number among the processes on this machine (which GPU to use).
        local_size: the number of processes on this machine.
        comm: the ``mpi4py`` communicator, or None for a single process not under MPI.
        timeout: seconds a wait on a collective may take before `CollectiveTimeoutError`.

    Examples:
        >>> w = World(0, 1, 0, 1, None, 60.0)
        >>> w.main, w.single
        (True, True)
    """

    rank: int
    size: int
    local_rank: int
    local_size: int
    comm: Any
    timeout: float

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the one that prints and writes files."""
        return self.rank == 0

    @property
    def single(self) -> bool:
        """Whether the job is one process (every collective a no-op)."""
        return self.size == 1


_WORLD: list[World] = []


def _launched() -> bool:
    if os.environ.get("RULEGRAD_MPI", "") not in ("", "0"):
        return True
    return any(k in os.environ for k in _LAUNCHED)


def init(timeout: float | None = None, *, abort_on_error: bool = True) -> World:
    """Join the job this process was launched in (once; later calls return the same World).

    Under ``mpiexec``/``srun`` (with mpi4py installed: ``pip install 'rulegrad[mpi]'``) the
    world is MPI's; otherwise it is this process alone. ``RULEGRAD_MPI=1`` forces MPI.

    Args:
        timeout: seconds any wait on a collective may take (default: ``RULEGRAD_TIMEOUT``,
            else 300); past it, `CollectiveTimeoutError`.
        abort_on_error: under MPI with several ranks, an uncaught exception on one rank
            prints ``rank R of N failed: ...`` and aborts every rank (``MPI_Abort``).

    Examples:
        >>> from rulegrad import distributed as dist
        >>> w = dist.init()
        >>> w.rank, w.size, w.local_rank
        (0, 1, 0)
    """
    if _WORLD:
        if timeout is not None:
            _WORLD[0].timeout = float(timeout)
        return _WORLD[0]
    if timeout is None:
        timeout = float(os.environ.get("RULEGRAD_TIMEOUT", "300"))
    comm = None
    if _launched():
        try:
            from mpi4py import MPI
        except ImportError:
            sizes = [os.environ.get(k, "1") for k in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")]
            if sizes != ["1", "1"]:
                raise DistributedError(
                    "this process was launched by mpiexec with several ranks, but mpi4py is "
                    "not installed: pip install 'rulegrad[mpi]' (mpi4py and mpich)"
                ) from None
        else:
            comm = MPI.COMM_WORLD
    if comm is None:
        w = World(0, 1, 0, 1, None, float(timeout))
    else:
        from mpi4py import MPI

        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        w = World(comm.rank, comm.size, local.rank, local.size, comm, float(timeout))
        local.Free()
        if abort_on_error and w.size > 1:
            _abort_on_uncaught(w)
    _WORLD.append(w)
    return w


def world() -> World:
    """The World of this process (`init` if not done yet)."""
    return _WORLD[0] if _WORLD else init()


def _abort_on_uncaught(w: World) -> None:
    """Make an uncaught exception on this rank end every rank, naming this one."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            return previous(kind, exc, tb)
        text = "".join(traceback.format_exception(kind, exc, tb))
        sys.stderr.write(
            f"{text}rulegrad.distributed: rank {w.rank} of {w.size} failed with "
            f"{kind.__name__}: {exc}\nrulegrad.distributed: aborting all {w.size} ranks\n"
        )
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(ABORT_GRACE)
        w.comm.Abort(1)

    sys.excepthook = hook


def wait(handles: Sequence[Any], what: str, w: World | None = None) -> None:
    """Wait until every handle's ``test()`` is True, or raise `CollectiveTimeoutError`.

    Polling (rather than a blocking wait) keeps the timeout, and drives MPI's progress.

    Examples:
        >>> class Done:
        ...     def test(self):
        ...         return True
        >>> wait([Done()], "a test")
    """
    w = w or world()
    deadline = spin = None
    pause = 0.0
    for h in handles:
        while not h.test():
            now = time.monotonic()
            if deadline is None:
                deadline, spin = now + w.timeout, now + SPIN
            elif now > deadline:
                raise CollectiveTimeoutError(
                    f"rank {w.rank} of {w.size}: {what} did not complete within "
                    f"{w.timeout:g} s: another rank has died, hangs, or did not call it (every "
                    "rank must run the same collectives in the same order). Raise the limit "
                    "with dist.init(timeout=...) or RULEGRAD_TIMEOUT if the work is just slow."
                )
            if now > spin:  # waiting long: poll less often, leaving the core to others
                time.sleep(pause)
                pause = min(2 * pause + 1e-5, 1e-3)


class _Request:
    """An mpi4py request as a handle of `wait`."""

    __slots__ = ("request",)

    def __init__(self, request: Any) -> None:
        self.request = request

    def test(self) -> bool:
        return self.request.Test()


def barrier(w: World | None = None) -> None:
    """Wait until every rank has reached this call (a no-op for one process).

    Examples:
        >>> from rulegrad import distributed as dist
        >>> dist.barrier()
    """
    w = w or world()
    if w.size > 1:
        wait([_Request(w.comm.Ibarrier())], "barrier", w)


def main_prints(w: World | None = None) -> World:
    """Silence standard output on every rank but 0, so a script's prints and progress bars
    show once (errors still go to each rank's standard error). Returns the World.

    Examples:
        >>> from rulegrad import distributed as dist
        >>> dist.main_prints().main  # rank 0 of one process: output untouched
        True
    """
    w = w or world()
    if not w.main:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (for the life of the process)
    return w
