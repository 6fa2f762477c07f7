"""Forward mode: `jvp`, dual numbers over arrays on the same boxes and levels as reverse mode.

`jvp` runs a function on boxes of a `ForwardTape`. A primitive called on them runs through
the ordinary recording path (`_record`: one level of boxing removed, the method found by
type), and when that path appends the call's `Node`, the forward tape computes the tangent
of the output instead of keeping the node: each argument's tangent goes through the
method's forward rule for that argument (``jvp=`` of `primitive`; or one rule for all of
them, beside ``vjp=``) or, where it has none,
through the jvp derived from its reverse rule. A reverse rule is linear in ``dy``, so
``<rule(u), t>`` is a linear function of ``u`` whose gradient is the jvp ``J t``: one
reverse pass over that rule, on that node only.

Tangents are values like any other: computed with primitives on the arguments one level
down, they are recorded by outer tapes. So forward over reverse (`jvp` of `grad`) and
reverse over forward (`grad` of a `jvp`) nest to any depth, and the levels keep nested
perturbations apart: a jvp's boxes belong to its own tape, whatever else is boxed in them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .box import Box, Param, Tracked, _as_leaf_value, describe, map_leaves, plain
from .diff import _run, vjp
from .errors import ArgumentError, OutputError, RuleError
from .tape import Node, Tape

__all__ = ["ForwardTape", "jvp"]


class _Tangents:
    """A forward tape's ``nodes``: `_record` appends each call's node, and this computes
    its output's tangent then, dropping what the node held (a forward pass keeps no record).
    """

    __slots__ = ()

    def append(self, node: Node) -> None:
        if node.method is None:  # a Param's leaf: constant in forward mode
            node.tangent = None
            return
        node.tangent = _tangent(node)
        node.args = node.kwargs = node.y = node.parents = None

    def remove(self, node: Node) -> None:
        """(A Param rebound inside the jvp: its leaves have no tangent to move.)"""

    def insert(self, index: int, node: Node) -> None:
        """(As `remove`.)"""

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Any:
        return iter(())


class ForwardTape(Tape):
    """The tape of one `jvp`: it pushes tangents forward as primitives run, keeping nothing.

    It takes a level like any tape and sits on the stack of active tapes while the
    function runs, so Params touched inside are leaves with a zero tangent (and still
    tracked by the tapes outside).
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self.nodes = _Tangents()  # type: ignore[assignment]

    def lock(self, a: Any) -> None:
        """Nothing to protect: a forward tape reads no array after the call that made it."""


def _tangent(node: Node) -> Any:
    """The tangent of ``node``'s output from its tracked arguments' tangents (None: zero)."""
    method, args, kwargs, y = node.method, node.args, node.kwargs, node.y
    if method.jvp is not None:  # one forward rule for all the arguments
        total = _whole(node)
    else:
        forward, total, derived = method.forward, None, None
        for argnum, parent, index in node.parents:
            t = parent.tangent
            if t is not None and index >= 0:
                t = t[index]
            if t is None:
                continue
            if argnum >= len(forward):
                derived = derived or {}
                derived[argnum] = t
            elif (rule := forward[argnum]) is not None:
                part = rule(t, y, *args, **kwargs) if kwargs else rule(t, y, *args)
                total = part if total is None else _add(total, part)
        if derived:
            total = _add(total, _derived(method, derived, y, args, kwargs))
    if total is None:
        return None
    fits = total.__class__ is y.__class__ is np.ndarray and total.shape == y.shape
    return total if fits and total.dtype == y.dtype else _fit(total, y, method)


def _whole(node: Node) -> Any:
    """The output tangent from ``jvp(dxs, y, *args, **kwargs)``, the method's one forward
    rule for all arguments: ``dxs`` holds a tangent per positional argument (None: zero)."""
    dxs = [None] * len(node.args)
    for argnum, parent, index in node.parents:
        t = parent.tangent
        dxs[argnum] = t[index] if t is not None and index >= 0 else t
    if all(t is None for t in dxs):
        return None
    return node.method.jvp(tuple(dxs), node.y, *node.args, **node.kwargs)


def _add(total: Any, t: Any) -> Any:
    """``total + t`` for tangents, None being zero (tuples: per output)."""
    if total is None or t is None:
        return t if total is None else total
    if isinstance(t, tuple):
        return tuple(a if b is None else _add(a, b) for a, b in zip(total, t))
    return total + t


