"""Tracked values: `Param` (a leaf you want gradients for) and `Box` (a recorded result).

Both act like the array they hold. Python operators, ``__array_ufunc__`` and
``__array_function__`` send every call to the handler registered for that function in
`FUNCTIONS` (filled by ``primitive``/``zerograd``/``implements``), so model code stays
ordinary numpy: ``np.tanh(w @ x + b)``. A function with no handler raises `NoRuleError`
on a value a tape records; on any other (a Param outside ``diff``, a finished Result) it
runs on the plain value, as on the array itself (``np.save(path, w)``).
"""

from __future__ import annotations

import gc
import operator
import warnings
from collections.abc import Callable, Iterator
from functools import partialmethod
from typing import Any

import numpy as np

from .errors import ArgumentError, ConstantWarning, DTypeError, InPlaceError, NoRuleError
from .tape import _ACTIVE, Node, Tape, active_tapes, first_use

__all__ = [
    "Tracked", "Param", "Box", "Result", "value", "plain", "FUNCTIONS", "call", "describe",
    "map_leaves",
]  # fmt: skip

#: numpy function, ufunc or operator -> the callable that handles it for tracked values.
FUNCTIONS: dict[Any, Callable[..., Any]] = {}


def describe(x: Any) -> str:
    """A short description of a value's type, dtype and shape, for messages.

    Examples:
        >>> describe(np.zeros((2, 3), np.float32))
        'ndarray[float32](2, 3)'
        >>> describe(1.5)
        'float'
    """
    if isinstance(x, Tracked):  # (a Param's _value: its value property refuses while tracing)
        inner = x._value if isinstance(x, Param) else x.value
        return f"{'Result' if isinstance(x, Box) else type(x).__name__}({describe(inner)})"
    if isinstance(x, type):  # a dtype class such as np.float32
        return x.__name__
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{type(x).__name__}[{x.dtype}]{tuple(x.shape)}"
    return type(x).__name__


def _name(func: Any) -> str:
    """How messages and primitives name a function: ``np.log``, ``np.linalg.svd``, ``erf``."""
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    if isinstance(func, np.ufunc):  # numpy's own, or another library's (scipy.special)
        return f"np.{name}" if getattr(np, name, None) is func else name
    if module == "numpy":
        return f"np.{name}"
    if module.startswith("numpy"):
        return f"{module.replace('numpy', 'np', 1)}.{name}"
    return f"{module}.{name}" if module else name


def no_rule(func: Any, args: tuple, extra: str = "") -> NoRuleError:
    """The error for a function that met a tracked value and has no handler."""
    types = ", ".join(describe(a) for a in args)
    return NoRuleError(
        f"{_name(func)}{extra} has no gradient rule for arguments ({types}). "
        f"Add one with rg.primitive({_name(func)}, <one rule per argument>) "
        f"or, if it has no gradient, rg.zerograd({_name(func)})."
    )


def _late(func: Any) -> Callable[..., Any] | None:
    """The handler for ``func`` once installed plugins are loaded (`first_use`), or None."""
    first_use()
    return FUNCTIONS.get(func)


