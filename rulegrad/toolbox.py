"""The derivative toolbox on top of the two modes: `linearize`, `jacobian`, `hessian`, `hvp`,
`elementwise_grad` and `value_and_grad` (JAX's, HIPS autograd's and torch.func's names).

Forward mode (`rg.jvp`) gives a Jacobian column per pass, reverse mode (`rg.vjp`) a row:
`jacobian` picks by sizes, and `hessian` and `hvp` are forward over reverse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .core import gradloss, jvp, plain, vjp
from .core.box import Box, _as_leaf_value, describe, map_leaves
from .core.diff import _argnums, _run, _wrap
from .core.errors import ArgumentError, OutputError
from .core.forward import ForwardTape, _dual, _primal, _tangent, _tangent_of
from .core.tape import Tape

__all__ = ["linearize", "jacobian", "hessian", "hvp", "elementwise_grad", "value_and_grad"]

_MODES = ("auto", "fwd", "rev")


def _positions(nums: tuple[int, ...], n: int) -> list[int]:
    """The argument positions ``nums`` name among ``n`` positional arguments (negative ones
    count from the end, as in Python); `ArgumentError` for one out of range."""
    for i in nums:
        if not -n <= i < n:
            raise ArgumentError(f"argnums {i} is out of range for {n} positional arguments")
    return [int(i) % n for i in nums]


def linearize(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """Run ``f(*primals)`` once and return ``(outputs, f_jvp)``: ``f_jvp(*tangents)`` is
    ``J t``, the jvp of ``f`` at these primals (JAX's ``linearize``).

    Primals and tangents take the structures of `jvp` (arrays, numbers, lists, tuples,
    dicts; a tangent per primal, None for zero), and ``f_jvp`` raises jvp's errors for
    tangents that do not fit. Every primal is differentiated (close over constants).

    Cost: ``f`` runs once, recorded as for reverse mode. Each ``f_jvp`` call then pushes
    the tangents through the recorded calls: per primitive call, its forward rule (or,
    without one, the derived jvp: a reverse pass over its rule), and neither ``f``'s
    Python nor any primal value is computed again; ``rg.jvp(f, primals, tangents)`` per
    call costs all three. Like `vjp`'s pullback, ``f_jvp`` keeps the recording (every
    intermediate value) while it lives, and the primals and outputs stay read-only.

    Examples:
        >>> import rulegrad as rg
        >>> out, f_jvp = rg.linearize(lambda x: np.sin(x) * x, np.array([0.0, 1.0]))
        >>> f_jvp(np.array([1.0, 0.0])), f_jvp(np.array([0.0, 1.0])).round(4)
        (array([0., 0.]), array([0.    , 1.3818]))
    """
    if not callable(f):
        raise ArgumentError(f"rg.linearize takes a function first, got {describe(f)}")
    tape = Tape()
    wrapped = _wrap(tape, primals)
    out = _run(tape, f, wrapped, {})
    inputs: list[Any] = []
    map_leaves(inputs.append, wrapped)
    values = _primal(wrapped, tape)  # (the primals as the tangents are checked against)
    outputs = _primal(out, tape)
    kept: list[Any] = []
    map_leaves(kept.append, outputs)
    for v in kept + [n.y for n in tape.nodes if n.method is None]:
        if isinstance(v, np.ndarray) and id(v) not in tape.seen:
            tape.lock(v)  # f_jvp reads them again: no silent change by a write
    lock = threading.Lock()  # (the recorded nodes hold one call's tangents at a time)

    def f_jvp(*tangents: Any) -> Any:
        if len(tangents) != len(primals):
            raise ArgumentError(
                f"f_jvp of rg.linearize got {len(tangents)} tangents for {len(primals)} "
                "primals: give one tangent per argument (None for a zero tangent)"
            )
        check = ForwardTape()  # (jvp's checks and dtype casts: a throwaway dual per leaf)
        duals: list[Any] = []
        map_leaves(duals.append, tuple(_dual(check, x, t) for x, t in zip(values, tangents)))
        with lock:
            try:
                for node in tape.nodes:
                    if node.method is None:
                        node.tangent = None  # a Param's leaf: constant, as in jvp
                for b, d in zip(inputs, duals):
                    if isinstance(b, Box) and b.tape is tape:
                        b.node.tangent = d.node.tangent if isinstance(d, Box) else None
                for node in tape.nodes:
                    if node.method is not None:
                        node.tangent = _tangent(node)
                return _tangent_of(out, tape)
            finally:
                for node in tape.nodes:
                    node.tangent = None

    return outputs, f_jvp


def jacobian(
    f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, mode: str = "auto"
) -> Callable[..., Any]:
    """The Jacobian function of ``f``: shape ``out.shape + x.shape`` for each argument.

    ``mode="fwd"`` pushes one tangent per input element (`rg.jvp`: cheap for few inputs
    and many outputs), ``"rev"`` pulls one output gradient per output element (`rg.vjp`:
    cheap for many inputs and few outputs), ``"auto"`` takes forward mode when there are
    fewer input than output elements (or the output is a structure ``"rev"`` refuses).
    Arguments may be structures (lists, tuples, dicts of arrays, as for `grad`), and so
    may the output (``"rev"``: an array, or a tuple or list of them):
    each output array holds, in the argument's structure, its Jacobian by each argument
    array (JAX's layout). A tuple of argnums gives a tuple per output array.

    Examples:
        >>> import rulegrad as rg
        >>> J = rg.jacobian(lambda x: np.array([1.0, 2.0, 3.0]) * np.sum(x**2))
        >>> J(np.array([1.0, 2.0]))
        array([[ 2.,  4.],
               [ 4.,  8.],
               [ 6., 12.]])
        >>> rg.jacobian(lambda p: p["a"] * p["b"])({"a": 2.0, "b": 3.0})
        {'a': array(3.), 'b': array(2.)}
    """
    nums = _argnums(argnums)
    if mode not in _MODES:
        raise ArgumentError(f"jacobian's mode is one of {_MODES}, got {mode!r}")

    def jacobian_of(*args: Any, **kwargs: Any) -> Any:
        at, picked = _at(f, args, kwargs, _positions(nums, len(args)))
        leaves, rebuild = _flatten(picked)
        leaves = [_as_leaf_value(x, "argument") for x in leaves]
        xs = rebuild(leaves)
        use = mode
        if use == "auto":
            out = at(*xs)  # (plain values: numpy speed)
            outs, _ = _flatten(out)
            inputs = sum(int(np.size(x)) for x in leaves)
            fewer = inputs < sum(int(np.size(plain(o))) for o in outs)
            use = "fwd" if fewer or not _pullable(out) else "rev"
        blocks, out_rebuild = (_forward if use == "fwd" else _reverse)(at, xs, leaves, rebuild)
        # blocks[o][j]: the Jacobian of output array o by input array j
        per_output = []
        for row in blocks:
            by_arg = rebuild(row)
            per_output.append(by_arg if isinstance(argnums, tuple) else by_arg[0])
        return out_rebuild(per_output)

    jacobian_of.__name__ = f"jacobian_{getattr(f, '__name__', 'f')}"
    return jacobian_of


def _at(
    f: Callable[..., Any], args: tuple, kwargs: dict, positions: list[int]
) -> tuple[Callable[..., Any], tuple]:
    """``f`` as a function of the arguments at ``positions`` (the others fixed to ``args``
    and ``kwargs``), and those arguments."""

    def at(*xs: Any) -> Any:
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return f(*full, **kwargs)

    return at, tuple(args[i] for i in positions)


def _flatten(x: Any) -> tuple[list, Callable[[list], Any]]:
    """The arrays (leaves) of structure ``x`` and a function rebuilding it from new leaves."""
    if isinstance(x, (list, tuple)):
        parts = [_flatten(v) for v in x]
        sizes = [len(leaves) for leaves, _ in parts]

        def rebuild_seq(new: list) -> Any:
            got, at = [], 0
            for (_, build), n in zip(parts, sizes):
                got.append(build(new[at : at + n]))
                at += n
            return type(x)(*got) if hasattr(type(x), "_fields") else type(x)(got)

        return [leaf for leaves, _ in parts for leaf in leaves], rebuild_seq
    if isinstance(x, dict):
        keys = list(x)
        leaves, build = _flatten([x[k] for k in keys])
        return leaves, lambda new: dict(zip(keys, build(new)))
    return [x], lambda new: new[0]


def _pullable(out: Any) -> bool:
    """Whether `_reverse` takes output structure ``out``: an array or a number, or a
    tuple or list of them (`vjp`'s outputs); forward mode takes any structure."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return not any(o is None or isinstance(o, (str, bytes, list, tuple, dict)) for o in outs)


def _basis(x: Any, k: int) -> Any:
    """The ``k``-th unit array shaped and typed like ``x``."""
    e = np.zeros_like(plain(x), order="C")  # (of an F-ordered array, reshape(-1) is a copy)
    e.reshape(-1)[k] = 1
    return e


def _forward(at: Callable[..., Any], xs: Any, leaves: list, rebuild: Callable) -> tuple:
    """Jacobian blocks one column per input element, by `jvp`."""
    columns: list[list] = []  # per input array: per element, the output tangents' arrays
    out_leaves, out_rebuild = None, None
    for j, x in enumerate(leaves):
        cols = []
        for k in range(int(np.size(x))):
            ts = rebuild([_basis(x, k) if i == j else None for i in range(len(leaves))])
            out, tout = jvp(at, tuple(xs), tuple(ts))
            if out_rebuild is None:
                out_leaves, out_rebuild = _flatten(out)
            cols.append(_flatten(tout)[0])
        columns.append(cols)
    if out_rebuild is None:  # no input elements: the output's shape from one call
        out_leaves, out_rebuild = _flatten(at(*xs))
    blocks = [
        [_stack([c[o] for c in cols], out, x, axis=-1) for cols, x in zip(columns, leaves)]
        for o, out in enumerate(out_leaves)
    ]
    return blocks, out_rebuild


def _reverse(at: Callable[..., Any], xs: Any, leaves: list, rebuild: Callable) -> tuple:
    """Jacobian blocks one row per output element, by one `vjp` and a pullback per row."""
    try:
        out, back = vjp(at, *xs)
    except OutputError as e:
        raise ArgumentError(
            f"jacobian(mode='rev') takes a function returning an array or a tuple of them ({e}): "
            "use mode='fwd' for other output structures"
        ) from e
    out_leaves, out_rebuild = _flatten(out)
    blocks = []
    for o, y in enumerate(out_leaves):
        rows = []
        for k in range(int(np.size(plain(y)))):
            seed = _basis(y, k)
            grads = back(*(seed if i == o else None for i in range(len(out_leaves))))
            rows.append(_flatten(grads)[0])  # (grads: one per argnum)
        blocks.append([_stack([r[j] for r in rows], y, x, axis=0) for j, x in enumerate(leaves)])
    return blocks, out_rebuild


def _stack(parts: list, out: Any, x: Any, axis: int) -> Any:
    """Jacobian columns (``axis=-1``) or rows (``axis=0``) as one ``out.shape + x.shape``
    array."""
    shape = np.shape(plain(out)) + np.shape(x)
    if not parts:
        return np.zeros(shape, dtype=np.result_type(plain(out), x))
    return np.reshape(np.stack(parts, axis=axis), shape)  # (boxes of an outer tape: tracked)


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The Hessian function of a scalar ``f``: forward-mode Jacobian of its gradient.

    Examples:
        >>> import rulegrad as rg
        >>> rg.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
        array([[4., 2.],
               [2., 0.]])
    """
    from .core import grad  # (grad is a plum function: imported where used, as a name)

    return jacobian(grad(f, argnums), argnums, mode="fwd")


def hvp(f: Callable[..., Any], x: Any, v: Any, *args: Any) -> Any:
    """The Hessian of scalar ``f`` at ``x`` times ``v``, without forming the Hessian:
    `jvp` of the gradient (forward over reverse). ``x`` and ``v`` may be structures
    (lists, dicts) of arrays, as for `grad`; ``args`` are further arguments of ``f``.

    Examples:
        >>> import rulegrad as rg
        >>> rg.hvp(lambda x: np.sum(x**3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
        array([6., 0.])
    """
    from .core import grad

    return jvp(lambda p: grad(f)(p, *args), (x,), (v,))[1]


def elementwise_grad(
    f: Callable[..., Any], argnums: int | tuple[int, ...] = 0
) -> Callable[..., Any]:
    """The gradient of ``sum(f(x))``: for an elementwise ``f``, each output's derivative
    by its own input (HIPS autograd's name), with one reverse pass. A tuple of argnums
    gives a tuple of gradients, and a negative one counts from the end, as for `grad`.

    Examples:
        >>> import rulegrad as rg
        >>> rg.elementwise_grad(np.tanh)(np.array([0.0, 1.0])).round(4)
        array([1.  , 0.42])
    """
    nums = _argnums(argnums)

    def gradient(*args: Any, **kwargs: Any) -> Any:
        at, picked = _at(f, args, kwargs, _positions(nums, len(args)))
        out, back = vjp(at, *picked)
        raw = plain(out)
        if isinstance(raw, (tuple, list)) or np.result_type(raw).kind != "f":
            raise OutputError(
                f"elementwise_grad differentiates sum(f(x)) and needs f to return one real "
                f"float array, got {describe(out)}: a bool or integer output (a comparison, a "
                "count) has no derivative, and a complex one needs np.real or np.abs first"
            )
        grads = back(np.ones_like(raw))
        return grads if isinstance(argnums, tuple) else grads[0]

    gradient.__name__ = f"elementwise_grad_{getattr(f, '__name__', 'f')}"
    return gradient


def value_and_grad(
    f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning ``(value, gradient)``, or ``((value, aux), gradient)`` with
    ``has_aux`` (``f`` then returns ``(loss, aux)``): JAX's order. `rg.gradloss` is the
    same in Knet's order.

    Examples:
        >>> import rulegrad as rg
        >>> rg.value_and_grad(lambda x: x**3)(2.0)
        (np.float64(8.0), np.float64(12.0))
        >>> (v, aux), g = rg.value_and_grad(lambda x: (x**3, "note"), has_aux=True)(2.0)
        >>> v, aux, g
        (np.float64(8.0), 'note', np.float64(12.0))
    """
    gl = gradloss(f, argnums, has_aux=has_aux)

    def value_and_gradient(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        g, loss = gl(*args, **kwargs)
        return loss, g

    value_and_gradient.__name__ = f"value_and_grad_{getattr(f, '__name__', 'f')}"
    return value_and_gradient