def _derived(method: Any, tangents: dict, y: Any, args: tuple, kwargs: dict) -> Any:
    """The jvp of ``method`` along ``tangents`` (argnum -> tangent) from its reverse rules:
    the gradient in ``u`` of ``sum_i <rule_i(u, y, *args), t_i>``, which is linear in ``u``.

    The products need no `unbroadcast`: summing ``rule_i(u) * t_i`` broadcasts ``t_i`` to
    the output's shape, which is what the transpose of a sum over broadcast axes does.
    """
    multi = isinstance(y, tuple)
    ys = y if multi else (y,)
    # The gradient is taken at u = ones (any u gives the gradient of a linear function, and
    # rules may skip work for a zero dy, as eigh's does for unused eigenvectors); outputs
    # that are not floating point (frexp's exponent) get a plain zero dy and no tangent.
    floats = [k for k, v in enumerate(ys) if np.result_type(plain(v)).kind in "fc"]

    def pairing(*us: Any) -> Any:
        dys = [np.zeros_like(plain(v)) for v in ys]
        for k, u in zip(floats, us):
            dys[k] = u
        dy = tuple(dys) if multi else dys[0]
        grads = None if method.vjp is None else method.vjp(dy, y, *args, **kwargs)
        total = None
        for argnum, t in tangents.items():
            if grads is not None:
                g = grads[argnum]
            else:
                rule = method.rules[argnum] if argnum < len(method.rules) else None
                g = None if rule is None else rule(dy, y, *args, **kwargs)
            if g is not None:
                total = _add(total, np.sum(g * t))
        return 0.0 if total is None else total

    s, back = vjp(pairing, *(np.ones_like(plain(ys[k])) for k in floats))
    got = dict(zip(floats, back(np.ones_like(plain(s)))))
    return tuple(got.get(k) for k in range(len(ys))) if multi else got[0]


def _fit(t: Any, y: Any, method: Any) -> Any:
    """Tangent ``t`` with the shape and dtype of output ``y`` (a forward rule's part may
    have an argument's shape, broadcast in the output, or a wider dtype)."""
    if isinstance(y, tuple):
        return tuple(None if a is None else _fit(a, v, method) for a, v in zip(t, y))
    shape, raw = np.shape(plain(y)), plain(t)
    if np.shape(raw) != shape:
        try:
            t = np.broadcast_to(t, shape)
        except ValueError:
            raise RuleError(
                f"the forward rule of {method!r} returned {describe(t)} for an output of "
                f"shape {shape}: return a tangent that broadcasts to the output's shape"
            ) from None
    dtype = getattr(plain(y), "dtype", None)
    if dtype is not None and getattr(raw, "dtype", dtype) != dtype:
        t = t.astype(dtype)
    return t


def jvp(f: Callable[..., Any], primals: tuple | list, tangents: tuple | list) -> tuple[Any, Any]:
    """Run ``f(*primals)`` pushing ``tangents`` forward: ``(outputs, output tangents)``.

    Each primal is an array, a number or a list/tuple/dict of them, with a tangent of the
    same structure, shapes and dtype (None for a zero tangent); ``f`` may return any such
    structure (several outputs), and the tangents come back in it. The output tangent is
    ``J t``, the Jacobian of ``f`` at the primals times the tangents.

    Examples:
        >>> import rulegrad as rg
        >>> rg.jvp(lambda x: x**2 + np.sin(x), (0.0,), (1.0,))  # d/dx at 0: 2x + cos x
        (np.float64(0.0), np.float64(1.0))
        >>> out, tout = rg.jvp(lambda a, b: (a * b, a + b), (2.0, 3.0), (1.0, 0.0))
        >>> out, tout
        ((np.float64(6.0), np.float64(5.0)), (np.float64(3.0), np.float64(1.0)))
    """
    if not callable(f):
        raise ArgumentError(f"rg.jvp takes a function first, got {describe(f)}")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ArgumentError(
            f"rg.jvp(f, primals, tangents) takes a tuple of arguments and a tuple of their "
            f"tangents, got {describe(primals)} and {describe(tangents)}: write "
            "rg.jvp(f, (x,), (t,)) for one argument"
        )
    if len(primals) != len(tangents):
        raise ArgumentError(
            f"rg.jvp got {len(primals)} primals and {len(tangents)} tangents: give one "
            "tangent per argument (None for a zero tangent)"
        )
    tape = ForwardTape()
    args = tuple(_dual(tape, x, t) for x, t in zip(primals, tangents))
    out = _run(tape, f, args, {})
    tape.done = True
    return _primal(out, tape), _tangent_of(out, tape)


