"""Data-parallel training: `broadcast`, `allreduce`, `shard`, and `DataParallel`, which
reduces gradients during the backward walk (PyTorch DDP's scheme, on rulegrad's tape).

`DataParallel` groups the model's Params, last layer first, into buckets of about
``bucket_mb`` megabytes (one array type and dtype each). While it is active (``with dp:``),
the backward walk hands it each Param's gradient as soon as the walk has finished it (the
core's `GRAD_HOOK`); it copies the gradient into its bucket's flat buffer, and starts a
non-blocking allreduce of the bucket once all its Params are in, buckets strictly in order
so every rank starts the same collectives in the same order. The walk's end starts what is
left; ``rg.grad(J, p)`` waits for ``p``'s bucket and returns the reduced gradient. An
`rg.jit` replay does the same through `DataParallel.begin_replay`: its generated code hands
each Param's gradient over right after the last step adding to it.

Each Param's values in its bucket are followed by a flag, 1 where this rank gave it a
gradient, summed with them: so every rank answers ``rg.grad(J, p)`` alike for every Param of
the model, also for one its own step never touched (a data-dependent branch): the average,
zeros counting for the ranks without a gradient, or None when no rank had one.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..core.box import Box, Param
from ..core.diff import GRAD_HOOK, params
from .comm import OPS, communicator
from .job import BroadcastMismatchError, DistributedError, World, _Request, wait, world

__all__ = ["broadcast", "allreduce", "shard", "DataParallel"]


def _leaves(x: Any, out: list) -> Any:
    """``x``'s structure (lists, tuples, dicts) with each array replaced by its index in
    ``out``, where the array is appended."""
    if isinstance(x, (list, tuple)):
        return type(x)(_leaves(v, out) for v in x)
    if isinstance(x, dict):
        return {k: _leaves(v, out) for k, v in x.items()}
    out.append(x.value if isinstance(x, Param) else x)
    return len(out) - 1


def _rebuild(shape: Any, arrays: list) -> Any:
    if isinstance(shape, (list, tuple)):
        return type(shape)(_rebuild(v, arrays) for v in shape)
    if isinstance(shape, dict):
        return {k: _rebuild(v, arrays) for k, v in shape.items()}
    return arrays[shape]


def _groups(arrays: list) -> dict[tuple, list[int]]:
    """The indices of ``arrays`` by (array type, dtype): one flat buffer each."""
    groups: dict[tuple, list[int]] = {}
    for i, a in enumerate(arrays):
        groups.setdefault((type(a), np.dtype(a.dtype)), []).append(i)
    return groups


def _fuse(arrays: list, idx: list[int]) -> Any:
    return np.concatenate([arrays[i].reshape(-1) for i in idx])


def _split(flat: Any, arrays: list, idx: list[int], out: list) -> None:
    at = 0
    for i in idx:
        n = int(np.size(arrays[i]))
        out[i] = flat[at : at + n].reshape(np.shape(arrays[i]))
        at += n


def allreduce(grads: Any, op: str = "mean", *, w: World | None = None) -> Any:
    """Reduce arrays across ranks: the ``op`` (``"mean"``, ``"sum"``, ``"max"``, ``"min"``)
    over all ranks of each array, as new arrays in the same structure.

    ``grads`` is an array or a list, tuple or dict of them (nested); arrays of one type
    and dtype travel in one fused buffer, one message per group.

    Examples:
        >>> from rulegrad import distributed as dist
        >>> dist.allreduce({"w": np.ones(2), "b": [np.zeros(1)]})  # one process: the same
        {'w': array([1., 1.]), 'b': [array([0.])]}
    """
    if op not in OPS:
        raise DistributedError(f"allreduce: op must be one of {OPS}, got {op!r}")
    w = w or world()
    arrays: list = []
    shape = _leaves(grads, arrays)
    for i, a in enumerate(arrays):
        if not hasattr(a, "dtype") or not hasattr(a, "shape"):
            a = arrays[i] = np.asarray(a)
        if isinstance(a, Box):
            raise DistributedError(f"allreduce: array {i} is a recorded value: pass plain arrays")
    out = [a.copy() for a in arrays] if w.size == 1 else list(arrays)
    if w.size > 1:
        handles, flats = [], []
        for idx in _groups(arrays).values():
            flat = _fuse(arrays, idx)
            handles.append(communicator(flat, w).iallreduce(flat, "sum" if op == "mean" else op))
            flats.append((flat, idx))
        wait(handles, f"allreduce of {len(arrays)} array(s)", w)
        for flat, idx in flats:
            if op == "mean":
                flat /= w.size
            _split(flat, arrays, idx, out)
    return _rebuild(shape, out)


def _describe(ps: list[Param]) -> list[tuple]:
    return [(tuple(np.shape(p.value)), str(np.result_type(p.value)), type(p.value).__name__)
            for p in ps]  # fmt: skip


def _mismatch(mine: list[list[tuple]], root: int) -> str | None:
    """What differs between the ranks' Param descriptions, or None."""
    ref = mine[root]
    for r, d in enumerate(mine):
        if len(d) != len(ref):
            return (
                f"rank {r}'s model has {len(d)} Params but rank {root}'s has {len(ref)}: every "
                "rank must build the same model (same layers, same sizes) before training"
            )
        for i, (a, b) in enumerate(zip(d, ref)):
            if a != b:
                return (
                    f"Param {i} (in rg.params order) is a {a[2]} of shape {a[0]} and dtype "
                    f"{a[1]} on rank {r} but a {b[2]} of shape {b[0]} and dtype {b[1]} on rank "
                    f"{root}: every rank must build the same model (same layers, same sizes)"
                )
    return None


