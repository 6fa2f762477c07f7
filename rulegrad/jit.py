"""Record once, replay many times: `jit` for training steps.

``diff`` records every primitive afresh on each call: boxes, nodes, write protection and a
backward walk that looks everything up again. A training step runs the same primitives on
arrays of the same shapes thousands of times, so `jit` records the step once per argument
signature (shapes and dtypes of the arrays, values of the other arguments) and then
replays it: the method calls forward, then the rules of the calls that lead to a Param,
with no boxes, no tape and no model code in between. The replay is a Python function
generated from the recording, calling the same methods and rules as ``diff`` and ``grad``
(so ``rg.profile`` still sees them).

A replay is only correct if the recording says everything the result depends on, so the
recording is strict (JAX's tracing, with a fallback instead of an error):

* every array argument is recorded as an input, so code computing on it (``np.eye(10)[y]``)
  is replayed on the next batch rather than remembered;
* calls without a gradient (comparisons, ``argmax``, ``zeros_like``) are recorded as well;
* reading a traced value as plain data (``float(x)``, ``if x > 0:``, ``rg.value(x)``,
  ``x.item()``) makes the step's control flow depend on the data: that signature is run
  with ``diff`` on every call instead, as is any step whose result is not a real scalar
  and any step called while another ``diff`` is recording;
* reading the size of a recorded value (``len(x[x > 0])``, ``.shape``, ``np.size``) is
  allowed, but that size may depend on the data: the replay checks it, and the first time
  it differs, that signature runs with ``diff`` from then on.

What a recording cannot see is state outside the arguments and Params: a global array
rebound to another object, or random numbers drawn with ``np.random`` inside the step (a
replay would reuse the first draw; draw them outside and pass them in, or use a primitive
such as ``rg.nn.dropout``, whose mask is recorded and redrawn).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from .core.box import Box, Param, Tracked
from .core.diff import GRAD_HOOK, _call_vjp, _reduce, _run, _unruled, _zero, diff, ones
from .core.errors import TraceEscape
from .core.primitive import passthrough
from .core.tape import _ACTIVE, Node, Tape

__all__ = ["jit", "Jit"]

#: Signatures one jitted function records before new ones run eagerly (with a warning).
MAX_SIGNATURES = 64

_NUMBERS = (int, float, complex, bool, str, bytes, type(None))  # guarded by value
#: Times one signature is recorded when recording raises, before it runs with diff for good.
MAX_TRIES = 3

_EAGER = None  # a signature whose step cannot be replayed
_CHANGED = "a size the recording read has changed"  # what a replay returns then
_DONE = Node(None, (), {}, None, ())  # the node of every replayed result (never walked)

# How an argument of each class counts (`_kind`): one lookup per argument per call.
_ARRAY, _VALUE, _SEQUENCE, _NAMEDTUPLE, _DICT, _OBJECT = range(6)
_TRACKED = "a recorded value was passed in"  # refused: the result of another diff
_SUBCLASS = "a {} argument: only plain lists, tuples and dicts"  # refused (a defaultdict...)


def _classify(cls: type) -> int | str:
    """How `_signature` treats instances of ``cls`` (a reason string: it refuses them)."""
    if cls is Param:
        return _OBJECT  # kept by identity (`_signature` reads Params before asking)
    if issubclass(cls, Tracked):
        return _TRACKED
    if cls in _NUMBERS or issubclass(cls, np.generic):
        return _VALUE
    if cls is list or cls is tuple:
        return _SEQUENCE
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _NAMEDTUPLE
    if cls is dict:
        return _DICT
    if issubclass(cls, (list, tuple, dict)):
        return _SUBCLASS.format(cls.__name__)  # its contents could change under one identity
    if all(hasattr(cls, a) for a in ("shape", "dtype")):  # ndarrays, cupy's arrays, ...
        return _ARRAY
    return _OBJECT


#: class -> `_classify(class)`, filled on first sight
_KINDS: dict[type, int | str] = {np.ndarray: _ARRAY, Param: _OBJECT}


def _kind(x: Any) -> int | str:
    """How argument ``x`` counts in a signature: `_classify` of its class, remembered."""
    cls = x.__class__
    found = _KINDS.get(cls)
    if found is None:  # once per class (hasattr on an object without the attribute is slow)
        found = _KINDS[cls] = _classify(cls)
    return found


def _signature(x: Any, arrays: list, refs: list) -> Any:
    """The cache key of argument structure ``x``; its arrays are appended to ``arrays``.

    Arrays count by type, shape and dtype; numbers and strings by value; Params and other
    objects by identity (``refs`` keeps them alive, so an identity stays theirs); lists,
    tuples and dicts by their items. Raises `TraceEscape` for a value that rules out
    replaying: a tracked value, or a container subclass (a defaultdict, say), whose arrays
    could change under the same identity.
    """
    cls = x.__class__
    if cls is Param:  # (a training step's arguments first: this runs on every step)
        refs.append(x)
        return id(x)
    if cls is np.ndarray:
        arrays.append(x)
        return (x.shape, x.dtype)
    kind = _SEQUENCE if cls is tuple or cls is list else _kind(x)
    if kind in (_SEQUENCE, _NAMEDTUPLE):
        parts = []
        for v in x:  # the common items inline (in Python 3.11 a comprehension is a call too)
            if v.__class__ is Param:
                refs.append(v)
                parts.append(id(v))
            elif v.__class__ is np.ndarray:
                arrays.append(v)
                parts.append((v.shape, v.dtype))
            else:
                parts.append(_signature(v, arrays, refs))
        return (cls, tuple(parts))
    if kind == _ARRAY:
        arrays.append(x)
        return (cls, tuple(x.shape), x.dtype)
    if kind == _VALUE:  # (a float by its bits: 0.0 == -0.0 but 1 / -0.0 is -inf)
        return (cls, x.hex()) if cls is float else (cls, x) if cls not in _INEXACT else _bits(x)
    if kind == _DICT:
        return (dict, tuple([(k, _signature(v, arrays, refs)) for k, v in x.items()]))
    if kind.__class__ is str:
        raise TraceEscape(kind)
    refs.append(x)  # any other object (a model, a namespace): kept as it was
    return (kind, id(x))


#: Number classes a signature keys by their bits (`_bits`) rather than by value.
_INEXACT = {complex, np.float16, np.float32, np.float64, np.longdouble, np.complex64}
_INEXACT |= {np.complex128, np.clongdouble}


def _bits(x: Any) -> tuple:
    """The signature of an inexact number: its class and bits, so that ``0.0`` and ``-0.0``
    (equal, with different results: ``np.arctan2(-0.0, -1.0)`` is ``-pi``) are two, and all
    NaNs of a class one."""
    if x != x:  # NaN (a complex one too): one signature, whatever its bits
        return (x.__class__, "nan")
    if x.__class__ is complex:
        return (complex, x.real.hex(), x.imag.hex())
    return (x.__class__, x.tobytes())


def _as_inputs(x: Any, tape: Tape, inputs: list[Node]) -> Any:
    """``x`` with each array (in `_signature`'s order) replaced by an input box on ``tape``."""
    kind = _kind(x)
    if kind == _SEQUENCE:
        return x.__class__(_as_inputs(v, tape, inputs) for v in x)
    if kind == _NAMEDTUPLE:
        return x.__class__(*(_as_inputs(v, tape, inputs) for v in x))
    if kind == _DICT:
        return {k: _as_inputs(v, tape, inputs) for k, v in x.items()}
    if kind != _ARRAY:
        return x
    node = Node(None, (), {}, x, ())
    tape.nodes.append(node)
    inputs.append(node)
    return Box(x, tape, node)


class _Program:
    """One recorded step, as a generated Python function replaying it forward and backward.

    Every value gets a slot: the input arrays first, then the Params' values, then the
    constants, then each call's output (a call with a tuple output has a slot for the
    tuple and one per element). The replay is straight-line code over those slots (local
    variables ``v<slot>``, gradients ``g<slot>``), generated once: a loop over a list of
    calls costs several times more per call, because every iteration touches objects the
    large numpy kernels in between have pushed out of the CPU caches.
    """

    __slots__ = ("replay", "source", "hooked", "hooked_source", "nodes", "env")

    def __init__(self, tape: Tape, inputs: list[Node], out: Box) -> None:
        slots: dict[Any, int] = {id(node): i for i, node in enumerate(inputs)}
        count = len(inputs)
        needs = [False] * count  # whether a slot's gradient is wanted
        names = [f"v{i}" for i in range(count)]  # how the code refers to each slot
        env: dict[str, Any] = {"ndarray": np.ndarray, "zero": _zero}
        env.update(_vjp=_call_vjp, Replayed=_Replayed, Box=Box, Leaf=_Leaf, DONE=_DONE)
        env.update(CHANGED=_CHANGED, np_shape=np.shape, np_ndim=np.ndim, np_size=np.size)
        env["new"] = object.__new__
        ninputs = count
        owners: list[Param] = []  # the Params read, in slot order (the replay's globals hold
        # them, so their ids, the keys of its leaves, stay theirs)
        reads, guards = [], []  # the replay's first lines: read each Param, check it fits
        for p, leaf in tape.leaves.values():
            v = leaf.y
            slots[id(leaf)] = count
            owners.append(p)
            env[f"p{count}"], env[f"t{count}"] = p, v.__class__
            env[f"s{count}"], env[f"d{count}"] = v.shape, v.dtype
            reads.append(f"v{count} = p{count}._value")
            guards.append(
                f"v{count}.__class__ is not t{count} or v{count}.shape != s{count} "
                f"or v{count}.dtype != d{count}"
            )
            names.append(f"v{count}")
            needs.append(True)
            count += 1
        forward: list[str] = []
        backward: list[list[str]] = []
        read: dict[int, dict[tuple[int, str], None]] = {}  # node -> what was read of it
        for node, index, kind in tape.reads:
            read.setdefault(id(node), {})[index, kind] = None
        calls: list[tuple] = []  # the calls with rules to replay, in recording order
        scalars: dict[int, str] = {}  # slots holding a numpy float scalar: its class's name
        for i, node in enumerate(n for n in tape.nodes if n.method is not None):
            method = env[f"m{i}"] = node.method
            if any(isinstance(v, Tracked) for v in node.kwargs.values()):
                raise TraceEscape(f"a recorded value was passed by keyword to {method!r}")
            parents = {argnum: (parent, index) for argnum, parent, index in node.parents}
            where = []
            for k, a in enumerate(node.args):
                if k in parents:
                    parent, index = parents[k]
                    where.append(slots[id(parent) if index < 0 else (id(parent), index)])
                    if isinstance(a, np.generic) and a.dtype.kind in "fc":
                        env[f"S{where[-1]}"] = a.__class__
                        scalars[where[-1]] = f"S{where[-1]}"
                    continue
                env[f"c{count}"] = a  # a constant: a name in the replay's globals
                where.append(count)
                names.append(f"c{count}")
                needs.append(False)
                count += 1
            args = ", ".join(names[w] for w in where)
            if node.kwargs:
                env[f"k{i}"] = node.kwargs
                args += f", **k{i}"
            at, outputs = count, len(node.y) if isinstance(node.y, tuple) else 0
            slots[id(node)] = at
            for k in range(outputs):
                slots[(id(node), k)] = at + 1 + k
            wanted = not method.primitive.zero and any(needs[w] for w in where)
            names.extend(f"v{at + k}" for k in range(1 + outputs))
            needs.extend([wanted] * (1 + outputs))
            count += 1 + outputs
            forward.append(f"v{at} = m{i}.impl({args})")
            if outputs:
                forward.append(", ".join(f"v{at + 1 + k}" for k in range(outputs)) + f", = v{at}")
            if id(node) in read:
                forward += _check_code(node, at, read[id(node)], env)
            grads = [k for k in sorted(parents) if needs[where[k]]]
            if wanted and grads:
                calls.append((i, method, node, at, outputs, where, grads))
        result = slots[id(out.node) if out.index < 0 else (id(out.node), out.index)]
        # the slots some rule sends a gradient to (and the result): only they can have one
        sources = Counter(where[k] for *_, where, grads in calls for k in grads)
        receives = set(sources) | {result}
        # from its third gradient on, a slot's sum is a new array no rule has seen yet: it is
        # added to in place (the backward walk's `_add`), a flag o<slot> saying it is one
        summed = {slot for slot, n in sources.items() if n >= 3}
        facts = _Facts(names, scalars, summed)
        finished: dict[int, int] = {}  # a Param's slot -> the last block adding to it
        for i, method, node, at, outputs, where, grads in calls:
            if outputs and not receives.intersection(range(at + 1, at + 1 + outputs)):
                continue  # none of its outputs is ever given a gradient
            zeros = []
            for k in range(outputs):  # elements that never get one: a fixed zero (`_zero`)
                y = node.y[k]
                if at + 1 + k not in receives and isinstance(y, np.ndarray):
                    env[f"z{at + 1 + k}"] = _zero(y)
                    zeros.append(at + 1 + k)
            env.update({f"u{i}_{k}": _Reduction(method, k) for k in grads})
            for k in grads:  # the first block recorded that adds to a Param runs last
                if ninputs <= where[k] < ninputs + len(owners):
                    finished.setdefault(where[k], len(backward))
            backward.append(
                _backward_code(i, method, node, at, outputs, where, grads, zeros, facts)
            )
        wanted_slots = [k for k in range(count) if needs[k]]
        # the two versions of the replay: `replay`, and `hooked` for a context with a
        # gradient hook (`GRAD_HOOK`), which hands each Param's gradient to it as soon as
        # the last rule adding to it has run. Lines: (text, None in both, else the version)
        args = ", ".join(names[:ninputs])
        lines: list[tuple[str, bool | None]] = [
            (f"def replay({args}):", False),
            (f"def hooked(hook{', ' if args else ''}{args}):", True),
        ]
        code = list(reads)
        # every time, even for the same arrays: `a.shape = ...` reshapes an array in place
        if guards:
            *first, end = guards
            code += ["if (", *[f"    {g} or" for g in first], f"    {end}", "):"]
            code.append("    return None  # a Param no longer fits the recording")
        code += forward
        code.append(f"result = {names[result]}")
        code += [f"g{k} = None" for k in wanted_slots if k != result]
        code += [f"o{k} = False" for k in sorted(summed)]
        # diff's output gradient, the same every time: made once (read-only, as it is shared)
        seed = env["SEED"] = ones(out.value)
        if isinstance(seed, np.ndarray):
            seed.setflags(write=False)
        code.append(f"seed = g{result} = SEED")
        lines += [(f"    {line}", None) for line in code]
        # the forward pass is done (no size check can send the step back to diff): the hook
        # learns of this replay, then gets each Param's gradient after the last block adding
        # to it (the blocks run last recorded first); the others' at the end
        env["OWNERS"] = tuple(owners)
        lines.append(("    walk = hook.begin_replay(OWNERS)", True))
        lines.append(("    give = walk.give", True))
        given: dict[int, list[int]] = {}
        for slot, block in finished.items():
            given.setdefault(block, []).append(slot)
        for b in reversed(range(len(backward))):
            lines += [(f"    {line}", None) for line in backward[b]]
            for slot in given.get(b, ()):
                lines.append((f"    if g{slot} is not None: give({slot - ninputs}, g{slot})", True))
        for slot in range(ninputs, ninputs + len(owners)):
            if slot not in finished:  # (only the result's can be set: the seed)
                lines.append((f"    if g{slot} is not None: give({slot - ninputs}, g{slot})", True))
        # what grad(J, p) reads: tape.leaves[id(p)] = (p, an object whose .grad is p's)
        leaves = ", ".join(f"{id(p)}: (p{k}, Leaf((g{k},)))" for k, p in enumerate(owners, ninputs))
        lines += [  # (made without calling __init__: a Python call is most of their cost)
            ("    tape = new(Replayed)", None),
            (f"    tape.seed, tape.leaves = seed, {{{leaves}}}", None),
            ("    walk.close(tape)  # the gradients it holds become pending reductions", True),
            ("    out = new(Box)", None),
            ("    out.value, out.tape, out.node, out.index = result, tape, DONE, -1", None),
            ("    return out", None),
        ]
        self.source = "\n".join(line for line, hooked in lines if hooked is not True)
        self.hooked_source = "\n".join(line for line, hooked in lines if hooked is not False)
        self.nodes, self.env, self.hooked = len(backward), env, None
        exec(compile(self.source, f"<rg.jit replay of {len(backward)} nodes>", "exec"), env)
        self.replay = env["replay"]

    def run(self, arrays: list[Any]) -> Box | str | None:
        """Replay the step on ``arrays``: a finished `Result`; None if a Param's value no
        longer fits the recording (another shape, dtype or array type); `_CHANGED` if a
        size the recording read differs (the data shapes a value, as in ``x[x > 0]``).

        In a context with a gradient hook (`GRAD_HOOK`), the hooked version runs instead
        (compiled on first use): it hands each Param's gradient to the hook as soon as it
        is finished, during the backward pass, as a backward walk does."""
        hook = GRAD_HOOK.get()
        if hook is None:
            return self.replay(*arrays)
        if self.hooked is None:
            where = f"<rg.jit replay of {self.nodes} nodes, with a gradient hook>"
            exec(compile(self.hooked_source, where, "exec"), self.env)
            self.hooked = self.env["hooked"]
        return self.hooked(hook, *arrays)


def _check_code(node: Node, at: int, reads: dict[tuple[int, str], None], env: dict) -> list[str]:
    """The replay's lines checking the metadata that code read from the outputs of the
    call in slot ``at`` (`Tape.reads`): each must be what it was while recording, since
    the code that read it is not run again."""
    conditions = []
    for index, kind in reads:
        slot = at if index < 0 else at + 1 + index
        y = node.y if index < 0 else node.y[index]
        env[f"R{slot}{kind}"] = getattr(np, kind)(y)
        if isinstance(y, (np.ndarray, np.generic)):
            conditions.append(f"v{slot}.{kind} != R{slot}{kind}")
        else:  # another library's array: asked as the recording asked
            conditions.append(f"np_{kind}(v{slot}) != R{slot}{kind}")
    return [f"if {' or '.join(conditions)}:", "    return CHANGED  # a size the recording read"]


class _Replayed:
    """The tape of a replayed result: finished, holding only what `grad` reads (the output
    gradient and each Param's gradient). It reads as a `Tape` that is done: no nodes,
    nothing locked (so, unlike a Tape, nothing to do when it is dropped)."""

    __slots__ = ("seed", "leaves")
    level, nodes, seen, _locked, recording, tracing, done, error = (
        0, (), frozenset(), (), False, False, True, None
    )  # fmt: skip
    __len__ = Tape.__len__


class _Leaf(tuple):
    """A replayed Param's gradient, as ``grad`` reads a leaf node's: ``_Leaf((g,)).grad``
    (a tuple, so a replay builds all of them without running Python code per Param)."""

    __slots__ = ()
    grad = property(itemgetter(0))


class _Reduction:
    """`unbroadcast` for one argument of one recorded call, learned on its first use.

    A replay gives each rule the same shapes and dtypes every time, so after the first
    reduction (done by the backward walk's own code) the axes are known: later ones are one
    ``np.add.reduce`` (and the same reshape and cast), the same sums in the same order.
    """

    __slots__ = ("method", "argnum", "key", "axes", "shape", "dtype")

    def __init__(self, method: Any, argnum: int) -> None:
        self.method, self.argnum, self.key = method, argnum, None

    def __call__(self, g: Any, x: Any) -> Any:
        if (
            self.key is not None
            and g.__class__ is x.__class__ is np.ndarray
            and (g.shape, g.dtype, x.shape, x.dtype) == self.key
        ):  # what unbroadcast does for these shapes: same rank keeps the summed axes
            g = np.add.reduce(g, axis=self.axes, keepdims=g.ndim == x.ndim)
            g = g.reshape(self.shape) if g.shape != self.shape else g
            return g if self.dtype is None else g.astype(self.dtype)
        out = _reduce(g, x, self.method, self.argnum)
        if g.__class__ is x.__class__ is np.ndarray and g.dtype.kind == x.dtype.kind == "f":
            lead = g.ndim - x.ndim  # (>= 0: _reduce has refused anything else)
            stretched = [
                lead + i for i, n in enumerate(x.shape) if n == 1 and g.shape[lead + i] != 1
            ]
            self.axes = (*range(lead), *stretched)
            self.shape, self.dtype = x.shape, (x.dtype if g.dtype != x.dtype else None)
            self.key = (g.shape, g.dtype, x.shape, x.dtype)
        return out


class _Facts(NamedTuple):
    """What the code generator knows of the slots beyond their recorded calls."""

    names: list[str]  #: how the code refers to each slot (v<slot>, or c<slot> for a constant)
    scalars: dict[int, str]  #: slots that held a numpy float scalar -> the name of its class
    summed: set[int]  #: slots with three or more gradient sources, summed in place


def _backward_code(
    i: int,
    method: Any,
    node: Node,
    at: int,
    outputs: int,
    where: list,
    grads: list,
    zeros: list,
    facts: _Facts,
) -> list[str]:
    """The replay's lines for the rules of call ``i`` (output slot ``at``), which send
    gradients to its arguments ``grads``: the backward walk's work, written out. Tuple
    elements in ``zeros`` never get a gradient: theirs is the fixed zero ``z<slot>``."""
    names = facts.names
    args = ", ".join(names[w] for w in where)
    call_args = args + (f", **k{i}" if node.kwargs else "")
    if outputs:  # a tuple: the gradients of its elements, zeros for those unused
        slots = range(at + 1, at + 1 + outputs)
        live = [f"g{s} is not None" for s in slots if s not in zeros]
        lines = [f"if {' or '.join(live)}:"]
        dy = ", ".join(f"z{s}" if s in zeros else f"(zero(v{s}) if g{s} is None else g{s})"
                       for s in slots)  # fmt: skip
        lines.append(f"    dy = ({dy},)")
    else:
        lines = [f"if g{at} is not None:", f"    dy = g{at}"]
    if method.vjp is not None:
        kwargs = f"k{i}" if node.kwargs else "{}"
        lines += [  # the vjp called directly; on a wrong count, again through diff's check
            f"    t_all = m{i}.vjp(dy, v{at}, {call_args})",
            f"    if len(t_all) != {len(where)}:",
            f"        _vjp(m{i}, dy, v{at}, ({args},), {kwargs})  # raises RuleError",
        ]
    for k in grads:
        if method.vjp is not None:
            lines.append(f"    t = t_all[{k}]")
        elif k < len(method.rules) and method.rules[k] is passthrough:
            lines.append("    t = dy")  # (the rule would return dy itself: no call)
        elif k < len(method.rules) and method.rules[k] is not None:
            lines.append(f"    t = m{i}.rules[{k}](dy, v{at}, {call_args})")
        else:  # no gradient through this argument; past the end of the rules, diff's error
            if k >= len(method.rules):
                _unruled(method, k, node.args)  # (raises: the step then runs with diff)
            continue
        slot = where[k]
        x, g = names[slot], f"g{slot}"
        scalar = facts.scalars.get(slot)  # a numpy scalar's class fixes its shape and dtype
        same = (
            f"t.__class__ is not {scalar} or {x}.__class__ is not {scalar}"
            if scalar
            else f"t.__class__ is not ndarray or {x}.__class__ is not ndarray "
            f"or t.shape != {x}.shape or t.dtype != {x}.dtype"
        )
        lines += [
            "    if t is not None:",
            f"        if {same}:",
            f"            t = u{i}_{k}(t, {x})",
        ]
        if slot in facts.summed:  # (t now has x's shape and dtype, if it is an ndarray)
            lines += [
                f"        if {g} is None:",
                f"            {g} = t",
                f"        elif o{slot} and t.__class__ is ndarray:",
                f"            {g} += t",
                "        else:",
                f"            {g} = {g} + t",
                f"            o{slot} = {g}.__class__ is ndarray",
            ]
        else:
            lines.append(f"        {g} = t if {g} is None else {g} + t")
    lines.append(f"    g{at} = v{at} = None  # used by this call only: free it now")
    return lines


def _record(f: Callable[..., Any], args: tuple, kwargs: dict) -> _Program | None:
    """Record ``f`` once with every array argument traced: its program, or None when it
    cannot be replayed (it read plain data from a traced value, or its result is not a
    real scalar)."""
    tape = Tape()
    tape.tracing = True
    inputs: list[Node] = []
    traced = _as_inputs(args, tape, inputs), _as_inputs(kwargs, tape, inputs)
    try:
        out = _run(tape, f, *traced)
        if not (tape.tracing and isinstance(out, Box) and out.tape is tape):
            return None  # (not tracing: it escaped, and the function caught the exception)
        v = out.value
        if np.size(v) != 1 or getattr(v, "dtype", np.dtype(type(v))).kind != "f":
            return None
        return _Program(tape, inputs, out)
    except TraceEscape:
        return None
    finally:
        tape.release()


class Jit:
    """A function recorded once per argument signature and replayed (see `jit`)."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f
        self.__wrapped__ = f
        self.__name__ = getattr(f, "__name__", "f")
        self.__doc__ = getattr(f, "__doc__", None)
        #: signature -> its program, or None for a signature run with ``diff``
        self.programs: dict[Any, _Program | None] = {}
        self._refs: dict[Any, list] = {}
        self._failures: dict[Any, int] = {}  #: signature -> recordings that raised
        self._warned = False

    def __call__(self, *args: Any, **kwargs: Any) -> Box:
        if _ACTIVE.get():  # inside another diff: its tape must see every operation
            return diff(self.f, *args, **kwargs)
        arrays: list[Any] = []
        refs: list[Any] = []
        try:
            key = _signature(args, arrays, refs)
            if kwargs:  # ("**": no positional argument's part is a string)
                key = (key, "**", _signature(kwargs, arrays, refs))
        except TraceEscape:
            return diff(self.f, *args, **kwargs)
        program = self.programs.get(key, self)
        if program is self:
            program = self._new(key, refs, args, kwargs)
        if program is not None:
            result = program.run(arrays)
            if result.__class__ is Box:
                return result
            if result is None:  # a Param changed shape or dtype: record again
                program = self._new(key, refs, args, kwargs)
                result = None if program is None else program.run(arrays)
                if result.__class__ is Box:
                    return result
            if result is _CHANGED:  # the data shapes what the code read: diff from now on
                self.programs[key] = _EAGER
        return diff(self.f, *args, **kwargs)

    def _new(self, key: Any, refs: list, args: tuple, kwargs: dict) -> _Program | None:
        """Record the step for signature ``key`` (None: run it with ``diff``)."""
        if key not in self.programs and len(self.programs) >= MAX_SIGNATURES:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"rg.jit({self.__name__}) has recorded {MAX_SIGNATURES} argument "
                    "signatures; new ones run without replay. Arguments that change on every "
                    "call (a Python float such as a learning rate, a new object) each make a "
                    "signature: pass them as arrays, or keep them out of the jitted function.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return _EAGER
        try:
            program = _record(self.f, args, kwargs)
        except Exception:
            # It failed with its arrays traced (a library without rules met one, say, or the
            # batch was bad): run it with diff, where a genuine error shows again, and record
            # it again on a later call, MAX_TRIES times in all before giving up on replaying.
            tries = self._failures[key] = self._failures.get(key, 0) + 1
            if tries < MAX_TRIES:
                return _EAGER
            program = _EAGER
        self.programs[key] = program
        self._refs[key] = refs
        return program

    def __repr__(self) -> str:
        replayed = sum(p is not None for p in self.programs.values())
        return (
            f"<rg.jit({self.__name__}): {replayed} recorded signature(s), "
            f"{len(self.programs) - replayed} run with diff>"
        )


def jit(f: Callable[..., Any]) -> Jit:
    """``rg.diff(f, ...)`` for training steps: recorded once per signature, then replayed.

    ``step = rg.jit(f)`` is called like ``rg.diff(f, ...)`` without the ``f``:
    ``J = step(*args)``; its gradients are computed with the value, and ``rg.grad(J, p)``
    reads them. The first call with new argument shapes records ``f``; later calls replay
    the recorded primitives and rules without running ``f``'s Python code. Steps that
    cannot be replayed (control flow on traced values, a result that is not a real scalar;
    see the module documentation) run as ``rg.diff`` would, so the result is the same.

    Args:
        f: the loss: a function of arrays, numbers, Params and containers of them, reading
            any Params and returning a real scalar.

    Returns:
        A callable returning a `Result`, as ``diff`` does.

    Examples:
        >>> import rulegrad as rg
        >>> w = rg.Param(np.array([1.0, 2.0]))
        >>> step = rg.jit(lambda x: np.sum((w * x - 1.0) ** 2))
        >>> for x in (np.array([1.0, 1.0]), np.array([2.0, 0.5])):
        ...     J = step(x)
        ...     print(rg.value(J), rg.grad(J, w))
        1.0 [0. 2.]
        1.0 [4. 0.]
        >>> step
        <rg.jit(<lambda>): 1 recorded signature(s), 0 run with diff>
    """
    return Jit(f)
