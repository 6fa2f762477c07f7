"""The record of what ran: `Node`, `Tape`, and the context variable holding the active tapes.

A tape is a list of nodes in the order their primitives ran, so walking it backwards
visits every node after all the nodes that consumed its output. Tapes nest: each has a
``level`` from a global counter, and a value tracked on several tapes is a box inside a
box, the outermost on the newest tape (HIPS autograd's trace ids, AutoGrad.jl's nested
``Result``). A backward pass whose rules run on values of an outer tape records there,
which is all higher-order differentiation needs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

from .errors import TraceEscape

__all__ = ["Node", "Tape", "active_tapes", "first_use", "on_first_use"]

#: The tapes recording in this thread/context, outermost first.
_ACTIVE: ContextVar[tuple[Tape, ...]] = ContextVar("rulegrad_active_tapes", default=())
_LEVELS = itertools.count(1)

#: Arrays made read-only while some tape needs them: id -> [array, number of tapes].
_LOCKS: dict[int, list] = {}


#: Run once, in order, before the first tape records and before a tracked value is said to
#: have no rule (`on_first_use` adds one): `rulegrad.plugins` adds its loader, so installed
#: plugins are active from the first call whatever it is, and the core imports no plugin.
_FIRST_USE: list[Callable[[], None]] = []
_first = {"done": True, "running": False}
#: Held while the callbacks run; `rulegrad.plugins` loads under it too, so that a thread
#: loading plugins and one needing them wait for each other in one order.
FIRST_USE_LOCK = threading.RLock()


def on_first_use(callback: Callable[[], None]) -> None:
    """Have ``callback()`` run before the next tape records (once, unless it raises)."""
    with FIRST_USE_LOCK:
        if callback not in _FIRST_USE:
            _FIRST_USE.append(callback)
        _first["done"] = False


def first_use() -> None:
    """Run the `on_first_use` callbacks if they have not all run yet; a raise is retried.

    A tape made by a callback itself does not run them again; other threads wait for them.
    """
    with FIRST_USE_LOCK:
        if _first["done"] or _first["running"]:
            return
        _first["running"] = True
        try:
            for callback in list(_FIRST_USE):
                callback()
            _first["done"] = True
        finally:
            _first["running"] = False


def active_tapes() -> tuple[Tape, ...]:
    """The tapes recording in the current context, outermost first."""
    return _ACTIVE.get()


class Node:
    """One recorded primitive call, or a leaf (a Param or an input) when ``method`` is None.

    ``args`` and ``y`` are the arguments and output with one level of boxing removed;
    ``parents`` lists ``(argnum, node, output index)`` for each tracked argument; ``grad``
    accumulates the gradient of the output during the backward walk. On a forward tape
    (`rulegrad.core.forward`) ``tangent`` holds the output's tangent (None: zero).
    """

    __slots__ = ("method", "args", "kwargs", "y", "parents", "grad", "tangent")

    def __init__(self, method: Any, args: tuple, kwargs: dict, y: Any, parents: Any) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs
        self.y = y
        self.parents = parents
        self.grad: Any = None


def _release_locks(ids: list[int]) -> None:
    # Newest first: a view locked after its base must be writeable again before the base
    # is, since numpy refuses a writeable view of a read-only base.
    for key in reversed(ids):
        entry = _LOCKS.get(key)
        if entry is None:
            continue
        if entry[1] > 1:
            entry[1] -= 1
            continue
        del _LOCKS[key]
        # A view whose base an outer tape still holds read-only stays read-only. (try, not
        # contextlib.suppress: this runs for every locked array of every tape.)
        try:  # noqa: SIM105
            entry[0].setflags(write=True)
        except ValueError:
            pass


class Tape:
    """The nodes recorded by one `diff` (or one call of a gradient function).

    Arrays from outside the tape that a node keeps for its backward pass are made
    read-only until the tape lets go of them (after the backward walk, or when the tape
    is garbage collected), so an in-place write cannot silently corrupt a gradient.
    """

    __slots__ = (
        "level", "nodes", "leaves", "recording", "tracing", "reads", "done", "seen", "seed",
        "error", "_locked", "__weakref__",
    )  # fmt: skip

    def __init__(self) -> None:
        self.level = next(_LEVELS)
        self.nodes: list[Node] = []
        #: id(Param) -> (Param, leaf Node) for the Params touched while recording.
        self.leaves: dict[int, tuple[Any, Node]] = {}
        self.recording = True
        #: recording for `jit`: plain data taken from a value raises `TraceEscape`, and
        #: zero-gradient functions are recorded (forward only) so a replay recomputes them
        self.tracing = False
        #: while tracing, the metadata reads of recorded values: (node, output index, what
        #: was read: "shape", "ndim" or "size"), each checked again by a replay
        self.reads: list[tuple[Node, int, str]] = []
        self.done = False
        self.seen: set[int] = set()
        self.seed: Any = None  #: the output gradient the backward walk started from
        self.error: str | None = None  #: why the backward walk failed, if it did
        self._locked: list[int] = []
        if not _first["done"]:
            first_use()  # (last: a tape whose first use raised is dropped whole)

    def __del__(self, _release: Any = _release_locks) -> None:
        # A dropped tape unlocks what it still holds (a __del__ costs nothing per tape, where
        # a weakref.finalize costs a registration; the default argument survives shutdown).
        if self._locked:
            _release(self._locked)

    def lock(self, a: np.ndarray) -> None:
        """Make ``a`` read-only until this tape is done with it (if it is writeable now).

        Callers test ``id(a) in tape.seen`` first, so each array costs one set lookup
        per use after the first. The arrays a view looks into are locked with it.
        """
        key = id(a)
        self.seen.add(key)
        entry = _LOCKS.get(key)
        if entry is not None and entry[0] is a:
            entry[1] += 1
            self._locked.append(key)
        elif a.flags.writeable:
            a.setflags(write=False)  # (setflags is cheaper than assigning to a.flags)
            _LOCKS[key] = [a, 1]
            self._locked.append(key)
        base = a.base  # a view: writing through the array it views would change it too
        if isinstance(base, np.ndarray) and id(base) not in self.seen:  # (a memmap's too)
            self.lock(base)

    def escape(self, why: str) -> None:
        """Stop tracing (the recording can no longer be replayed) and raise `TraceEscape`.

        Tracing stays off even if the function catches the exception, so `jit` still
        sees that this recording escaped."""
        self.tracing = False
        raise TraceEscape(why)

    def release(self) -> None:
        """Let go of recorded arrays and their write protection; keep leaf gradients."""
        _release_locks(self._locked)
        self._locked.clear()
        self.seen.clear()
        self.nodes = []
        self.reads = []
        self.done = True

    def __len__(self) -> int:
        return len(self.nodes)
