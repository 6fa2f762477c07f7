"""Where the time goes: time per primitive, forward and backward, and the tape's peak memory.

``with rg.profile() as p:`` wraps, for the length of the block, every registered method's
implementation and gradient rules (AutoGrad.jl's ``@timeit``-style timer output), and a few
of the engine's own steps, with timers. ``print(p)`` then shows a table: for each primitive
the calls and seconds spent running it forward and in its rules backward, the bytes its
outputs kept on tapes; and the engine's share (recording, the backward walk, broadcast
reduction, everything else in the differentiated function: Python code and dispatch, and
the replays of `rulegrad.jit`, shown when there were any).

Times are exclusive: a rule that calls another primitive (``untake`` inside getitem's rule)
is charged for its own work only. Each timed call costs about half a microsecond of
overhead, charged to its caller, so tiny arrays look slower under the profiler than without.
Not thread safe: profile one thread at a time.
"""

from __future__ import annotations

import importlib
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Profile", "Stat", "profile"]

_ACTIVE: list[Profile] = []


@dataclass
class Stat:
    """Counters for one primitive (or one engine step)."""

    calls: int = 0  #: forward calls (recorded or not)
    forward: float = 0.0  #: seconds in the implementation, exclusive
    rule_calls: int = 0  #: rule (or vjp) calls in backward passes
    backward: float = 0.0  #: seconds in the rules, exclusive
    recorded: int = 0  #: calls recorded on a tape
    nbytes: int = 0  #: bytes of the outputs recorded on tapes

    @property
    def total(self) -> float:
        """Forward plus backward seconds."""
        return self.forward + self.backward


