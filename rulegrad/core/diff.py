"""Reverse mode: `diff`, `grad`, `gradloss`, `vjp`, `params`, and the backward walk.

`diff` runs a function with a fresh tape active and returns its result as a box;
`grad(result, p)` walks the tape backwards once, leaving every Param's gradient on its
leaf node, and releases the tape's arrays as it goes. The old interface
``grad(f, argnums)`` wraps the chosen arguments as leaves of a tape of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np
import plum

from .box import FUNCTIONS, Box, Param, Tracked, _as_leaf_value, describe, map_leaves, plain
from .errors import ArgumentError, NonScalarError, OutputError, RuleError, RulegradError
from .primitive import _leaf
from .tape import _ACTIVE, Node, Tape
from .unbroadcast import _is_complex, unbroadcast

__all__ = ["diff", "grad", "gradloss", "vjp", "params", "backward", "GRAD_HOOK"]

#: The gradient hook of the backward walks run in this context, or None (`rulegrad.distributed`
#: sets one to reduce gradients across processes while the walk goes on): the walk calls
#: ``hook.leaf(tape, node)`` when it has finished leaf ``node``'s gradient (``node.grad``, which
#: the hook may replace), and ``hook.done(tape)`` when it has finished them all. An `rg.jit`
#: replay calls ``walk = hook.begin_replay(params)``, ``walk.give(k, g)`` as ``params[k]``'s
#: gradient is finished, and ``walk.close(tape)`` with the replayed result's tape.
GRAD_HOOK: ContextVar[Any] = ContextVar("rulegrad_grad_hook", default=None)

_dispatch = plum.Dispatcher()


def _run(tape: Tape, f: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    token = _ACTIVE.set((*_ACTIVE.get(), tape))
    try:
        out = f(*args, **kwargs)
        return _leaf(tape, out) if out.__class__ is Param else out  # f returned a Param: w, +w
    except BaseException:
        tape.release()  # nothing will differentiate this tape: unlock what it recorded
        raise
    finally:
        _ACTIVE.reset(token)
        tape.recording = False


def diff(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Box:
    """Run ``f(*args, **kwargs)`` recording every operation on the Params it touches.

    Args:
        f: any Python function; Params it reads are tracked.
        *args: positional arguments for ``f``.
        **kwargs: keyword arguments for ``f``.

    Returns:
        The result as a `Result` box: `value` gives the plain value, `grad` gradients.

    Examples:
        >>> import rulegrad as rg
        >>> x = rg.Param([1, 2, 3])
        >>> y = rg.diff(lambda: np.sum(x**2))
        >>> rg.value(y), rg.grad(y, x)
        (np.float64(14.0), array([2., 4., 6.]))
    """
    if not callable(f):
        raise ArgumentError(
            f"rg.diff takes a function to run and record, got {describe(f)}: "
            "write rg.diff(lambda: <expression>), or rg.diff(f, *args) for a function f"
        )
    tape = Tape()
    out = _run(tape, f, args, kwargs)
    if not (isinstance(out, Box) and out.tape is tape):
        _check_output(out, tape, "the function given to diff")
        out = _constant(tape, out)
    return out


def _check_output(out: Any, tape: Tape, what: str) -> None:
    """Raise `OutputError` unless ``out`` is one value (an array or a number)."""
    if inspect.iscoroutine(out) or inspect.isgenerator(out) or inspect.isasyncgen(out):
        tape.release()
        if inspect.iscoroutine(out):
            out.close()  # (else Python warns that it was never awaited)
        raise OutputError(
            f"{what} returned a {type(out).__name__}: calling an async or generator function "
            "only makes one, without running its body, so there is nothing to differentiate. "
            "Differentiate a plain function that computes and returns the loss."
        )
    if out is None or isinstance(out, (str, bytes, list, tuple, dict, set)):
        hint = "did it forget to return?"
        if out is not None:
            hint = "for several outputs use rg.vjp(f, ...), or combine them into one loss"
        tape.release()
        raise OutputError(f"{what} must return one array or number, got {describe(out)}: {hint}")


def _constant(tape: Tape, v: Any) -> Box:
    while isinstance(v, Box) and not v.tape.recording:
        v = v.value
    if isinstance(v, Param):
        v = v.value
    return Box(v, tape, Node(None, (), {}, v, ()))


def _accumulate(node: Node, index: int, g: Any, owned: set[Node]) -> None:
    """Add ``g`` to the gradient of output ``index`` of ``node`` (-1: its only output)."""
    if index < 0:
        node.grad = g if node.grad is None else _add(node.grad, g, node, owned)
        return
    if node.grad is None:
        node.grad = [None] * len(node.y)
    old = node.grad[index]
    node.grad[index] = g if old is None else old + g


def _add(total: Any, g: Any, node: Node, owned: set[Node]) -> Any:
    """``total + g``, in place when ``total`` is a sum this walk made (``node`` in ``owned``):
    no rule has seen it yet (``node``'s rules run after its last gradient arrives), so a
    Param used at every step of a loop gets one array instead of a new one per use."""
    ours = node in owned and g.__class__ is np.ndarray and g.shape == total.shape
    if ours and g.dtype == total.dtype:
        return np.add(total, g, out=total)
    total = total + g
    if total.__class__ is np.ndarray:
        owned.add(node)
    else:  # a box of an outer tape (higher order): the outer tape has seen it
        owned.discard(node)
    return total


def backward(tape: Tape, seeds: list[tuple[Box, Any]], release: bool = True) -> None:
    """Walk ``tape`` backwards from ``(box, output gradient)`` seeds, filling leaf grads.

    Each node calls the rule of each tracked argument as ``rule(dy, y, *args, **kw)``;
    gradients flowing into one value are summed and broadcast axes reduced. With
    ``release`` the walk drops each node's arrays once used and then releases the tape.
    """
    try:
        _walk(tape, seeds, release)
    except BaseException as e:
        if release:  # the nodes are half released: nothing can run this walk again
            tape.error = f"{type(e).__name__}: {e}"
            tape.release()
        raise


def _walk(tape: Tape, seeds: list[tuple[Box, Any]], release: bool) -> None:
    nodes = tape.nodes
    if not release:
        for node in nodes:
            node.grad = None
    owned: set[Node] = set()  # the nodes whose gradient is a sum the walk made (`_add`)
    for box, dy in seeds:
        _accumulate(box.node, box.index, dy, owned)
    hook = GRAD_HOOK.get()
    for node in reversed(nodes):
        dy = node.grad
        if dy is None or not node.parents:
            if hook is not None and node.method is None:  # a leaf: no node after it sends more
                hook.leaf(tape, node)
            continue
        if release:
            node.grad = None
        method, args, kwargs, y = node.method, node.args, node.kwargs, node.y
        if isinstance(y, tuple):
            dy = tuple(_zero(v) if g is None else g for g, v in zip(dy, y))
        grads = None if method.vjp is None else _call_vjp(method, dy, y, args, kwargs)
        rules = method.rules
        for argnum, parent, index in node.parents:
            if grads is not None:
                g = grads[argnum]
            else:
                rule = rules[argnum] if argnum < len(rules) else _unruled(method, argnum, args)
                if rule is None:
                    continue  # no gradient through this argument (an index, a shape, ...)
                g = rule(dy, y, *args, **kwargs) if kwargs else rule(dy, y, *args)
            if g is None:
                continue
            x = args[argnum]
            fits = g.__class__ is x.__class__ is np.ndarray and g.shape == x.shape
            if not (fits and g.dtype == x.dtype):  # broadcast, cast, or not a numpy array
                g = _reduce(g, x, method, argnum)
            if index < 0 and parent.grad is None:
                parent.grad = g
            else:
                _accumulate(parent, index, g, owned)
        if release:
            node.args = node.y = node.kwargs = None
    if hook is not None:
        hook.done(tape)
    if release:
        tape.release()


def _unruled(method: Any, argnum: int, args: tuple) -> None:
    """The rule of an argument past the end of ``method``'s rules: none, and a `RuleError`
    if that argument is a tracked float, whose gradient would silently be zero (an explicit
    None in the rules says an argument has no gradient on purpose: an index, a shape)."""
    x = args[argnum]
    dtype = getattr(plain(x), "dtype", None)
    if method.primitive.zero or not (isinstance(dtype, np.dtype) and dtype.kind in "fc"):
        return None
    raise RuleError(
        f"{method!r} has no gradient rule for argument {argnum} ({describe(x)}), which is "
        f"a tracked value: its gradient would silently be zero. Give {method.name} one rule "
        "per positional argument (None for one with no gradient on purpose, such as an "
        "index or a shape), or pass rg.stop_gradient(x) where no gradient should flow."
    )


def _zero(v: Any) -> Any:
    """The output gradient of a tuple element no one used: a read-only zero shaped like
    ``v`` that costs no memory of that size (a 0-d zero of ``v``'s array library, broadcast;
    for a numpy array of numbers, a view of immutable zero bytes, made without Python code).

    Examples:
        >>> z = _zero(np.ones((1000, 1000), np.float32))
        >>> z.shape, z.dtype, z.strides, z.flags.writeable, z.any()
        ((1000, 1000), dtype('float32'), (0, 0), False, np.False_)
    """
    if v.__class__ is np.ndarray and v.dtype.kind in "biufc":  # (itemsize 32 at the most)
        return np.ndarray(v.shape, v.dtype, bytes(32), 0, (0,) * v.ndim)
    return np.broadcast_to(np.zeros_like(v, shape=()), np.shape(v))


def _call_vjp(method: Any, dy: Any, y: Any, args: tuple, kwargs: dict) -> tuple:
    grads = method.vjp(dy, y, *args, **kwargs)
    if len(grads) != len(args):
        raise RuleError(
            f"the vjp of {method!r} returned {len(grads)} gradients for "
            f"{len(args)} arguments; return one per positional argument (None for none)"
        )
    return grads


def _reduce(g: Any, x: Any, method: Any, argnum: int) -> Any:
    try:
        return unbroadcast(g, x)
    except RuleError as e:
        raise RuleError(
            f"the rule of {method!r} for argument {argnum} ({describe(x)}) "
            f"returned {describe(g)}: {e}"
        ) from None


def _seed(result: Box, dy: Any) -> Any:
    """The output gradient to start from: ``dy`` if given, else one for a scalar result."""
    v = result.value
    raw = plain(v)
    _check_kind(raw, result)
    if dy is not None:
        dy = _as_dy(dy, raw)
        _check_dy(dy, v)
        return dy
    if _is_complex(raw):
        raise OutputError(
            f"grad needs a real result, got {describe(result)}: take np.real or np.abs of it "
            "first, or pass the output gradient dy"
        )
    if getattr(raw, "size", None) != 1 and np.size(raw) != 1:
        raise NonScalarError(
            f"grad needs a scalar result, got {describe(result)}. Reduce it first "
            "(np.sum(y)), or pass the output gradient: rg.grad(y, p, dy) or rg.vjp(f, ...)."
        )
    return ones(v)


def _check_kind(raw: Any, result: Any) -> None:
    """Raise `OutputError` for a bool or integer result: it has no gradient to take."""
    dtype = getattr(raw, "dtype", None)
    if isinstance(raw, bool) or (isinstance(dtype, np.dtype) and dtype.kind in "biu"):
        raise OutputError(
            f"grad needs a float result, got {describe(result)}: a bool or integer result (a "
            "comparison, np.allclose, a count, an index) is not differentiable. Differentiate "
            "the float expression it comes from (rg.stop_gradient(x) gives a zero on purpose)."
        )


def _as_dy(dy: Any, raw: Any) -> Any:
    """An output gradient given as a list or tuple: the array it spells, in the dtype of
    the result's value ``raw`` (complex if it holds complex numbers)."""
    if not isinstance(dy, (list, tuple)):
        return dy
    d = np.asarray(dy)
    want = raw.dtype if hasattr(raw, "dtype") else np.result_type(raw)
    return d.astype(np.promote_types(want, d.dtype) if d.dtype.kind == "c" else want)


def ones(v: Any) -> Any:
    """The output gradient of a scalar result ``v``: ones like it, in its array library."""
    if isinstance(v, (np.ndarray, np.generic)):
        return np.array(1, dtype=v.dtype).reshape(v.shape)  # np.ones_like, in fewer steps
    return np.ones_like(v)  # another library's array (cupy), or a Python number


def _check_dy(dy: Any, v: Any) -> None:
    """Raise `OutputError` unless output gradient ``dy`` has the shape of result value ``v``."""
    if np.shape(dy) != np.shape(v):
        raise OutputError(
            f"the output gradient dy has shape {np.shape(dy)} but the result has shape "
            f"{np.shape(v)}: pass a dy of the result's shape"
        )


@_dispatch
def grad(result: Box, p: object, dy: object = None) -> Any:
    """The gradient of a `diff` result with respect to Param ``p`` (None if unused).

    The first call walks the tape for every Param; later calls read stored gradients.

    Examples:
        >>> import rulegrad as rg
        >>> w = rg.Param(np.array([1.0, 2.0]))
        >>> J = rg.diff(lambda: np.sum(w * w * w))
        >>> rg.grad(J, w), rg.grad(J, rg.Param(1.0))
        (array([ 3., 12.]), None)
    """
    tape = result.tape
    if not isinstance(p, Param):
        raise ArgumentError(
            f"rg.grad(result, p) takes a Param as p, got {describe(p)}; to differentiate a "
            "function with respect to its arguments use rg.grad(f)"
        )
    if not tape.done:
        tape.seed = _seed(result, dy)
        backward(tape, [(result, tape.seed)])
    elif tape.error is not None:
        raise RulegradError(
            f"the backward pass of this result failed ({tape.error}); fix the cause and "
            "record again with rg.diff"
        )
    elif dy is not None and dy is not tape.seed and not np.array_equal(plain(dy), tape.seed):
        raise OutputError(
            "the backward pass of this result already ran with another output gradient dy; "
            "record again with rg.diff for a new dy, or use rg.vjp, whose pullback takes any"
        )
    entry = tape.leaves.get(id(p))
    return None if entry is None else _own(entry[1].grad)  # (a copy: the tape keeps its own)


@_dispatch
def grad(f: Callable, argnums: object = 0, *, has_aux: bool = False) -> Callable[..., Any]:  # noqa: F811
    """The gradient function of ``f`` with respect to argument(s) ``argnums`` (old interface).

    An argument may be an array, a number, or a list/tuple/dict of them; its gradient has
    the same structure. A tuple of argnums gives a tuple of gradients. With ``has_aux``,
    ``f`` returns ``(loss, aux)`` and the gradient function ``(gradient, aux)`` (JAX's).

    Examples:
        >>> import rulegrad as rg
        >>> g = rg.grad(lambda w, x: np.sum(np.sin(w) * x))
        >>> g(np.zeros(2), np.array([1.0, 2.0]))
        array([1., 2.])
        >>> rg.grad(lambda d: d["a"] * d["b"])({"a": 2.0, "b": 3.0})
        {'a': np.float64(3.0), 'b': np.float64(2.0)}
    """
    gl = gradloss(f, argnums, has_aux=has_aux)

    def gradient(*args: Any, **kwargs: Any) -> Any:
        g, loss = gl(*args, **kwargs)
        return (g, loss[1]) if has_aux else g

    gradient.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    gradient.__doc__ = f"Gradient of {getattr(f, '__name__', 'f')} w.r.t. argument(s) {argnums}."
    return gradient


@_dispatch
def grad(result: object, *rest: object, **kwargs: object) -> Any:  # noqa: F811
    """What neither form takes: a plain value where a Result or a function belongs."""
    raise ArgumentError(
        f"rg.grad takes a Result from rg.diff (rg.grad(J, p)) or a function to differentiate "
        f"(rg.grad(f)), got {describe(result)}: record the value first, J = rg.diff(lambda: "
        "...), then rg.grad(J, p)"
    )


def _wrap(tape: Tape, x: Any) -> Any:
    """Replace every array in structure ``x`` by a leaf box on ``tape``."""

    def leaf(v: Any) -> Any:
        if v is None or isinstance(v, (str, bytes)):
            return v  # not a number: passed through, and its gradient is None
        if not (isinstance(v, Tracked) and v._live()):
            v = _as_leaf_value(v if not isinstance(v, Param) else v.value, "argument")
        box = Box(v, tape, Node(None, (), {}, v, ()))
        tape.nodes.append(box.node)
        return box

    return map_leaves(leaf, x)


def _unwrap(x: Any, taken: set[int]) -> Any:
    """The structure of ``x`` (with leaf boxes) with each leaf replaced by its gradient
    (``taken``: as for `_own`, shared by all the gradients one call hands out)."""

    def gradient(v: Any) -> Any:
        if not isinstance(v, Box):
            return None  # None or a string passed through by _wrap
        g = v.node.grad
        if g is None:  # unused: zeros like it, by its type's method (a plugin's, for its types)
            g = FUNCTIONS.get(np.zeros_like, np.zeros_like)(v.value)
        number = isinstance(v.value, np.generic) and isinstance(g, np.ndarray) and g.ndim == 0
        return g[()] if number else _own(g, taken)  # a number in, a number (not 0-d array) out

    return map_leaves(gradient, x)


def _own(g: Any, taken: set[int] | None = None) -> Any:
    """A gradient for the caller: an array it may write into that no one else holds.

    Rules hand arrays on unchanged (``x + y`` gives ``dy`` to both, ``reshape`` a view of
    it) and may pass on read-only ones (the zero of an unused output, `jit`'s shared seed).
    ``taken`` holds the ids of the arrays underlying what this call already handed out (and
    the output gradients it was given): a gradient read-only or sharing one of them is
    copied, any other is handed out as it is. Without ``taken`` (a Result's gradients,
    which its tape keeps for later calls) every array is copied.
    """
    if g is None or isinstance(g, (Tracked, np.generic, int, float, complex)):
        return g
    root = None if taken is None else id(_root(g))
    if root is None or root in taken or not getattr(getattr(g, "flags", None), "writeable", True):
        return g.copy() if hasattr(g, "copy") else g
    taken.add(root)
    return g


def _root(a: Any) -> Any:
    """The object holding ``a``'s memory: ``a``, or the array a view of it looks into."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _argnums(argnums: int | tuple[int, ...]) -> tuple[int, ...]:
    """``argnums`` as a tuple of ints (`ArgumentError` for anything else)."""
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums or not all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in nums
    ):
        raise ArgumentError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
    return nums


def _inputs(
    f: Callable[..., Any], args: tuple, kwargs: dict, argnums: tuple[int, ...]
) -> tuple[Tape, list, Any]:
    tape = Tape()
    args = list(args)
    for i in argnums:
        if i >= len(args):
            raise IndexError(f"argnums {i} is out of range for {len(args)} positional arguments")
        args[i] = _wrap(tape, args[i])
    out = _run(tape, f, tuple(args), kwargs)
    return tape, args, out


def gradloss(
    f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """Like ``grad(f, argnums)`` but the function returns ``(gradient, loss)`` (Knet).

    With ``has_aux=True``, ``f`` returns ``(loss, aux)``, where ``aux`` is anything else to
    bring out of it (predictions, metrics: not differentiated, boxes unwrapped), and the
    function returns ``(gradient, (loss, aux))``: JAX's ``value_and_grad`` convention, in
    Knet's order.

    Examples:
        >>> import rulegrad as rg
        >>> rg.gradloss(lambda x: x**3)(2.0)
        (np.float64(12.0), np.float64(8.0))
        >>> rg.gradloss(lambda x: (x**3, {"square": x**2}), has_aux=True)(2.0)
        (np.float64(12.0), (np.float64(8.0), {'square': np.float64(4.0)}))
    """
    nums = _argnums(argnums)
    name = getattr(f, "__name__", "the function")

    def gradient_and_loss(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        tape, wrapped, out = _inputs(f, args, kwargs, nums)
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                tape.release()
                raise OutputError(
                    f"{name} must return (loss, aux) with has_aux=True, got {describe(out)}"
                )
            out, aux = out[0], _values(out[1])
        if isinstance(out, Box) and out.tape is tape:
            backward(tape, [(out, _seed(out, None))])
            loss = out.value
        else:
            _check_output(out, tape, f"{name} (differentiated)")
            loss = _constant(tape, out).value
            tape.release()
            _check_kind(loss, loss)
            if _is_complex(loss):
                raise OutputError(f"grad needs a real result, got {describe(loss)}")
        taken: set[int] = set()
        grads = tuple(_unwrap(wrapped[i], taken) for i in nums)
        grads = grads if isinstance(argnums, tuple) else grads[0]
        return (grads, (loss, aux)) if has_aux else (grads, loss)

    gradient_and_loss.__name__ = f"gradloss_{getattr(f, '__name__', 'f')}"
    return gradient_and_loss


def _values(x: Any) -> Any:
    """``x`` with every box in it (in lists, tuples and dicts) replaced by its value."""
    return map_leaves(lambda v: v.value if isinstance(v, Box) else v, x)


def vjp(f: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Callable[..., tuple]]:
    """Run ``f(*args)`` and return its output and a pullback for all positional arguments.

    ``f`` may return a tuple (several outputs); the pullback then takes one output
    gradient per output (``None`` for zero) and returns one gradient per argument. The
    pullback may be called more than once.

    Examples:
        >>> import rulegrad as rg
        >>> out, back = rg.vjp(lambda a, b: (a * b, a + b), 2.0, 3.0)
        >>> out
        (np.float64(6.0), np.float64(5.0))
        >>> back(1.0, 0.0)
        (np.float64(3.0), np.float64(2.0))
    """
    tape, wrapped, out = _inputs(f, args, kwargs, tuple(range(len(args))))
    multi = isinstance(out, (tuple, list))
    outs = tuple(out) if multi else (out,)
    for o in outs:
        if not (isinstance(o, Box) and o.tape is tape):
            _check_output(o, tape, "each output of the function given to vjp")
    boxes = [o if isinstance(o, Box) and o.tape is tape else None for o in outs]
    # The pullback keeps the tape for repeated calls, reading the arguments and outputs
    # again each time: they stay read-only with the rest until both are dropped (the
    # tape's __del__ gives the arrays it locked back their write access).
    kept = [n.y for n in tape.nodes if n.method is None] + [b.value for b in boxes if b is not None]
    for v in kept:
        if isinstance(v, np.ndarray) and id(v) not in tape.seen:
            tape.lock(v)

    def back(*douts: Any) -> tuple[Any, ...]:
        if len(douts) != len(outs):
            raise ValueError(f"the pullback takes {len(outs)} output gradient(s), got {len(douts)}")
        douts = tuple(_as_dy(d, plain(o)) for o, d in zip(outs, douts))
        for o, d in zip(outs, douts):
            if d is not None:
                _check_dy(d, plain(o))
        seeds = [(b, d) for b, d in zip(boxes, douts) if b is not None and d is not None]
        backward(tape, seeds, release=False)
        taken = {id(_root(d)) for _, d in seeds}  # the caller's: not to be handed back
        grads = tuple(_unwrap(w, taken) for w in wrapped)
        for node in tape.nodes:
            node.grad = None
        return grads

    values = tuple(o.value if b is not None else plain(o) for o, b in zip(outs, boxes))
    if not multi:
        return values[0], back
    if hasattr(type(out), "_fields"):  # a named tuple such as eigh's (eigenvalues, eigenvectors)
        return type(out)(*values), back
    return type(out)(values), back


def params(x: Any) -> list[Param]:
    """Every Param reachable from ``x`` (objects, lists, tuples, dicts), each once.

    Given a `diff` result, the Params its tape tracked.

    Examples:
        >>> import rulegrad as rg
        >>> class Linear:
        ...     def __init__(self):
        ...         self.w, self.b = rg.Param(np.zeros((2, 3))), rg.Param(np.zeros(2))
        >>> [p.shape for p in rg.params([Linear(), {"extra": rg.Param(1.0)}])]
        [(2, 3), (2,), ()]
    """
    if isinstance(x, Box):
        return [p for p, _ in x.tape.leaves.values()]
    found: dict[int, Param] = {}
    seen: set[int] = set()

    def visit(v: Any) -> None:
        if id(v) in seen:
            return
        seen.add(id(v))
        if isinstance(v, Param):
            found[id(v)] = v
        elif isinstance(v, dict):
            for item in v.values():
                visit(item)
        elif isinstance(v, (list, tuple, set, frozenset)):
            for item in v:
                visit(item)
        elif hasattr(v, "__dict__") and not isinstance(v, (type, np.ndarray)):
            for item in vars(v).values():
                visit(item)

    visit(x)
    return list(found.values())