def _dual(tape: ForwardTape, x: Any, t: Any) -> Any:
    """Structure ``x`` with each array replaced by a box on ``tape`` carrying tangent ``t``."""
    if isinstance(x, (list, tuple)) and not isinstance(x, Tracked):
        ts = [None] * len(x) if t is None else t
        _same(x, ts, type(x))
        got = [_dual(tape, a, b) for a, b in zip(x, ts)]
        return type(x)(*got) if hasattr(type(x), "_fields") else type(x)(got)
    if isinstance(x, dict):
        ts = dict.fromkeys(x) if t is None else t
        _same(x, ts, dict)
        return {k: _dual(tape, v, ts[k]) for k, v in x.items()}
    if t is None or x is None or isinstance(x, (str, bytes)):
        return x  # (no tangent: a constant, passed as it is: an int stays an int)
    if not (isinstance(x, Tracked) and x._live()):
        x = _as_leaf_value(x.value if isinstance(x, Param) else x, "primal")
    raw, want = plain(t), plain(x)
    if np.shape(raw) != np.shape(want):
        raise ArgumentError(
            f"a tangent has shape {np.shape(raw)} but its primal has shape "
            f"{np.shape(want)} ({describe(want)}): give each tangent its primal's shape"
        )
    if isinstance(t, Param) and not t._live():
        t = t.value  # (a Param outside any diff is its array: else the jvp's tape tracks it)
    if not isinstance(t, Tracked):  # (in the primal's dtype: float32 stays float32)
        t = _as_leaf_value(t, "tangent")
        dtype = getattr(want, "dtype", None)
        if dtype is not None and np.result_type(t) != dtype:
            if np.iscomplexobj(t) and not np.iscomplexobj(want):
                raise ArgumentError(
                    f"a complex tangent for a real primal ({describe(want)}) would lose its "
                    "imaginary part: give the primal a complex dtype to move it along "
                    "complex directions, or pass the tangent's real part"
                )
            t = np.asarray(t, dtype=dtype)
    node = Node(None, (), {}, x, ())
    node.tangent = t
    return Box(x, tape, node)


def _same(x: Any, t: Any, kind: type) -> None:
    """Raise `ArgumentError` unless tangent structure ``t`` matches primal structure ``x``."""
    fits = isinstance(t, dict) and t.keys() == x.keys() if kind is dict else None
    if kind is not dict:
        fits = isinstance(t, (list, tuple)) and len(t) == len(x)
    if not fits:
        raise ArgumentError(
            f"a tangent's structure ({_outline(t)}) does not match its primal's "
            f"({_outline(x)}): give tangents the structure of the primals"
        )


def _outline(x: Any) -> str:
    """``x`` described for a structure mismatch: a list's length, a dict's keys."""
    if isinstance(x, dict):
        return f"dict with keys {list(x)}"
    return f"{type(x).__name__} of {len(x)}" if isinstance(x, (list, tuple)) else describe(x)


def _primal(out: Any, tape: ForwardTape) -> Any:
    """``out`` with this tape's boxes replaced by their values."""

    def primal(v: Any) -> Any:
        if isinstance(v, Box) and v.tape is tape:
            return v.value
        return v.value if isinstance(v, Param) else v

    return map_leaves(primal, out)


def _tangent_of(out: Any, tape: ForwardTape) -> Any:
    """The tangents of structure ``out``: zeros for outputs that do not depend on the inputs."""

    def tangent(v: Any) -> Any:
        if v is None or isinstance(v, (str, bytes)):
            return None
        t = None
        if isinstance(v, Box) and v.tape is tape:
            t = v.node.tangent
            if t is not None and v.index >= 0:
                t = t[v.index]
        if t is None:
            raw = plain(v)
            t = np.zeros_like(raw)
            if t.dtype == object:
                raise OutputError(
                    "jvp's function must return arrays, numbers, or lists, tuples and dicts "
                    f"of them, got {describe(raw)}, which has no tangent"
                )
            return t[()] if isinstance(raw, (np.generic, int, float, complex)) else t
        return t

    return map_leaves(tangent, out)