class Profile:
    """The timings gathered by `profile`; ``str(p)`` or ``p.table()`` formats them.

    Attributes:
        stats: primitive name -> `Stat`, for the primitives that ran.
        engine: engine step -> `Stat` (``record``, ``backward walk``, ``unbroadcast``,
            ``diff body``, and ``jit replay``: a `rulegrad.jit` replay's own time).
        peak_bytes: the most bytes held at once by outputs recorded on live tapes.
        wall: seconds the ``with`` block took.
    """

    def __init__(self) -> None:
        self.stats: dict[str, Stat] = {}
        self.engine: dict[str, Stat] = {}
        self.peak_bytes = 0
        self.wall = 0.0
        self._live_bytes = 0
        self._tapes: dict[int, int] = {}  # id(tape) -> bytes it holds
        self._stack: list[float] = []  # child seconds of the timed calls in progress
        self._saved: list[tuple[Any, str, Any]] = []  # (object, attribute, original)
        self._by_method: dict[Any, Stat] = {}  # Method -> its primitive's Stat
        self._start = 0.0
        self.timer_cost = 0.0  # seconds a timed call adds to its caller (measured on entry)

    # ---- the context manager ----
    def __enter__(self) -> Profile:
        if _ACTIVE:
            raise RuntimeError("rg.profile() is already active; profiles do not nest")
        # by module name: the packages export functions named like these modules
        diff_module = importlib.import_module("rulegrad.core.diff")
        primitive_module = importlib.import_module("rulegrad.core.primitive")

        for prim in list(primitive_module.PRIMITIVES.values()):
            prim._cache.clear()
            for method in prim.methods:
                stat = self._by_method[method] = self.stats.setdefault(_label(method), Stat())
                self._patch(method, "impl", self._timed(method.impl, stat, forward=True))
                rules = tuple(
                    None if r is None else self._timed(r, stat, forward=False) for r in method.rules
                )
                self._patch(method, "rules", rules)
                if method.vjp is not None:
                    self._patch(method, "vjp", self._timed(method.vjp, stat, forward=False))
        engine = self.engine
        record = primitive_module._record
        self._patch(primitive_module, "_record", self._recorder(record))
        self._patch(diff_module, "_run", self._timed(diff_module._run, _at(engine, "diff body")))
        self._patch(diff_module, "backward", self._walker(diff_module.backward))
        unbroadcast = self._timed(diff_module.unbroadcast, _at(engine, "unbroadcast"), False)
        self._patch(diff_module, "unbroadcast", unbroadcast)
        program = importlib.import_module("rulegrad.jit")._Program  # rg.jit's replays
        self._patch(program, "run", self._timed(program.run, _at(engine, "jit replay")))
        self.timer_cost = _timer_cost(self)
        _ACTIVE.append(self)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall = time.perf_counter() - self._start
        for obj, name, original in reversed(self._saved):
            setattr(obj, name, original)
        self._saved.clear()
        self._by_method.clear()
        from .core.primitive import PRIMITIVES

        for prim in PRIMITIVES.values():
            prim._cache.clear()
        _ACTIVE.remove(self)
        self.stats = {k: s for k, s in self.stats.items() if s.calls or s.rule_calls}

    def _patch(self, obj: Any, name: str, new: Any) -> None:
        self._saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, new)

    # ---- timers ----
    def _timed(self, fn: Callable[..., Any], stat: Stat, forward: bool = True) -> Any:
        """``fn`` with its exclusive time and calls added to ``stat``."""
        stack = self._stack
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            stack.append(0.0)
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = clock() - start
                own = elapsed - stack.pop()
                if forward:
                    stat.calls += 1
                    stat.forward += own
                else:
                    stat.rule_calls += 1
                    stat.backward += own
                if stack:
                    stack[-1] += elapsed

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    def _recorder(self, record: Callable[..., Any]) -> Any:
        """The core's ``_record`` with its own time and the bytes it puts on tapes counted."""
        timed = self._timed(record, _at(self.engine, "record"))

        stack, clock = self._stack, time.perf_counter

        def recorded(prim: Any, tape: Any, args: tuple, kwargs: dict) -> Any:
            n = len(tape.nodes)
            out = timed(prim, tape, args, kwargs)
            start = clock()
            if len(tape.nodes) > n:
                node = tape.nodes[-1]
                outputs = node.y if isinstance(node.y, tuple) else (node.y,)
                nbytes = sum(_nbytes(v) for v in outputs)
                stat = self._by_method.get(node.method)
                if stat is not None:
                    stat.recorded += 1
                    stat.nbytes += nbytes
                self._hold(tape, nbytes)
            if stack:  # this bookkeeping is the profiler's, not the caller's
                stack[-1] += clock() - start
            return out

        return recorded

    def _walker(self, backward: Callable[..., Any]) -> Any:
        """The core's ``backward`` timed, letting go of a tape's bytes once it is released."""
        timed = self._timed(backward, _at(self.engine, "backward walk"), False)

        def walk(tape: Any, seeds: list, release: bool = True) -> None:
            timed(tape, seeds, release)
            if tape.done:
                self._drop(id(tape))

        return walk

    # ---- tape memory ----
    def _hold(self, tape: Any, nbytes: int) -> None:
        key = id(tape)
        if key not in self._tapes:
            self._tapes[key] = 0
            weakref.finalize(tape, self._drop, key)
        self._tapes[key] += nbytes
        self._live_bytes += nbytes
        self.peak_bytes = max(self.peak_bytes, self._live_bytes)

    def _drop(self, key: int) -> None:
        self._live_bytes -= self._tapes.pop(key, 0)

    # ---- reports ----
    def table(self, sort: str = "total", limit: int | None = None) -> str:
        """The timings as a text table, slowest first.

        Args:
            sort: ``"total"``, ``"forward"``, ``"backward"`` or ``"calls"``.
            limit: show only this many primitives.

        Returns:
            The table, one primitive a line, then the engine's rows and a total.
        """
        if sort not in ("total", "forward", "backward", "calls"):
            raise ValueError(f"sort must be total, forward, backward or calls, not {sort!r}")
        rows = sorted(self.stats.items(), key=lambda kv: -getattr(kv[1], sort))[:limit]
        prim_time = sum(s.total for s in self.stats.values())
        engine_time = sum(s.total for s in self.engine.values())
        wall = self.wall or prim_time + engine_time
        head = (
            f"{'primitive':<28}{'calls':>8}{'forward ms':>12}{'us/call':>9}"
            f"{'rules':>8}{'backward ms':>13}{'us/call':>9}{'%':>6}{'taped MB':>10}"
        )
        timed_calls = sum(
            s.calls + s.rule_calls for s in (*self.stats.values(), *self.engine.values())
        )
        lines = [
            f"rulegrad profile: {wall:.3f} s; primitives {prim_time:.3f} s, engine "
            f"{engine_time:.3f} s; peak tape memory {self.peak_bytes / 2**20:.1f} MB",
            f"(the timers added about {self.timer_cost * 1e6:.2f} us to each of {timed_calls} "
            f"calls, {self.timer_cost * timed_calls * 1e3:.1f} ms, counted in their callers' time)",
            head,
            "-" * len(head),
        ]
        for name, s in rows:
            lines.append(_row(name, s, wall))
        lines.append("-" * len(head))
        for name in ("diff body", "record", "backward walk", "unbroadcast", "jit replay"):
            if name in self.engine and (name != "jit replay" or self.engine[name].calls):
                lines.append(_row(f"(engine) {name}", self.engine[name], wall))
        rest = wall - prim_time - engine_time
        if self.wall and rest > 0:
            label = "(rest: setup, outside diff)"  # Tape(), grad's dispatch, the caller's code
            lines.append(f"{label:<28}{rest * 1e3:>20.2f}{100 * rest / wall:>53.1f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"<Profile of {len(self.stats)} primitives, {self.wall:.3f} s, "
            f"peak tape memory {self.peak_bytes} bytes>"
        )