def call(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the handler registered for ``func``; `NoRuleError` when there is none."""
    handler = FUNCTIONS.get(func)
    if handler is None and (handler := _late(func)) is None:
        raise no_rule(func, args)
    return handler(*args, **kwargs)


def value(x: Any) -> Any:
    """The plain value inside a Param or box (all levels of boxing removed); others as is.

    Examples:
        >>> value(Param([1.0, 2.0]))
        array([1., 2.])
        >>> value(3)
        3
    """
    while isinstance(x, Tracked):
        if isinstance(x, Box):
            tape = x.tape
            if tape.tracing and tape.recording:
                tape.escape(_read(x))
            if not tape.done and isinstance(x.value, np.ndarray):
                tape.lock(x.value)  # the caller may write into it; the tape still needs it
        x = x.value  # (a Param's value property refuses while jit traces)
    return x


def plain(x: Any) -> Any:
    """The plain value inside ``x``, for reading metadata (shape, dtype) or printing.

    Unlike `value` it neither protects the value from writes nor counts as reading the
    data (which stops `jit` from replaying a function), so use it only where neither
    matters.

    Examples:
        >>> plain(Param([1.0, 2.0])).shape
        (2,)
    """
    while isinstance(x, Tracked):
        x = x._value if isinstance(x, Param) else x.value
    return x


#: What a replay compares for each metadata query (`metadata`): the rest compare the shape.
_CHECKED = {np.ndim: "ndim", np.size: "size"}


def metadata(query: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> Any:
    """``query(plain(x), ...)`` for a query of metadata: ``np.shape``, ``np.ndim``,
    ``np.size`` or ``len``, answered from the plain value without recording anything.

    While `jit` traces ``x``, the shape of a recorded call's output may depend on the data
    (``x[x > 0]``), so the tape notes the read (`Tape.reads`) and a replay checks that the
    value still has the shape (ndim, size) the recording read.

    Examples:
        >>> metadata(np.shape, Param(np.zeros((2, 3)))), metadata(len, Param([1.0]))
        ((2, 3), 1)
    """
    b = x
    while b.__class__ is Box:
        if b.tape.tracing:
            if b.node.method is not None:  # (an input's or a Param's shape is in the signature)
                kind = "shape" if args or kwargs else _CHECKED.get(query, "shape")
                b.tape.reads.append((b.node, b.index, kind))
            break
        b = b.value
    return query(plain(x), *args, **kwargs)


def map_leaves(f: Callable[[Any], Any], x: Any) -> Any:
    """Structure ``x`` (lists, tuples, named tuples, dicts, nested) with each leaf ``v``, which
    is anything else (an array, a number, a box, None), replaced by ``f(v)``.

    Examples:
        >>> map_leaves(lambda v: v * 2, {"a": [1, 2], "b": (3,)})
        {'a': [2, 4], 'b': (6,)}
    """
    if isinstance(x, (list, tuple)):
        got = [map_leaves(f, v) for v in x]
        return type(x)(*got) if hasattr(type(x), "_fields") else type(x)(got)
    if isinstance(x, dict):
        return {k: map_leaves(f, v) for k, v in x.items()}
    return f(x)


def _read(x: Any) -> str:
    return f"the plain value of a traced {describe(x)} was read (float(), bool(), rg.value, ...)"


def _binary(func: Any, reflected: bool = False) -> Callable[[Any, Any], Any]:
    """A Python operator method calling ``func``'s handler (looked up at call time)."""
    get = FUNCTIONS.get
    if reflected:

        def method(self: Tracked, other: Any) -> Any:
            handler = get(func)
            if handler is None and (handler := _late(func)) is None:
                raise no_rule(func, (other, self))
            return handler(other, self)
    else:

        def method(self: Tracked, other: Any) -> Any:
            handler = get(func)
            if handler is None and (handler := _late(func)) is None:
                raise no_rule(func, (self, other))
            return handler(self, other)

    method.__name__ = f"{'r' if reflected else ''}{getattr(func, '__name__', 'op')}"
    return method


class Tracked:
    """What `Param` and `Box` share: behaving like the array they hold."""

    __slots__ = ()
    __array_priority__ = 1000.0
    __hash__ = object.__hash__  # identity, as torch.Tensor: optimizers key state by Param

    value: Any

    # ---- numpy protocols ----
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        func = ufunc if method == "__call__" else getattr(ufunc, method)
        for a in inputs:  # (a loop, not a new tuple per call: this is the hot path)
            if isinstance(a, (list, tuple)):
                # a ufunc reads a list or tuple input as an array: so do the rules (np.power(x,
                # [1.0, 2.0])'s computes x2 - 1), and a tracked element raises as in np.asarray
                inputs = tuple(np.asarray(b) if isinstance(b, (list, tuple)) else b for b in inputs)
                break
        handler = FUNCTIONS.get(func)
        if handler is not None and "out" not in kwargs:
            return handler(*inputs, **kwargs)
        out = kwargs.get("out", ())
        if not any(isinstance(a, Tracked) and a._live() for a in (*inputs, *out)):
            # nothing records these values: the ufunc runs on them (out=w writes w.value)
            if out:
                for o in out:
                    flags = getattr(o._value, "flags", None) if isinstance(o, Param) else None
                    if not getattr(flags, "writeable", True):
                        raise InPlaceError(_held(o))  # a pending Result holds it read-only
                kwargs["out"] = tuple(value(o) for o in out)
            return func(*(value(a) for a in inputs), **kwargs)
        if out:
            raise InPlaceError(
                f"np.{ufunc.__name__}(..., out=...) writes in place, which a tape cannot "
                "record; compute a new value instead (y = np.f(x), not np.f(x, out=y))."
            )
        if (handler := _late(func)) is None:
            raise no_rule(ufunc, inputs, extra="" if func is ufunc else f".{method}")
        return handler(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        handler = FUNCTIONS.get(func)
        if handler is None and (handler := _late(func)) is None:
            implementation = getattr(func, "_implementation", None)  # numpy's, no dispatch
            if implementation is None or self._live():
                raise no_rule(func, args)
            # nothing records this value: numpy's own code runs on it (np.save(path, w)),
            # which reads it through __array__ (refusing any value a tape does record)
            return implementation(*args, **kwargs)
        return handler(*args, **kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self._live():
            raise NoRuleError(
                f"converting a tracked {describe(self)} to a plain array (np.asarray, "
                "np.array, ...) would drop it from the tape. Use rg.value(x) for a constant, "
                "or np.stack/np.concatenate to build arrays from tracked values."
            )
        return np.asarray(value(self), dtype=dtype)

    def _live(self) -> bool:
        """Whether operations on this value are being recorded."""
        raise NotImplementedError

    # ---- array attributes: plain values ----
    shape = property(lambda self: metadata(np.shape, self))
    dtype = property(lambda self: np.result_type(plain(self)))
    ndim = property(lambda self: metadata(np.ndim, self))
    size = property(lambda self: metadata(np.size, self))
    T = property(lambda self: call(np.transpose, self))
    real = property(lambda self: call(np.real, self))
    imag = property(lambda self: call(np.imag, self))

    def __len__(self) -> int:
        return metadata(len, self)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        return float(self._number())

    def __int__(self) -> int:
        return int(self._number())

    def __complex__(self) -> complex:
        return complex(self._number())

    def _number(self) -> Any:
        """The plain value for float()/int()/complex(), warning when that drops a gradient.

        numpy calls ``__float__`` when a tracked scalar is written into a plain array
        (``h[t] = np.tanh(x[t])``), so the warning is the only sign that such a value lost
        its gradient.
        """
        v = value(self)  # (while `jit` traces, this raises instead: nothing to warn about)
        if self._live():
            warnings.warn(
                f"float()/int() of a tracked value ({describe(self)}) is a constant: no "
                "gradient flows through it. To keep the gradient, do not write tracked values "
                "into plain arrays; collect them in a list and use np.stack, and use "
                "rg.value(x) to read a value on purpose.",
                ConstantWarning,
                stacklevel=3,
            )
        return v

    def __bool__(self) -> bool:
        return bool(value(self))

    def item(self) -> Any:
        return value(self).item()

    def tolist(self) -> Any:
        return value(self).tolist()

    # ---- indexing ----
    def __getitem__(self, index: Any) -> Any:
        return call(operator.getitem, self, index)

    def __setitem__(self, index: Any, v: Any) -> None:
        raise InPlaceError(
            f"x[{index!r}] = ... writes into a tracked {describe(self)}, which the tape may "
            "need for the backward pass. Build a new array instead (np.where, "
            "np.concatenate, or x + np.eye(...) style updates)."
        )

    # ---- methods of ndarray, routed to the numpy functions ----
    def reshape(self, *shape: Any, **kw: Any) -> Any:
        return call(np.reshape, self, shape[0] if len(shape) == 1 else shape, **kw)

    def transpose(self, *axes: Any) -> Any:
        return call(np.transpose, self, (axes[0] if len(axes) == 1 else axes) or None)

    def astype(self, dtype: Any, **kw: Any) -> Any:
        return call(np.ndarray.astype, self, dtype, **kw)

    def dot(self, b: Any) -> Any:
        return call(np.dot, self, b)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({plain(self)!r})"


def _method(func: Any) -> Callable[..., Any]:
    def method(self: Tracked, *args: Any, **kwargs: Any) -> Any:
        return call(func, self, *args, **kwargs)

    method.__name__ = func.__name__
    method.__doc__ = f"Same as {_name(func)}(self, ...)."
    return method


_METHODS = (
    np.sum, np.mean, np.prod, np.max, np.min, np.var, np.std, np.cumsum, np.cumprod, np.ravel,
    np.squeeze, np.clip, np.argmax, np.argmin, np.round, np.conj, np.swapaxes, np.repeat,
    np.trace, np.diagonal, np.nonzero, np.all, np.any, np.copy,
)  # fmt: skip
for _f in _METHODS:
    setattr(Tracked, _f.__name__, _method(_f))
Tracked.flatten = _method(np.ravel)
Tracked.conj = Tracked.conjugate

_OPERATORS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power, "matmul": np.matmul,
}  # fmt: skip
for _op, _f in _OPERATORS.items():
    setattr(Tracked, f"__{_op}__", _binary(_f))
    setattr(Tracked, f"__r{_op}__", _binary(_f, reflected=True))
for _op, _f in {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
                "eq": np.equal, "ne": np.not_equal}.items():  # fmt: skip
    setattr(Tracked, f"__{_op}__", _binary(_f))
Tracked.__neg__ = lambda self: call(np.negative, self)
Tracked.__pos__ = lambda self: self
Tracked.__abs__ = lambda self: call(np.absolute, self)


def _as_leaf_value(x: Any, what: str) -> Any:
    """Check and convert a value that gradients will be taken with respect to.

    Python numbers and lists become float64 arrays (``Param([1, 2, 3])`` works, as in
    AutoGrad.jl); arrays keep their dtype, which must be floating or complex.
    """
    if isinstance(x, (bool, np.bool_)):
        raise DTypeError(f"cannot differentiate with respect to a boolean {what} ({x!r}).")
    article = "an" if what[0] in "aeiouAEIOU" else "a"
    if isinstance(x, (int, float, complex, list, tuple)):
        x = np.asarray(x, dtype=complex if np.iscomplexobj(x) else np.float64)
        return x[()] if x.ndim == 0 else x
    if x is None or isinstance(x, (str, bytes, dict, set, frozenset)):
        raise DTypeError(  # (other objects pass: a parameter type with a vector space)
            f"{what} takes a float or complex array, a Python number or a list of numbers, "
            f"got {describe(x)}"
        )
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise DTypeError(
            f"cannot differentiate with respect to {article} {what} of dtype {dtype}: gradients "
            "need floating point. Convert it first, e.g. x.astype(np.float32) or np.float64."
        )
    return x


class Param(Tracked):
    """A trainable value: tracked by every ``diff`` that touches it, a plain array elsewhere.

    Args:
        value: an array (float or complex), a Python number or a list of numbers
            (converted to float64).

    Outside ``diff``, ``w -= g`` (and ``+=``, ``*=`` ...) updates the value in place, as
    for an array; inside, it is an `InPlaceError` (the tape reads the value). Rebinding
    ``w.value = new`` inside ``diff`` is seen by later reads, and ``w``'s gradient adds up
    its uses before and after (the new value must have the old one's shape and dtype).

    Examples:
        >>> w = Param(np.array([1.0, 2.0, 3.0]))
        >>> w * 2
        array([2., 4., 6.])
        >>> w.value -= 1.0  # update in place, as AutoGrad.jl's training loops do
        >>> w -= 0.5  # the same, on the Param
        >>> w
        Param(array([-0.5,  0.5,  1.5]))
    """

    __slots__ = ("_value", "opt", "__weakref__")

    def __init__(self, value: Any) -> None:
        if isinstance(value, Tracked):
            raise ArgumentError(
                "Param(x) takes a plain value; use rg.value(x) to unwrap a tracked one"
            )
        v = _as_leaf_value(value, "Param")
        # a 0-d array, not a numpy scalar: optimizers update every Param in place
        self._value = np.array(v) if isinstance(v, np.generic) else v
        self.opt: Any = None  # room for a per-parameter optimizer (Knet's p.opt)

    @property
    def value(self) -> Any:
        """The array this Param holds (read inside a function `jit` records, it is plain
        data the recording cannot follow, so that function runs eagerly)."""
        stack = _ACTIVE.get()
        if stack and stack[-1].tracing:
            stack[-1].escape(_read(self))
        return self._value

    @value.setter
    def value(self, v: Any) -> None:
        old, self._value = self._value, v
        if _ACTIVE.get():  # rebound while recording: later reads must see the new value
            from .primitive import _rebind  # (primitive imports this module)

            try:
                _rebind(self, old)
            except BaseException:
                self._value = old
                raise

    def _live(self) -> bool:
        return bool(active_tapes())

    def _update(self, func: Any, op: str, other: Any) -> Param:
        """``self op= other`` (``w += 1``): the value updated in place, as numpy does for an
        array, and the Param kept; refused while recording (the tape reads the value)."""
        if active_tapes():
            raise InPlaceError(
                f"w {op}= ... inside rg.diff writes into {describe(self)}, whose value the "
                f"tape reads: compute a new value instead (w {op} 1, not w {op}= 1), or update "
                "the Param outside the diff."
            )
        func(self, other, out=(self,))  # (our __array_ufunc__: it writes into the value)
        return self

    def __setitem__(self, index: Any, v: Any) -> None:
        if active_tapes():
            super().__setitem__(index, v)
        self._value[index] = value(v)


_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
            "pow": "**", "matmul": "@"}  # fmt: skip
for _op, _f in _OPERATORS.items():  # w += 1, ...: in place on the value
    setattr(Param, f"__i{_op}__", partialmethod(Param._update, _f, _SYMBOLS[_op]))


def _held(p: Param) -> str:
    """Why ``p``'s array is read-only: the Results whose tapes still need it, and what to do.

    Looked up on this error path only (the tapes do not keep a list of who locked what)."""
    key = id(p._value)
    tapes = [t for t in gc.get_objects() if t.__class__ is Tape and key in t.seen and not t.done]
    held = [repr(b) for t in tapes for b in gc.get_referrers(t) if isinstance(b, Box)][:3]
    who = ", ".join(held) if held else "a Result recorded by rg.diff"
    return (
        f"cannot update {describe(p)} in place: {who} still needs its value for the "
        "backward pass, so the array is read-only until then. Take that Result's gradient "
        "(rg.grad(J, p)), or drop it (del J), then update the Param."
    )


class Box(Tracked):
    """A value recorded on a tape (AutoGrad.jl's ``Result``); `diff` returns one.

    ``value`` is the value one level down: a plain array, or a box of an outer tape
    when differentiating to higher order. ``print(box)`` lists its tape.
    """

    __slots__ = ("value", "tape", "node", "index")

    def __init__(self, value: Any, tape: Tape, node: Node, index: int = -1) -> None:
        self.value = value
        self.tape = tape
        self.node = node
        self.index = index  # position in a primitive's tuple of outputs, -1 for one output

    def _live(self) -> bool:
        return self.tape.recording

    def __repr__(self) -> str:
        return f"Result({plain(self)!r}, tape of {len(self.tape)} nodes)"

    def __str__(self) -> str:
        lines = [repr(self)]
        for i, node in enumerate(self.tape.nodes):
            if node.method is None:
                lines.append(f"  [{i}] input {describe(node.y)}")
            else:
                args, y = ", ".join(describe(a) for a in node.args), node.y
                out = f"({', '.join(map(describe, y))})" if isinstance(y, tuple) else describe(y)
                lines.append(f"  [{i}] {node.method.name}({args}) -> {out}")
        if self.tape.done:
            lines.append("  (the backward pass has run and released the recorded nodes)")
        return "\n".join(lines)


#: AutoGrad.jl's name for a recorded value.
Result = Box
