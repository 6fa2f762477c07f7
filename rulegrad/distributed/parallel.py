"""Data-parallel training: `broadcast`, `allreduce`, `shard`, and `DataParallel`, which
reduces gradients during the backward walk (PyTorch DDP's scheme, on rulegrad's tape).

`DataParallel` groups the model's Params, last layer first, into buckets of about
``bucket_mb`` megabytes (one array type and dtype each). While it is active (``with dp:``),
the backward walk hands it each Param's gradient as soon as the walk has finished it (the
core's `GRAD_HOOK`); it copies the gradient into its bucket's flat buffer, and starts a
non-blocking allreduce of the bucket once all its Params are in, buckets strictly in order
so every rank starts the same collectives in the same order. The walk's end starts what is
left and waits; ``rg.grad(J, p)`` then returns the reduced gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.box import Box, Param
from ..core.diff import GRAD_HOOK, params
from .comm import OPS, communicator
from .world import BroadcastMismatchError, DistributedError, World, _Request, wait, world

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
        if not isinstance(p.value, type(old)) or np.ndim(p.value) == 0:
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


class _Grad:
    """A reduced gradient where `rg.grad` reads a leaf's: ``entry[1].grad``."""

    __slots__ = ("grad",)

    def __init__(self, grad: Any) -> None:
        self.grad = grad