def profile() -> Profile:
    """Time every primitive, forward and backward, inside a ``with`` block.

    Returns:
        A `Profile`, filled when the block ends; print it for the table.

    Examples:
        >>> import numpy as np
        >>> import rulegrad as rg
        >>> from rulegrad.profile import profile  # also rg.profile
        >>> w = rg.Param(np.ones((100, 100)))
        >>> with profile() as p:
        ...     J = rg.diff(lambda: np.sum(np.tanh(w @ w)))
        ...     g = rg.grad(J, w)
        >>> s = p.stats["np.matmul"]
        >>> s.calls, s.rule_calls, s.nbytes
        (1, 2, 80000)
        >>> p.peak_bytes  # matmul's, tanh's and sum's outputs
        160008
        >>> print(p)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        rulegrad profile: ... s; primitives ... s, engine ... s; peak tape memory 0.2 MB
        (the timers added about ... us to each of ... calls, ... ms, counted in their callers' time)
        primitive   calls  forward ms  us/call   rules  backward ms  us/call     %  taped MB
        ...
        np.matmul       1 ...
    """
    return Profile()


def _timer_cost(p: Profile, n: int = 2000) -> float:
    """Seconds one timed call of a no-op costs beyond the no-op itself (the timers' overhead)."""

    def noop() -> None:
        return None

    timed = p._timed(noop, Stat())
    p._stack.append(0.0)
    start = time.perf_counter()
    for _ in range(n):
        timed()
    total = time.perf_counter() - start
    p._stack.pop()
    start = time.perf_counter()
    for _ in range(n):
        noop()
    return max(total - (time.perf_counter() - start), 0.0) / n


def _at(table: dict[str, Stat], name: str) -> Stat:
    return table.setdefault(name, Stat())


def _label(method: Any) -> str:
    """A method's name: the primitive's, plus the types for a typed method."""
    types = method.types
    if all(t is object for t in types):
        return method.name
    return repr(method)


def _nbytes(v: Any) -> int:
    from .core import plain

    return int(getattr(plain(v), "nbytes", 0))  # (v may be a box of an outer tape)


def _row(name: str, s: Stat, wall: float) -> str:
    fwd = f"{s.forward * 1e3:>12.2f}{s.forward / s.calls * 1e6 if s.calls else 0:>9.1f}"
    bwd = f"{s.backward * 1e3:>13.2f}{s.backward / s.rule_calls * 1e6 if s.rule_calls else 0:>9.1f}"
    share = 100 * s.total / wall if wall else 0.0
    return (
        f"{name:<28}{s.calls:>8}{fwd}{s.rule_calls:>8}{bwd}{share:>6.1f}{s.nbytes / 2**20:>10.2f}"
    )
