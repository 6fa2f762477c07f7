"""Primitives: functions rulegrad records, each a plum function of typed methods with rules.

A `Primitive` owns a ``plum.Function``. Each method (one typed implementation) carries
its own gradient rules, one per positional argument, called as
``rule(dy, y, *args, **kwargs)`` -- AutoGrad.jl's per-method ``back``. The method for a
call is found by the types of the plain arguments, once per type tuple: plum stays the
source of truth and a dict in front of it keeps the hot path at one lookup.

Recording (`Primitive.__call__`): when no argument is tracked by a recording tape the
method runs on plain values at full speed. Otherwise the arguments are unboxed one
level (the level of the newest tape among them), the primitive runs on them (recursing
when they are still boxes of outer tapes), and the result is boxed with a new `Node`.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plum

from .box import FUNCTIONS, Box, Param, Tracked, _name, describe, plain, value
from .errors import ArgumentError, InPlaceError, NoRuleError, RuleConflictError
from .tape import _ACTIVE, Node, Tape, _first, first_use

__all__ = ["Domain", "Method", "Primitive", "primitive", "zerograd", "implements", "PRIMITIVES"]
__all__ += ["passthrough", "ELEMENTWISE", "LINEAR"]

#: Every primitive, keyed by the function it was made from (or module.qualname).
PRIMITIVES: dict[Any, Primitive] = {}

_ANY = plum.Signature(varargs=object)

#: ``jvp=ELEMENTWISE``: the method works elementwise, so its derivative is a diagonal
#: matrix, its own transpose, and each reverse rule given a tangent in place of ``dy`` is
#: that argument's forward rule (``dy * cos(x)`` is ``dx * cos(x)``).
ELEMENTWISE = "elementwise"
#: ``jvp=LINEAR``: the method is linear (over the reals) in its first argument, so its
#: forward rule is the primitive itself applied to the tangent (``x[i]``, reshape, sum).
LINEAR = "linear"


@dataclass(frozen=True)
class Domain:
    """How `rulegrad.testing` draws valid inputs for one method's automatic gradient check.

    The core only stores it; the meaning of each field is `rulegrad.testing`'s.

    Attributes:
        args: one kind per positional argument: ``"real"``, ``"positive"``, ``"unit"``
            (open interval (0, 1)), ``"nonzero"``, ``"int"`` (a non-differentiable
            integer array), ... (see `rulegrad.testing.strategies.KINDS`).
        shapes: how argument shapes relate: ``"broadcast"``, ``"same"``, ``"matmul"``,
            ``"square"`` or ``"scalar"``.
        kwargs: keyword arguments to try: name -> values (``"axis"`` draws a valid axis).
        avoid: points (kinks, poles) that drawn values keep away from (and draw near).
        order: the highest derivative order to check (0 skips the numeric check).
        sample: a function of a ``numpy.random.Generator`` returning ``(args, kwargs)``,
            for inputs the fields above cannot describe (conv4's shapes, say).
        ties: a selection rule (maximum, max): draw inputs with deliberate two-way ties,
            where the rule must split the gradient equally, as central differences do.
    """

    args: tuple[str, ...] = ()
    shapes: str = "broadcast"
    kwargs: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    avoid: tuple[float, ...] = ()
    order: int = 2
    sample: Callable[[np.random.Generator], tuple[tuple, dict]] | None = None
    ties: bool = False


class Method:
    """One typed implementation of a primitive with its gradient rules."""

    __slots__ = (
        "primitive", "impl", "signature", "rules", "vjp", "domain", "origin", "replaces", "_shown",
        "forward", "jvp",
    )  # fmt: skip

    def __init__(
        self,
        primitive: Primitive,
        impl: Callable[..., Any],
        signature: plum.Signature,
        rules: tuple[Callable[..., Any] | None, ...],
        vjp: Callable[..., Any] | None,
        domain: Domain | None,
        origin: str = "",
        forward: tuple[Callable[..., Any] | None, ...] = (),
    ) -> None:
        self.primitive = primitive
        self.impl = impl
        self.signature = signature
        self.rules = rules
        self.vjp = vjp
        self.domain = domain
        self.origin = origin  # the module that registered it: whose rule this is
        #: The method of another module this one replaced (``override=True``), if any.
        self.replaces: Method | None = None
        self._shown = _required(impl, len(signature.types))
        #: Forward rules, one per positional argument, each ``rule(dx, y, *args, **kwargs)``
        #: giving that argument's part of the output tangent (None: no derivative through
        #: it); an argument past the end gets its jvp derived from its reverse rule.
        self.forward = forward
        #: One forward rule for all arguments (``jvp=`` beside ``vjp=``), or None:
        #: ``jvp(dxs, y, *args, **kwargs)`` with a tangent per positional argument (None
        #: where it has none) returns the output tangent, in place of ``forward``.
        self.jvp: Callable[..., Any] | None = None

    @property
    def name(self) -> str:
        return self.primitive.name

    @property
    def types(self) -> tuple[Any, ...]:
        """The annotated types of the required arguments (``object`` for the generic one).

        Defaulted positional parameters dispatch too but are left out here, so a method
        reads ``logp[ndarray]`` rather than ``logp[ndarray,object]``.
        """
        sig = self.signature
        return tuple(sig.types[: self._shown]) + ((sig.varargs,) if sig.has_varargs else ())

    def __repr__(self) -> str:
        names = ",".join(getattr(t, "__name__", str(t)) for t in self.types)
        return f"{self.name}[{names}]"


class Primitive:
    """A function that rulegrad records: methods chosen by argument type, each with rules.

    Make one with `primitive`; call it like the function it wraps.
    """

    __slots__ = (
        "name", "func", "zero", "_fn", "_methods", "_cache", "_only", "__weakref__", "__dict__",
    )  # fmt: skip

    def __init__(self, func: Callable[..., Any], name: str, zero: bool = False) -> None:
        self.func = func
        self.name = name
        self.zero = zero
        # help() and doctest read the function's documentation, not this class's
        self.__doc__ = getattr(func, "__doc__", None)
        self.__module__ = getattr(func, "__module__", None) or __name__
        self._fn = plum.Function(func)
        self._methods: dict[Any, Method] = {}  # impl -> Method
        self._cache: dict[tuple[type, ...], Method] = {}
        #: The method every call gets, when there is one taking arguments of any type: such
        #: a primitive skips dispatch (most numpy functions have just their generic method).
        self._only: Method | None = None

    @property
    def methods(self) -> list[Method]:
        """Every registered method, in registration order."""
        return list(self._methods.values())

    def register(
        self,
        impl: Callable[..., Any],
        rules: Sequence[Callable[..., Any] | None] = (),
        *,
        vjp: Callable[..., Any] | None = None,
        jvp: Any = None,
        domain: Domain | None = None,
        signature: plum.Signature | None = None,
        origin: str | None = None,
        override: bool = False,
    ) -> Method:
        """Add a method; its signature comes from ``impl``'s annotations unless given.

        ``jvp`` gives its forward rules (see `primitive`). ``origin`` names the module
        registering it (default: the caller's module). A
        method with the signature of one another module registered replaces it only with
        ``override=True`` (the module registering it again replaces it freely).

        Raises:
            RuleConflictError: when it would replace another module's method without
                ``override=True``. (Methods that make calls ambiguous are allowed here,
                as registering one at a time passes through such states: see `ambiguities`.)
        """
        if signature is None:
            signature = _signature(impl)
        if origin is None:
            origin = sys._getframe(1).f_globals.get("__name__", "")
        old = next((m for m in self._methods.values() if m.signature == signature), None)
        if old is not None and old.origin != origin and not override:
            raise RuleConflictError(
                f"{old!r} is registered by {old.origin}; {origin or 'this module'} may not "
                "replace it silently. Register a method for your own types, or pass "
                "override=True (rg.primitive(..., override=True)) to replace it on purpose "
                "(`rulegrad info` lists such overrides)."
            )
        self._fn.register(_inspectable(impl), signature)
        method = Method(self, impl, signature, tuple(rules), vjp, domain, origin)
        if vjp is not None and callable(jvp) and not isinstance(jvp, str):
            method.jvp = jvp  # one rule for all arguments, as vjp= is
        else:
            method.forward = _forward_rules(jvp, method.rules, self)
        if old is not None:
            del self._methods[old.impl]
            method.replaces = old if old.origin != origin else old.replaces
        self._methods[impl] = method
        self._changed()
        return method

    def remove(self, method: Method) -> None:
        """Take ``method`` out (a failed plugin's); the method it replaced comes back."""
        del self._methods[method.impl]
        if method.replaces is not None:
            self._methods[method.replaces.impl] = method.replaces
        self._fn = plum.Function(self.func)  # plum cannot unregister: rebuild it
        for m in self._methods.values():
            self._fn.register(_inspectable(m.impl), m.signature)
        self._changed()

    def _changed(self) -> None:
        methods = list(self._methods.values())
        only = len(methods) == 1 and _generic(methods[0].signature)
        self._only = methods[0] if only else None
        self._cache.clear()
        self._fn.clear_cache()

    def ambiguities(self) -> list[str]:
        """Why calls of some argument types would match two methods equally well, if any.

        Registering methods one by one passes through such states ((csr, object) and
        (object, csr) before (csr, csr)), so they are checked once registration is over:
        `rulegrad.plugins` fails a plugin that leaves one.
        """
        found = []
        methods = self.methods
        for k, a in enumerate(methods):
            for b in methods[k + 1 :]:
                sa, sb = a.signature, b.signature
                meet = None if sa <= sb or sb <= sa else _meet(sa, sb)
                fits = [m.signature for m in methods if meet is not None and meet <= m.signature]
                if sum(not any(o < s for o in fits) for s in fits) > 1:
                    names = ", ".join(getattr(t, "__name__", str(t)) for t in meet.types)
                    found.append(
                        f"{a!r} (from {a.origin}) and {b!r} (from {b.origin}) both match "
                        f"arguments ({names}) equally well, so {self.name} is ambiguous for them "
                        f"and plum refuses such calls: add a method for ({names}), or make one "
                        "of the two more specific"
                    )
        return found

    def resolve(self, types: tuple[type, ...]) -> Method:
        """The method for plain arguments of these types (cached per type tuple)."""
        method = self._cache.get(types)
        if method is None:
            try:
                with warnings.catch_warnings():
                    # plum warns that it cannot resolve ``-> Any`` return hints; we never
                    # use the return type, so the warning is noise for rule authors.
                    warnings.filterwarnings("ignore", "Could not resolve the type hint")
                    impl, _ = self._fn.resolve_method(plum.Signature(*types))
                    impl = getattr(impl, "__rulegrad_impl__", impl)
            except LookupError as e:
                if not _first["done"]:  # installed plugins may add the method: load them
                    first_use()
                    if _first["done"]:
                        return self.resolve(types)
                names = ", ".join(t.__name__ for t in types)
                if isinstance(e, plum.AmbiguousLookupError):
                    raise NoRuleError(
                        f"{self.name} is ambiguous for arguments ({names}): "
                        + "; ".join(self.ambiguities())
                    ) from e
                raise NoRuleError(
                    f"{self.name} has no method for arguments ({names}); its methods are "
                    f"{self.methods}. Add one with @rg.primitive(<rules>, of={self.name})."
                ) from e
            method = self._cache[types] = self._methods[impl]
        return method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else None
        if first.__class__ is Box and first.tape.recording and not self.zero:
            return _record(self, first.tape, args, kwargs)  # the common case: x * ..., f(x)
        top: Tape | None = None
        tracked = False
        for a in args:
            if a.__class__ is Box and a.tape.recording:
                t = a.tape
            elif isinstance(a, Tracked):
                t = _live_tape(a)
            else:
                continue
            tracked = True
            if t is not None and (top is None or t.level > top.level):
                top = t
        if top is None or self.zero:
            if top is not None and top.tracing:
                return _trace_zero(self, top, args, kwargs)
            if tracked:
                args = tuple(value(a) for a in args)
            method = self._only or self.resolve(tuple(map(type, args)))
            return method.impl(*args, **kwargs)
        return _record(self, top, args, kwargs)

    def __get__(self, obj: Any, owner: Any = None) -> Primitive:
        """As a class attribute, the primitive itself (no binding). Defining this makes it
        a routine to ``inspect``, so doctest collects the examples of decorated ones."""
        return self

    def __repr__(self) -> str:
        return f"<primitive {self.name} with {len(self._methods)} method(s)>"


def _signature(impl: Callable[..., Any]) -> plum.Signature:
    """The plum signature of ``impl``'s positional parameters (and ``*args``).

    Defaulted positional parameters are part of it, so ``logp(x, 0)`` (axis given by
    position) resolves to the same method as ``logp(x)``.
    """
    hints = inspect.get_annotations(impl, eval_str=True)
    hints = {name: object if h is Any else h for name, h in hints.items()}  # (Any: plum's object)
    types, varargs = [], None
    for p in inspect.signature(impl).parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            types.append(hints.get(p.name, object))
        elif p.kind is p.VAR_POSITIONAL:
            varargs = hints.get(p.name, object)
    return plum.Signature(*types) if varargs is None else plum.Signature(*types, varargs=varargs)


def _meet(a: plum.Signature, b: plum.Signature) -> plum.Signature | None:
    """The signature of the calls both ``a`` and ``b`` match, when each argument type of one
    is a subtype of the other's; None otherwise (unrelated types are taken as disjoint)."""
    n = max(len(a.types), len(b.types))
    types = []
    for x, y in zip(a.expand_varargs(n), b.expand_varargs(n)):
        t = _narrower(x, y)
        if t is None:
            return None
        types.append(t)
    if len(types) < n:  # one takes fewer arguments and no varargs
        return None
    v = _narrower(a.varargs, b.varargs) if a.has_varargs and b.has_varargs else None
    return plum.Signature(*types) if v is None else plum.Signature(*types, varargs=v)


def _narrower(x: Any, y: Any) -> Any:
    """The narrower of two types when one is a subtype of the other, else None."""
    if plum.Signature(x) <= plum.Signature(y):
        return x
    return y if plum.Signature(y) <= plum.Signature(x) else None


def _generic(sig: plum.Signature) -> bool:
    """Whether ``sig`` accepts arguments of every type."""
    return all(t is object for t in sig.types) and (not sig.has_varargs or sig.varargs is object)


def _required(impl: Callable[..., Any], n: int) -> int:
    """How many of the first ``n`` positional parameters of ``impl`` have no default."""
    try:
        params = list(inspect.signature(impl).parameters.values())[:n]
    except (TypeError, ValueError):  # a builtin without a signature: all are shown
        return n
    return sum(p.default is p.empty for p in params if p.kind is not p.VAR_POSITIONAL)


def _live_tape(a: Any) -> Tape | None:
    """The recording tape that tracks ``a`` at its outermost level, if any."""
    while isinstance(a, Box):
        if a.tape.recording:
            return a.tape
        a = a.value
    if isinstance(a, Param):
        stack = _ACTIVE.get()
        return stack[-1] if stack else None
    return None


def _leaf(tape: Tape, p: Param) -> Box:
    """The box standing for Param ``p`` on ``tape``, made on first touch.

    Its value is ``p``'s box on the next outer recording tape, so a Param touched
    inside nested ``diff`` calls is tracked by all of them.
    """
    inner = p._value
    if inner.__class__ is Box and inner.tape is tape:
        return inner  # code that set p.value to a box of this tape (checkgrad's Param form)
    entry = tape.leaves.get(id(p))
    if entry is not None:
        return Box(entry[1].y, tape, entry[1])
    stack = _ACTIVE.get()
    if len(stack) > 1:  # nested diffs: the newest outer recording tape tracks p too
        for t in reversed(stack):
            if t.level < tape.level and t.recording:
                inner = _leaf(t, p)
                break
    if isinstance(inner, np.ndarray):
        tape.lock(inner)
    node = Node(None, (), {}, inner, ())
    tape.nodes.append(node)
    tape.leaves[id(p)] = (p, node)  # the node, not a box: a box would make a cycle
    return Box(inner, tape, node)


def _rebind(p: Param, old: Any) -> None:
    """After ``p.value = new`` (``old`` before), on each recording tape that has read ``p``:
    later reads see ``new``, as a new leaf, and the old leaf passes the gradient it gets on
    to it, so ``p``'s gradient adds up its uses before and after (each read of p is p).

    The new leaf goes first on the tape, ahead of every node that sends it a gradient.
    """
    new = p._value
    for tape in _ACTIVE.get():  # outermost first: an inner tape's leaf holds the outer's box
        entry = tape.leaves.get(id(p))
        if entry is None or not tape.recording or (new.__class__ is Box and new.tape is tape):
            continue
        if tape.tracing:
            tape.escape(f"the value of a traced {describe(p)} was rebound (p.value = ...)")
        if _form(new) != _form(old):
            raise InPlaceError(
                f"p.value = {describe(new)} inside rg.diff, after the tape read p as "
                f"{describe(old)}: a rebound value must keep the shape {np.shape(plain(old))} "
                "and dtype the gradient adds up in. Make a new Param for the new value."
            )
        old_leaf = entry[1]
        del tape.leaves[id(p)]
        box = _leaf(tape, p)
        tape.nodes.remove(box.node)
        tape.nodes.insert(0, box.node)
        old_leaf.method, old_leaf.args, old_leaf.kwargs = _REBOUND, (box.value,), {}
        old_leaf.parents = [(0, box.node, -1)]


def _form(x: Any) -> tuple:
    """The shape and dtype of ``x``'s plain value."""
    v = plain(x)
    return np.shape(v), v.dtype if hasattr(v, "dtype") else np.result_type(v)


def _record(prim: Primitive, tape: Tape, args: tuple, kwargs: dict) -> Any:
    """Run ``prim`` one boxing level below ``tape`` and record it there (the hot path)."""
    raw = []  # the arguments one boxing level down
    parents = []
    nested = False
    i = -1  # (a counter: enumerate costs 3 % of a small primitive's recording and walk)
    for a in args:
        i += 1
        cls = a.__class__
        if cls is Box and a.tape is tape:
            pass  # the common case: a value of this tape
        elif cls is np.ndarray:  # a constant the tape keeps: lock it against writes
            if id(a) not in tape.seen:
                tape.lock(a)
            raw.append(a)
            continue
        elif cls is Param and (stack := _ACTIVE.get()) and stack[-1] is tape:
            a = _leaf(tape, a)  # a Param, and no newer tape that should record this call
        elif (role := _ROLES[cls]) is _PLAIN:  # (as fast as isinstance(a, Tracked) was)
            raw.append(a)
            continue
        elif role is _HOLDS:  # a tuple (an index), a list, an ndarray subclass
            raw.append(_held(tape, a))
            continue
        else:
            live = _live_tape(a)
            if live is not None and live.level > tape.level:
                return _record(prim, live, args, kwargs)  # a newer tape tracks this argument
            while isinstance(a, Box) and not a.tape.recording:
                a = a.value  # a finished diff's result is a constant here
            if isinstance(a, Param):
                a = _leaf(tape, a)
            if not (isinstance(a, Box) and a.tape is tape):
                nested = nested or isinstance(a, Tracked)
                raw.append(a)
                continue
        v = a.value
        raw.append(v)
        if v.__class__ is not np.ndarray and isinstance(v, Tracked):
            nested = True  # a box of an outer tape: the call is recorded there too
        parents.append((i, a.node, a.index))
    raw = tuple(raw)
    if nested:
        y = prim(*raw, **kwargs)
        method = prim.resolve(tuple(type(value(r)) for r in raw))
        kwargs = _held_keywords(tape, kwargs)
    else:
        method = prim._only or prim.resolve(tuple(map(type, raw)))
        if kwargs:
            y = method.impl(*raw, **kwargs)
            for v in kwargs.values():  # (after the call, which writes an out= buffer)
                if _ROLES[v.__class__] is _HOLDS:  # where=mask (rarely: axis=0, keepdims)
                    kwargs = _held_keywords(tape, kwargs)
                    break
        else:
            y = method.impl(*raw)
    node = Node(method, raw, kwargs, y, parents)
    tape.nodes.append(node)  # (a forward tape's nodes compute the tangent here: forward.py)
    if not isinstance(y, tuple):
        return Box(y, tape, node)
    out = tuple(Box(v, tape, node, k) for k, v in enumerate(y))
    return type(y)(*out) if hasattr(type(y), "_fields") else out


_PLAIN, _TRACKED, _HOLDS = "plain", "tracked", "holds arrays"


class _Roles(dict):
    """How `_record` takes an argument of each class (other than the common ones it tests
    first), found on first sight: as it is, as a tracked value, or through `_held`."""

    def __missing__(self, cls: type) -> str:
        held = issubclass(cls, (np.ndarray, tuple, list))
        role = self[cls] = _HOLDS if held else _TRACKED if issubclass(cls, Tracked) else _PLAIN
        return role


_ROLES = _Roles()


def _held(tape: Tape, a: Any) -> Any:
    """Argument ``a`` as ``tape`` keeps it, safe from writes until the backward pass: the
    arrays in a tuple (the index of ``W[idx, :]``) and an ndarray of a subclass
    (``np.memmap``) are locked; a list, which cannot be made read-only, is copied."""
    cls = a.__class__
    if cls is tuple or cls is list:
        for v in a:  # (most tuples are indices or shapes of numbers and slices: no work)
            if _ROLES[v.__class__] is _HOLDS:
                break
        else:
            return a if cls is tuple else list(a)
    elif isinstance(a, np.ndarray):
        if id(a) not in tape.seen:
            tape.lock(a)
        return a
    items = [_held(tape, v) if _ROLES[v.__class__] is _HOLDS else v for v in a]
    if cls is list:
        return items
    return cls(*items) if hasattr(cls, "_fields") else cls(items)


def _held_keywords(tape: Tape, kwargs: dict) -> dict:
    """The keyword arguments of a recorded call as `_held` keeps them (``where=mask``)."""
    for k, v in kwargs.items():
        if _ROLES[v.__class__] is _HOLDS:
            h = _held(tape, v)
            if h is not v:
                kwargs = {**kwargs, k: h}
    return kwargs


def _trace_zero(prim: Primitive, tape: Tape, args: tuple, kwargs: dict) -> Any:
    """A zero-gradient call on values `jit` is tracing: recorded, so a replay recomputes it.

    Its outputs are boxed, so what is computed from them is recorded too (it has no
    rules: no gradient flows back through it). An output that is not an array (a Python
    bool from ``np.allclose``, say) is plain data no replay could recompute.
    """
    out = _record(prim, tape, args, kwargs)
    for box in out if isinstance(out, tuple) else (out,):
        v = box.value
        if not (isinstance(v, (np.ndarray, np.generic)) or hasattr(v, "__array_namespace__")):
            tape.escape(f"{prim.name} returned plain data ({describe(v)}) from traced values")
    return out


def _get(func: Any, zero: bool = False) -> Primitive:
    """The primitive made from ``func``, made (with a generic method) on first use."""
    if isinstance(func, Primitive):
        return func
    prim = PRIMITIVES.get(func)
    if prim is None:
        prim = PRIMITIVES[func] = Primitive(func, _name(func), zero=zero)
        FUNCTIONS[func] = prim
    return prim


def _claim(func: Any, origin: str, override: bool, zero: bool = False) -> Primitive:
    """`_get`, refusing to take ``func`` over from another module's `implements` handler
    unasked (a primitive's own methods are checked by `Primitive.register`)."""
    handler = FUNCTIONS.get(func)
    if handler is not None and not isinstance(handler, Primitive):
        _check_owner(func, handler, origin, override)
    return _get(func, zero=zero)


def _check_owner(func: Any, handler: Any, origin: str, override: bool) -> None:
    """Raise `RuleConflictError` if ``handler`` of ``func`` is another module's."""
    if isinstance(handler, Primitive):
        owners = {m.origin for m in handler.methods}
    else:
        owners = {getattr(handler, "__module__", None) or ""}
    if override or not owners or origin in owners:
        return
    raise RuleConflictError(
        f"{_name(func)} is handled by {', '.join(sorted(owners))} ({handler!r}); "
        f"{origin or 'this module'} may not replace that handler silently. Pass "
        "override=True to replace it on purpose."
    )


def _caller() -> str:
    """The module that called the public registration function calling this."""
    return sys._getframe(2).f_globals.get("__name__", "")


def _inspectable(impl: Callable[..., Any]) -> Callable[..., Any]:
    """``impl``, or a plain function calling it when Python cannot read its signature (a
    numpy 1.x ufunc), which plum needs. Calls go to ``impl`` itself, not through this."""
    try:
        inspect.signature(impl)
    except (TypeError, ValueError):

        def call(*args: Any, **kwargs: Any) -> Any:
            return impl(*args, **kwargs)

        call.__name__ = getattr(impl, "__name__", "impl")
        call.__rulegrad_impl__ = impl  # type: ignore[attr-defined]
        return call
    return impl


def _forward_rules(jvp: Any, rules: tuple, prim: Primitive) -> tuple:
    """A method's forward rules from ``jvp=``: none, one function (for argument 0), a
    sequence of them, `ELEMENTWISE` (the reverse rules themselves) or `LINEAR`."""
    if jvp is None:
        return ()
    if isinstance(jvp, str):
        if jvp == ELEMENTWISE:
            return rules
        if jvp != LINEAR:
            raise ArgumentError(f"jvp={jvp!r}: pass forward rules, rg.ELEMENTWISE or rg.LINEAR")

        def linear(dx: Any, y: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs.pop("out", None)  # (the primal's buffer: the tangent is an array of its own)
            return prim(dx, *args, **kwargs)

        linear.__name__ = f"{prim.name}_linear"
        return (linear,)
    return (jvp,) if callable(jvp) else tuple(jvp)


def _is_rule(x: Any) -> bool:
    """Rules take ``dy`` first; the functions they differentiate do not."""
    if x is None:
        return True
    try:
        params = list(inspect.signature(x).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] == "dy"


def primitive(
    *args: Any,
    vjp: Callable[..., Any] | None = None,
    jvp: Any = None,
    domain: Domain | None = None,
    of: Any = None,
    override: bool = False,
) -> Any:
    """Make a function a primitive with gradient rules (AutoGrad.jl's ``@primitive``).

    Two forms:

    * ``primitive(f, rule_0, rule_1, ...)`` records ``f`` (a numpy function, say) with
      one rule per positional argument; ``None`` marks an argument with no gradient.
      The method is generic: it applies to arguments of any type.
    * ``@primitive(rule_0, ...)`` decorates a new function; its annotations pick the
      types its method applies to. Decorating another function of the same name (or
      passing ``of=``) adds a method to the same primitive, with its own rules.

    A rule is called as ``rule(dy, y, *args, **kwargs)`` with the output gradient, the
    output and the plain arguments, and returns the gradient for its argument. Write it
    with numpy calls so it can be differentiated again; the core sums broadcast axes.
    ``vjp=`` instead gives one function returning a tuple with a gradient per argument
    (for functions of any number of arguments, such as ``concatenate``), and beside it a
    single function ``jvp=`` is its forward counterpart, ``jvp(dxs, y, *args, **kwargs)``
    taking a tuple with a tangent per positional argument (None where it has none) and
    returning the output tangent, one call for all arguments (a sequence gives per-argument
    rules, as without ``vjp=``).

    Forward mode (`rg.jvp`) derives each method's jvp from its reverse rules. ``jvp=``
    gives forward rules instead, faster: one per positional argument, each called as
    ``rule(dx, y, *args, **kwargs)`` with that argument's tangent and returning its part
    of the output tangent (a single function is argument 0's rule, None means no
    derivative, arguments past the end fall back to the derived jvp),
    `rg.ELEMENTWISE` for an elementwise function, whose reverse rules are also its
    forward rules, or `rg.LINEAR` for a function linear in its first argument, whose
    forward rule is the function itself applied to the tangent.

    Args:
        *args: the function and its rules, or (decorator form) the rules only.
        vjp: a function ``(dy, y, *args, **kwargs) -> tuple`` replacing per-argument rules.
        jvp: forward rules: a function, a sequence of them, `rg.ELEMENTWISE` or `rg.LINEAR`;
            beside ``vjp=``, a function ``(dxs, y, *args, **kwargs) -> tangent`` for all.
        domain: how to draw valid inputs for the automatic checks (`Domain`).
        of: the primitive (or function) a decorated method belongs to.
        override: replace a method of the same types that another module registered
            (``rulegrad info`` lists it); without it that is a `RuleConflictError`.

    Returns:
        The `Primitive` (a callable); in decorator form, a decorator returning it.

    Raises:
        RuleConflictError: when the method would replace another module's method of the
            same types (without ``override=True``).

    Examples:
        >>> import rulegrad as rg
        >>> @rg.primitive(lambda dy, y, x: dy * y * (1 - y))
        ... def sigm(x):
        ...     return 1 / (1 + np.exp(-x))
        >>> x = rg.Param(np.array([0.0, 1.0]))
        >>> J = rg.diff(lambda: np.sum(sigm(x)))
        >>> rg.grad(J, x).round(4)
        array([0.25  , 0.1966])

        A function of any number of arrays, with one rule each way for all of them:

        >>> @rg.primitive(
        ...     vjp=lambda dy, y, *xs: tuple(dy for _ in xs),
        ...     jvp=lambda dxs, y, *xs: sum(dx for dx in dxs if dx is not None),
        ... )
        ... def total(*xs):
        ...     return sum(xs)
        >>> rg.jvp(lambda a, b: total(a, 5.0, b), (1.0, 2.0), (1.0, 10.0))
        (np.float64(8.0), np.float64(11.0))
    """
    if args and not _is_rule(args[0]):
        func, *rules = args
        origin = _caller()
        prim = _claim(func, origin, override)
        prim.register(
            func, rules, vjp=vjp, jvp=jvp, domain=domain, signature=_ANY, origin=origin,
            override=override,
        )  # fmt: skip
        if override:
            prim.zero = False  # rules replacing a zerograd
        return prim

    def decorate(impl: Callable[..., Any]) -> Primitive:
        if of is not None:
            prim = _claim(of, origin, override)
        else:
            key = f"{impl.__module__}.{impl.__qualname__}"
            prim = PRIMITIVES.get(key) or PRIMITIVES.setdefault(
                key, Primitive(impl, getattr(impl, "__name__", key))
            )
        prim.register(impl, args, vjp=vjp, jvp=jvp, domain=domain, origin=origin, override=override)
        return prim

    origin = _caller()
    return decorate


def passthrough(dy: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
    """The rule of an argument whose gradient is the output gradient as it is: ``x`` in
    ``x + y`` (the core sums broadcast axes). `rg.jit`'s replays recognize it and use
    ``dy`` without calling a rule.

    Examples:
        >>> import rulegrad as rg
        >>> @rg.primitive(rg.passthrough, None)
        ... def shift(x, by):
        ...     return x + by
        >>> w = rg.Param(np.zeros(2))
        >>> rg.grad(rg.diff(lambda: np.sum(shift(w, 1.0) * 3.0)), w)
        array([3., 3.])
    """
    return dy


def _rebound(new: Any) -> Any:
    """The node a Param's earlier leaf becomes when its value is rebound (see `_rebind`)."""
    return new


_REBOUND = Primitive(_rebound, "p.value = ...").register(_rebound, [passthrough], signature=_ANY)


def zerograd(*funcs: Any, override: bool = False) -> Any:
    """Record nothing for these functions: they return plain values and have no gradient.

    For comparisons, ``np.sign``, ``np.argmax``, shape queries and the like. numpy
    functions are intercepted wherever they are called; a function of your own is
    intercepted through what this returns (its primitive; a tuple of them for several),
    so use it as a decorator or keep the result. A function another module gave rules
    is made zero-gradient only with ``override=True`` (else `RuleConflictError`).

    Examples:
        >>> import rulegrad as rg
        >>> _ = rg.zerograd(np.isfinite)
        >>> x = rg.Param(np.array([1.0, np.inf]))
        >>> rg.diff(lambda: np.isfinite(x))  # a plain array: nothing was recorded
        Result(array([ True, False]), tape of 0 nodes)
        >>> @rg.zerograd
        ... def bucket(v):
        ...     return np.floor(v * 2)
        >>> rg.diff(lambda: bucket(rg.Param(np.array([1.2]))))
        Result(array([2.]), tape of 0 nodes)
    """
    prims, origin = [], _caller()
    for f in funcs:
        prim = _claim(f, origin, override, zero=True)
        ruled = [m for m in prim.methods if m.origin != origin]
        if ruled and not prim.zero and not override:
            raise RuleConflictError(
                f"{prim.name} has gradient rules ({ruled[0]!r} from {ruled[0].origin}); "
                f"rg.zerograd from {origin or 'this module'} would make its gradient zero. "
                "Pass override=True to do so on purpose."
            )
        prim.zero = True
        if f not in prim._methods:
            prim.register(f, (), signature=_ANY, origin=origin, override=override)
        prims.append(prim)
    return prims[0] if len(prims) == 1 else tuple(prims)


def implements(
    func: Any, *, override: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route ``func`` on tracked values to a plain Python function built from primitives.

    For numpy functions that are compositions of existing primitives (they need no rule
    of their own) or whose calling convention differs from a primitive's (a list of
    arrays in, say). Replacing the handler another module registered for ``func`` needs
    ``override=True`` (else `RuleConflictError`).

    Examples:
        >>> import rulegrad as rg
        >>> saved = FUNCTIONS.get(np.linalg.norm)
        >>> @rg.implements(np.linalg.norm, override=True)  # rulegrad's own is replaced
        ... def _norm(x):
        ...     return np.sqrt(np.sum(x * x))
        >>> x = rg.Param(np.array([3.0, 4.0]))
        >>> rg.grad(rg.diff(lambda: np.linalg.norm(x)), x)
        array([0.6, 0.8])
        >>> FUNCTIONS[np.linalg.norm] = saved  # leave the registry as it was
    """

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        old = FUNCTIONS.get(func)
        if old is not None:
            _check_owner(func, old, origin, override)
        FUNCTIONS[func] = handler
        return handler

    origin = _caller()

    return register