class DataParallel:
    """Reduce the gradients of ``model``'s Params across ranks during the backward walk.

    Makes the ranks' models equal (`broadcast`, unless ``broadcast=False``); then, inside
    ``with dp:``, every backward walk reduces the gradients of these Params (the mean over
    ranks, or the row-weighted mean after `DataParallel.shard`), overlapping the
    communication with the rest of the walk. One process: nothing is reduced.

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
        self.params = broadcast_or_find(model, broadcast, self.world)
        self.bucket_bytes = max(1, int(bucket_mb * 2**20))
        self._index = {id(p): i for i, p in enumerate(self.params)}
        self._weight = 1.0 / self.world.size  # this rank's share of the mean
        self._layout: list | None = None  # per Param: (bucket, offset, size, shape)
        self._tape: Any = None
        self._tokens: list = []
        #: seconds spent waiting for the reductions at the end of walks (for benchmarks)
        self.waited = 0.0

    # ---- the step's data ----
    def shard(self, *arrays: Any) -> Any:
        """This rank's rows of a global batch (every rank passes the same one); the next
        walks weigh this rank's gradient by its share of the rows, so uneven parts give the
        gradient of the mean loss over the whole batch (a loss that is a mean over rows)."""
        whole = len(arrays[0])
        start, stop = _part(whole, self.world)
        self._weight = (stop - start) / whole if whole else 1.0 / self.world.size
        got = tuple(a[start:stop] for a in arrays)
        return got if len(got) > 1 else got[0]

    # ---- activation ----
    def __enter__(self) -> DataParallel:
        if self.world.size > 1:
            self._tokens.append(GRAD_HOOK.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._tokens:
            GRAD_HOOK.reset(self._tokens.pop())

    # ---- buckets ----
    def _plan(self) -> None:
        """Cut the Params, last first (the order the walk finishes them), into buckets."""
        layout: list = [None] * len(self.params)
        self._buckets: list[list[Any]] = []  # per bucket: [type, dtype, size, template]
        size = 0
        for i in reversed(range(len(self.params))):
            v = self.params[i].value
            v = v if hasattr(v, "dtype") else np.asarray(v)
            key = (type(v), np.dtype(v.dtype))
            last = self._buckets[-1] if self._buckets else None
            if last is None or last[0] != key or size + v.nbytes > self.bucket_bytes and size:
                self._buckets.append([key, 0, v])
                size = 0
            b = self._buckets[-1]
            layout[i] = (len(self._buckets) - 1, b[1], v.size, v.shape)
            b[1] += v.size
            size += v.nbytes
        self._layout = layout

    def _start(self, tape: Any) -> None:
        if self._layout is None:
            self._plan()
        self._tape = tape
        #: id(leaf node) -> index of its Param; and index -> the leaf (its `grad` is read)
        self._slot = {id(n): self._index[id(p)] for p, n in tape.leaves.values()
                      if id(p) in self._index}  # fmt: skip
        self._nodes = {self._index[id(p)]: n for p, n in tape.leaves.values()
                       if id(p) in self._index}  # fmt: skip
        nb = len(self._buckets)
        self._bufs: list[Any] = [None] * nb
        self._left = [0] * nb
        for i in self._slot.values():
            self._left[self._layout[i][0]] += 1
        self._filled = set()
        self._next = 0
        self._handles: list = []

    def _buffer(self, b: int) -> Any:
        if self._bufs[b] is None:
            _, n, like = self._buckets[b]
            self._bufs[b] = np.zeros_like(like, shape=(n,))  # zero: Params not on the tape
        return self._bufs[b]

    def _launch(self) -> None:
        """Start the allreduce of each bucket whose Params are all in, in bucket order."""
        while self._next < len(self._buckets) and self._left[self._next] <= 0:
            buf = self._buffer(self._next)
            self._handles.append(communicator(buf, self.world).iallreduce(buf, "sum"))
            self._next += 1

    # ---- the core's gradient hook ----
    def leaf(self, tape: Any, node: Any) -> None:
        """The walk has finished ``node``'s gradient: put it in its bucket."""
        if tape is not self._tape:
            self._start(tape)
        i = self._slot.get(id(node))
        if i is None or node.grad is None:
            return
        g = node.grad
        if isinstance(g, Box):
            raise DistributedError(
                "DataParallel reduces plain gradients, but this walk's gradient of "
                f"{self.params[i]!r} is recorded (higher order): reduce it with "
                "dist.allreduce outside the DataParallel context"
            )
        b, at, n, shape = self._layout[i]
        np.multiply(g, self._weight, out=self._buffer(b)[at : at + n].reshape(shape))
        self._filled.add(i)
        self._left[b] -= 1
        if self._left[b] == 0 and b == self._next:
            self._launch()
        for h in self._handles:  # MPI progresses the started reductions inside its calls
            h.test()

    def done(self, tape: Any) -> None:
        """The walk is over: start the rest (zeros for Params it gave no gradient), wait,
        and leave each Param's reduced gradient where `rg.grad` reads it."""
        if tape is not self._tape:
            self._start(tape)
        if not self._slot:
            self._tape = None
            return
        self._left = [0] * len(self._left)  # (a Param given no gradient is a zero)
        self._launch()
        self._wait()
        for i, node in self._nodes.items():
            node.grad = self._reduced(i)
        self._tape = None

    def _wait(self) -> None:
        import time

        t = time.perf_counter()
        wait(self._handles, f"the gradient allreduce ({len(self._handles)} buckets)", self.world)
        self.waited += time.perf_counter() - t

    def _reduced(self, i: int) -> Any:
        b, at, n, shape = self._layout[i]
        return self._bufs[b][at : at + n].reshape(shape)

    def replayed(self, result: Any) -> Any:
        """Reduce the gradients of a replayed `rg.jit` result (computed without a walk):
        all buckets at once, after the replay."""
        tape = result.tape
        self._start(tape)
        for i, entry in self._nodes.items():
            if entry.grad is not None:
                b, at, n, shape = self._layout[i]
                np.multiply(
                    entry.grad, self._weight, out=self._buffer(b)[at : at + n].reshape(shape)
                )
        if self._nodes:
            self._left = [0] * len(self._left)
            self._launch()
            self._wait()
            for key, (p, _) in list(tape.leaves.items()):
                if id(p) in self._index:
                    tape.leaves[key] = (p, _Grad(self._reduced(self._index[id(p)])))
        self._tape = None
        return result


def broadcast_or_find(model: Any, bcast: bool, w: World) -> list[Param]:
    """The Params of ``model``, first broadcast from rank 0 if ``bcast``."""
    return broadcast(model, w=w) if bcast else params(model)