def broadcast(model: Any, root: int = 0, *, w: World | None = None) -> list[Param]:
    """Give every Param of ``model`` (found as `rg.params` finds them) rank ``root``'s
    value, so all ranks start from the same model; returns the Params.

    First checks that every rank's model has the same number of Params with the same
    shapes, dtypes and array types, raising `BroadcastMismatchError` on every rank if not.

    Examples:
        >>> import rulegrad as rg
        >>> from rulegrad import distributed as dist
        >>> model = [rg.Param(np.zeros((2, 3))), rg.Param(np.zeros(3))]
        >>> [p.shape for p in dist.broadcast(model)]
        [(2, 3), (3,)]
    """
    w = w or world()
    ps = params(model)
    if w.size == 1:
        return ps
    wait([_Request(w.comm.Ibarrier())], "broadcast's check of the models", w)
    problem = _mismatch(w.comm.allgather(_describe(ps)), root)
    if problem is not None:
        raise BroadcastMismatchError(f"rank {w.rank}: broadcast(model): {problem}")
    values = [np.asarray(p.value) if np.ndim(p.value) == 0 else p.value for p in ps]
    handles, flats = [], []
    for idx in _groups(values).values():
        flat = _fuse(values, idx)
        handles.append(communicator(flat, w).ibcast(flat, root))
        flats.append((flat, idx))
    wait(handles, f"broadcast of {len(ps)} Params from rank {root}", w)
    out = list(values)
    for flat, idx in flats:
        _split(flat, values, idx, out)
    for p, new, old in zip(ps, out, values):
        if not isinstance(p.value, type(old)):  # a number (an np.float64): one again
            p.value = new[()]
        else:
            p.value = new.copy()  # its own memory: a view of the flat buffer would share it
    return ps


def _part(n: int, w: World) -> tuple[int, int]:
    """This rank's rows ``[start, stop)`` of ``n``, as `np.array_split` cuts them."""
    q, r = divmod(n, w.size)
    start = w.rank * q + min(w.rank, r)
    return start, start + q + (w.rank < r)


