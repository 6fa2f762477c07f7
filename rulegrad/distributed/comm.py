"""How arrays of each type are reduced and broadcast across ranks: a `Communicator` per
array library, chosen by multiple dispatch on the array type (`communicator`).

numpy arrays go through MPI (mpi4py's non-blocking ``Iallreduce``/``Ibcast`` on the buffer
itself); cupy arrays through NCCL (``cupy.cuda.nccl``, its communicator set up from the MPI
ranks), enqueued on the current stream. Another array library adds its own method::

    @dist.communicator.dispatch
    def communicator(x: MyArray, w: dist.World) -> dist.Communicator:
        return MyCommunicator.of(w)

A communicator's operations are non-blocking: each returns a handle whose ``test()`` says
whether it is complete (`rulegrad.distributed.wait` polls them with a timeout).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plum

from .job import DistributedError, World, _Request

__all__ = ["Communicator", "MPICommunicator", "NCCLCommunicator", "communicator", "OPS"]

#: The reductions every communicator offers.
OPS = ("sum", "mean", "max", "min")

_dispatch = plum.Dispatcher()


class Communicator:
    """Non-blocking collectives on contiguous 1-d buffers of one array library.

    Subclass it for another library: ``iallreduce`` (in place; ``op`` one of ``"sum"``,
    ``"max"``, ``"min"``: a mean is a sum divided afterwards) and ``ibcast`` (in place, from
    ``root``), each returning a handle with ``test() -> bool``.
    """

    def iallreduce(self, buf: Any, op: str) -> Any:
        raise NotImplementedError

    def ibcast(self, buf: Any, root: int) -> Any:
        raise NotImplementedError


class MPICommunicator(Communicator):
    """MPI through mpi4py, for arrays MPI can read (numpy; cupy with a CUDA-aware MPI)."""

    _of: dict[int, MPICommunicator] = {}

    def __init__(self, w: World) -> None:
        from mpi4py import MPI

        self.comm, self.ops = w.comm, {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self.in_place = MPI.IN_PLACE

    @classmethod
    def of(cls, w: World) -> MPICommunicator:
        """The communicator of World ``w`` (made once)."""
        if id(w) not in cls._of:
            cls._of[id(w)] = cls(w)
        return cls._of[id(w)]

    def iallreduce(self, buf: Any, op: str) -> _Request:
        return _Request(self.comm.Iallreduce(self.in_place, buf, op=self.ops[op]))

    def ibcast(self, buf: Any, root: int) -> _Request:
        return _Request(self.comm.Ibcast(buf, root=root))


class _Event:
    """A CUDA event recorded after an NCCL call, as a handle of `wait`."""

    __slots__ = ("event",)

    def __init__(self, event: Any) -> None:
        self.event = event

    def test(self) -> bool:
        return self.event.done


class NCCLCommunicator(Communicator):
    """NCCL through ``cupy.cuda.nccl``, for cupy arrays; one GPU per rank (the local rank's).

    The NCCL id is made on rank 0 and broadcast over MPI; the calls are enqueued on the
    current stream, and a handle is a CUDA event recorded after them.
    """

    _of: dict[int, NCCLCommunicator] = {}

    def __init__(self, w: World) -> None:
        import cupy
        from cupy.cuda import nccl

        if w.comm is None:
            raise DistributedError("NCCL needs the ranks of an MPI job: launch with mpiexec")
        self.cupy, self.nccl = cupy, nccl
        uid = nccl.get_unique_id() if w.rank == 0 else None
        uid = w.comm.bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(w.size, uid, w.rank)
        self.ops = {"sum": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}

    @classmethod
    def of(cls, w: World) -> NCCLCommunicator:
        """The communicator of World ``w`` (made once, on the first cupy array)."""
        if id(w) not in cls._of:
            cls._of[id(w)] = cls(w)
        return cls._of[id(w)]

    def _type(self, buf: Any) -> int:
        name = {"float16": "FLOAT16", "float32": "FLOAT32", "float64": "FLOAT64",
                "int32": "INT32", "int64": "INT64"}.get(buf.dtype.name)  # fmt: skip
        if name is None:
            raise DistributedError(f"NCCL cannot reduce {buf.dtype} arrays: cast to float32")
        return getattr(self.nccl, f"NCCL_{name}")

    def _done(self, stream: Any) -> _Event:
        event = self.cupy.cuda.Event(block=False, disable_timing=True)
        event.record(stream)
        return _Event(event)

    def iallreduce(self, buf: Any, op: str) -> _Event:
        stream = self.cupy.cuda.get_current_stream()
        ptr = buf.data.ptr
        self.comm.allReduce(ptr, ptr, buf.size, self._type(buf), self.ops[op], stream.ptr)
        return self._done(stream)

    def ibcast(self, buf: Any, root: int) -> _Event:
        stream = self.cupy.cuda.get_current_stream()
        self.comm.bcast(buf.data.ptr, buf.size, self._type(buf), root, stream.ptr)
        return self._done(stream)


@_dispatch
def communicator(x: np.ndarray, w: World) -> Communicator:
    """The communicator that reduces arrays of ``x``'s type in World ``w`` (numpy: MPI).

    Only asked for when ``w`` has several ranks."""
    return MPICommunicator.of(w)


@_dispatch
def communicator(x: object, w: World) -> Communicator:  # noqa: F811
    """Arrays of another type: cupy's through NCCL; any other is an error."""
    if type(x).__module__.split(".")[0] == "cupy":
        return NCCLCommunicator.of(w)
    raise DistributedError(
        f"rulegrad.distributed has no communicator for {type(x).__module__}."
        f"{type(x).__name__} arrays: register one with @dist.communicator.dispatch"
    )