def shard(data: Any, *, seed: int | None = None, epoch: int = 0, w: World | None = None) -> Any:
    """This rank's part of ``data`` for one epoch: rows along the first axis.

    ``data`` is a number of rows ``n`` (the rank's row indices are returned) or an array or
    tuple of arrays of the same length (their rows are returned). With a ``seed`` the rows
    are first shuffled by a permutation fixed by ``(seed, epoch)``: every rank computes the
    same one, so the ranks' parts cover every row once per epoch. Parts differ by at most
    one row when the ranks do not divide ``n`` (`np.array_split`).

    Examples:
        >>> from rulegrad import distributed as dist
        >>> dist.shard(5)  # one process: every row, in order
        array([0, 1, 2, 3, 4])
        >>> x, y = dist.shard((np.arange(4), np.arange(4) * 10), seed=1, epoch=0)
        >>> bool((y == 10 * x).all()), sorted(x.tolist())
        (True, [0, 1, 2, 3])
    """
    w = w or world()
    arrays = data if isinstance(data, tuple) else None if isinstance(data, int) else (data,)
    n = int(data) if arrays is None else len(arrays[0])
    if arrays is not None and any(len(a) != n for a in arrays):
        raise DistributedError(
            f"shard: the arrays have {[len(a) for a in arrays]} rows; give arrays of one length"
        )
    order = np.arange(n) if seed is None else np.random.default_rng([seed, epoch]).permutation(n)
    start, stop = _part(n, w)
    rows = order[start:stop]
    if arrays is None:
        return rows
    got = tuple(a[start:stop] if seed is None else a[rows] for a in arrays)
    return got if isinstance(data, tuple) else got[0]


class DataParallel:
    """Reduce the gradients of ``model``'s Params across ranks during the backward walk.

    Makes the ranks' models equal (`broadcast`, unless ``broadcast=False``); then, inside
    ``with dp:``, every backward walk (and every `rg.jit` replay) reduces the gradients of
    these Params (the mean over ranks, or the row-weighted mean after
    `DataParallel.shard`), overlapping the communication with the rest of the walk
    (`DataParallel.overlapped` tells how much); ``rg.grad(J, p)`` waits for ``p``'s bucket
    only. Every rank gets the same gradient of every Param of the model, also of one only
    some ranks' steps touched (zeros counting for the others); None on every rank if no
    rank's step gave it a gradient. One process: nothing is reduced.

    Args:
        model: anything `rg.params` finds Params in.
        bucket_mb: megabytes per bucket (fused buffer, one allreduce each).
        broadcast: whether to give every rank rank 0's Params first.

    Examples:
        >>> import rulegrad as rg
        >>> from rulegrad import distributed as dist
        >>> w = rg.Param(np.array([1.0, 2.0]))
        >>> with dist.DataParallel([w]) as dp:
        ...     x = dp.shard(np.array([[1.0, 1.0], [2.0, 2.0]]))
        ...     J = rg.diff(lambda: np.sum(x @ w) / len(x))
        ...     rg.grad(J, w)
        array([1.5, 1.5])
    """

    def __init__(
        self, model: Any, *, bucket_mb: float = 25.0, broadcast: bool = True,
        w: World | None = None,
    ) -> None:  # fmt: skip
        self.world = w or world()
        self.params = _broadcast_or_find(model, broadcast, self.world)
        self.bucket_bytes = max(1, int(bucket_mb * 2**20))
        self.index = {id(p): i for i, p in enumerate(self.params)}
        self.weight = 1.0 / self.world.size  # this rank's share of the mean
        #: per Param: (bucket, offset, size, shape), its flag at offset + size (`_Walk.put`);
        #: per bucket: [(type, dtype), size, like]
        self.layout: list = []
        self.buckets: list[list[Any]] = []
        self._walk: _Walk | None = None
        self._tokens: list = []
        #: seconds spent waiting for reductions in `rg.grad` (for benchmarks)
        self.waited = 0.0

    def shard(self, *arrays: Any) -> Any:
        """This rank's rows of a global batch (every rank passes the same one); the next
        walks weigh this rank's gradient by its share of the rows, so uneven parts give the
        gradient of the mean loss over the whole batch (a loss that is a mean over rows)."""
        if not arrays:
            raise DistributedError("dp.shard needs the batch's arrays: dp.shard(x, y)")
        whole = len(arrays[0])
        if any(len(a) != whole for a in arrays):
            raise DistributedError(
                f"dp.shard: the arrays have {[len(a) for a in arrays]} rows; a batch's arrays "
                "have one row per example: give arrays of one length"
            )
        start, stop = _part(whole, self.world)
        self.weight = (stop - start) / whole if whole else 1.0 / self.world.size
        got = tuple(a[start:stop] for a in arrays)
        return got if len(got) > 1 else got[0]

    def __enter__(self) -> DataParallel:
        return self.activate()

    def activate(self) -> DataParallel:
        """Reduce in this context from now on (what ``with dp:`` does, for a whole script)."""
        if self.world.size > 1:
            if GRAD_HOOK.get() not in (None, self):  # it would no longer reduce its Params
                raise DistributedError(
                    "another DataParallel is active here, and the walks hand their gradients "
                    "to one only: the other's Params would not be reduced. Make one "
                    "DataParallel of all the models, dist.DataParallel([model1, model2])"
                )
            self._tokens.append(GRAD_HOOK.set(self))
        return self

    def __exit__(self, kind: Any, *exc: Any) -> None:
        if self._tokens:
            GRAD_HOOK.reset(self._tokens.pop())
        if kind is None and self._walk is not None:
            self._walk.finish()  # the buckets no rg.grad waited for: none left in flight

    def _plan(self) -> None:
        """Cut the Params, last first (the order the walk finishes them), into buckets."""
        self.layout = [None] * len(self.params)
        size = 0
        for i in reversed(range(len(self.params))):
            v = self.params[i].value
            v = v if hasattr(v, "dtype") else np.asarray(v)
            key = (type(v), np.dtype(v.dtype))
            last = self.buckets[-1] if self.buckets else None
            if last is None or last[0] != key or size + v.nbytes > self.bucket_bytes and size:
                self.buckets.append([key, 0, v])
                size = 0
            b = self.buckets[-1]
            self.layout[i] = (len(self.buckets) - 1, b[1], v.size, v.shape)
            b[1] += v.size + 1  # its values, then its flag
            size += v.nbytes

    def _start(self, present: list[int | None]) -> _Walk:
        """A new walk, of the Params of these indices (None: not one of the model's)."""
        if not self.layout:
            self._plan()
        if self._walk is not None:
            self._walk.finish()  # the previous walk's buckets no rg.grad asked for
        self._walk = _Walk(self, present)
        return self._walk

    def _start_tape(self, tape: Any) -> _Walk:
        # index of a Param -> its leaf: a Node, or in a walk of a tape walked before (vjp's
        # pullback, called again) the Node of its `_Pending` (None: a Param the tape never read)
        index = self.index
        nodes = {}
        for p, e in tape.leaves.values():
            node = getattr(e, "node", e)
            if id(p) in index and node is not None:
                nodes[index[id(p)]] = node
        walk = self._start(list(nodes))
        walk.tape, walk.nodes = tape, nodes
        walk.slot = {id(n): i for i, n in nodes.items()}
        return walk

    @property
    def overlapped(self) -> int:
        """How many buckets of the latest backward pass (a walk, or an `rg.jit` replay)
        started their allreduce before the pass had finished its last gradient, so that
        their communication overlapped the computation: 0 when everything waited for the
        end (one bucket: give a smaller ``bucket_mb``)."""
        return 0 if self._walk is None else self._walk.early

    # ---- the core's gradient hook ----
    def leaf(self, tape: Any, node: Any) -> None:
        """The walk has finished ``node``'s gradient: put it in its bucket."""
        walk = self._walk
        if walk is None or tape is not walk.tape:
            walk = self._start_tape(tape)
        i = walk.slot.get(id(node))
        if i is not None and node.grad is not None:
            walk.put(i, node.grad)

    def done(self, tape: Any) -> None:
        """The walk is over: start the rest of the buckets, and leave each of the model's
        Params' gradients where `rg.grad` reads it, as a pending one that waits for its
        bucket (see `_Walk.close`)."""
        walk = self._walk
        if walk is None or tape is not walk.tape:
            walk = self._start_tape(tape)
        walk.close()

    def begin_replay(self, params: tuple[Param, ...]) -> _Walk:
        """An `rg.jit` replay has run its forward pass, reading these Params: the walk that
        its backward pass hands their gradients to, by position in ``params``
        (``walk.give(k, g)``), as each is finished; ``walk.close(tape)`` ends it."""
        index = self.index
        return self._start([index.get(id(p)) for p in params])


class _Walk:
    """The reductions of one backward walk (or replay): the buckets' buffers and their
    requests."""

    def __init__(self, dp: DataParallel, present: list[int | None]) -> None:
        self.dp, self.tape, self.order = dp, None, present
        self.nodes: dict[int, Any] = {}  # index of a Param -> its leaf (see `close`)
        self.slot: dict[int, int] = {}
        self.bufs: list[Any] = [None] * len(dp.buckets)
        self.left = [0] * len(dp.buckets)
        for i in present:
            if i is not None:
                self.left[dp.layout[i][0]] += 1
        self.handles: list[Any] = []
        self.reduced = 0  # the buckets waited for
        self.early = 0  # the buckets started before the last gradient was put

    def buffer(self, b: int) -> Any:
        if self.bufs[b] is None:
            _, n, like = self.dp.buckets[b]
            self.bufs[b] = np.zeros_like(like, shape=(n,))  # zero: Params given no gradient
        return self.bufs[b]

    def give(self, k: int, g: Any) -> None:
        """A replay has finished the gradient of its ``k``-th Param."""
        i = self.order[k]
        if i is not None:
            self.put(i, g)

    def put(self, i: int, g: Any) -> None:
        """Copy Param ``i``'s gradient, weighted, into its bucket and set its flag (the
        reduction sums the flags: how many ranks gave it a gradient); start the buckets that
        are complete, in order."""
        if isinstance(g, Box):
            raise DistributedError(
                "DataParallel reduces plain gradients, but this walk's gradient of "
                f"{self.dp.params[i]!r} is recorded (higher order): reduce it with "
                "dist.allreduce outside the DataParallel context"
            )
        self.early = len(self.handles)
        b, at, n, shape = self.dp.layout[i]
        buf = self.buffer(b)
        np.multiply(g, self.dp.weight, out=buf[at : at + n].reshape(shape))
        buf[at + n] = 1
        self.left[b] -= 1
        if self.left[b] == 0 and b == len(self.handles):
            self.launch()
        for h in self.handles[self.reduced :]:  # MPI moves started reductions on in its calls
            h.test()

    def launch(self) -> None:
        """Start the allreduce of each next bucket whose Params are all in."""
        while len(self.handles) < len(self.bufs) and self.left[len(self.handles)] <= 0:
            buf = self.buffer(len(self.handles))
            self.handles.append(communicator(buf, self.dp.world).iallreduce(buf, "sum"))

    def close(self, tape: Any = None) -> None:
        """Start every bucket left; every Param of the model gets a pending gradient in the
        tape's leaves, where `rg.grad` reads it: those this walk reached in place of their
        leaf, and the others too, since another rank's step may have touched them (their
        gradient is then the others' average, and None where no rank gave one). A walk that
        reached none of the model's Params starts nothing and changes nothing. A replay
        passes its ``tape``, whose leaves its Params' gradients are (in `begin_replay`'s
        order)."""
        if tape is not None:
            self.tape = tape
            self.nodes = {i: leaf for i, (_, leaf) in zip(self.order, tape.leaves.values())
                          if i is not None}  # fmt: skip
        if not self.nodes:
            return
        self.left = [0] * len(self.left)
        self.launch()
        leaves, nodes = self.tape.leaves, self.nodes
        for i, p in enumerate(self.dp.params):
            leaves[id(p)] = (p, _Pending(self, i, nodes.get(i)))

    def wait(self, b: int) -> None:
        """Wait until bucket ``b`` (and those before it) is reduced."""
        if b >= self.reduced:
            t = time.perf_counter()
            what = f"the gradient allreduce (bucket {b + 1} of {len(self.bufs)})"
            wait(self.handles[self.reduced : b + 1], what, self.dp.world)
            self.reduced = b + 1
            self.dp.waited += time.perf_counter() - t

    def finish(self) -> None:
        if self.handles:
            self.wait(len(self.handles) - 1)


class _Pending:
    """A Param's gradient being reduced, where `rg.grad` reads a leaf's: ``.grad`` waits
    for its bucket, then is the reduced gradient, or None if no rank gave one. ``node`` is
    the leaf it replaces (None: a Param this rank's tape never read)."""

    __slots__ = ("walk", "index", "node")

    def __init__(self, walk: _Walk, index: int, node: Any) -> None:
        self.walk, self.index, self.node = walk, index, node

    @property
    def grad(self) -> Any:
        b, at, n, shape = self.walk.dp.layout[self.index]
        self.walk.wait(b)
        buf = self.walk.bufs[b]
        return buf[at : at + n].reshape(shape) if buf[at + n] else None


def _broadcast_or_find(model: Any, bcast: bool, w: World) -> list[Param]:
    """The Params of ``model``, first broadcast from rank 0 if ``bcast``."""
    return broadcast(model, w=w) if bcast else params(model)
