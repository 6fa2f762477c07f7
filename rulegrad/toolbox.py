"""The derivative toolbox on top of the two modes: `jacobian`, `hessian`, `hvp`,
`elementwise_grad` and `value_and_grad` (JAX's, HIPS autograd's and torch.func's names).

Forward mode (`rg.jvp`) gives a Jacobian column per pass, reverse mode (`rg.vjp`) a row:
`jacobian` picks by sizes, and `hessian` and `hvp` are forward over reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .core import gradloss, jvp, plain, vjp
from .core.box import _as_leaf_value
from .core.errors import ArgumentError

__all__ = ["jacobian", "hessian", "hvp", "elementwise_grad", "value_and_grad"]

_MODES = ("auto", "fwd", "rev")


def _nums(argnums: int | tuple[int, ...]) -> tuple[int, ...]:
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums or not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise ArgumentError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
    return nums


def jacobian(
    f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, mode: str = "auto"
) -> Callable[..., Any]:
    """The Jacobian function of ``f``: shape ``out.shape + x.shape`` for each argument.

    ``mode="fwd"`` pushes one tangent per input element (`rg.jvp`: cheap for few inputs
    and many outputs), ``"rev"`` pulls one output gradient per output element (`rg.vjp`:
    cheap for many inputs and few outputs), ``"auto"`` takes forward mode when there are
    fewer input than output elements. Arguments and the output are arrays or numbers; a
    tuple of argnums gives a tuple of Jacobians.

    Examples:
        >>> import rulegrad as rg
        >>> J = rg.jacobian(lambda x: np.array([1.0, 2.0, 3.0]) * np.sum(x**2))
        >>> J(np.array([1.0, 2.0]))
        array([[ 2.,  4.],
               [ 4.,  8.],
               [ 6., 12.]])
    """
    nums = _nums(argnums)
    if mode not in _MODES:
        raise ArgumentError(f"jacobian's mode is one of {_MODES}, got {mode!r}")

    def jacobian_of(*args: Any, **kwargs: Any) -> Any:
        args = list(args)
        for i in nums:
            if i >= len(args):
                raise ArgumentError(f"argnums {i} is out of range for {len(args)} arguments")
            args[i] = _as_leaf_value(args[i], "argument")

        def at(*xs: Any) -> Any:
            full = list(args)
            for i, x in zip(nums, xs):
                full[i] = x
            return f(*full, **kwargs)

        xs = tuple(args[i] for i in nums)
        inputs = sum(int(np.size(plain(x))) for x in xs)
        use = mode
        if use == "auto":
            out = at(*xs)  # (plain values: numpy speed)
            use = "fwd" if inputs < np.size(plain(out)) else "rev"
        jacs = _forward(at, xs) if use == "fwd" else _reverse(at, xs)
        return jacs if isinstance(argnums, tuple) else jacs[0]

    jacobian_of.__name__ = f"jacobian_{getattr(f, '__name__', 'f')}"
    return jacobian_of


def _basis(x: Any, k: int) -> Any:
    """The ``k``-th unit array shaped and typed like ``x``."""
    e = np.zeros_like(plain(x))
    e.reshape(-1)[k] = 1
    return e


def _forward(at: Callable[..., Any], xs: tuple) -> tuple:
    """Jacobians one column per input element, by `jvp`."""
    jacs = []
    for j, x in enumerate(xs):
        cols = []
        for k in range(int(np.size(plain(x)))):
            ts = tuple(_basis(x, k) if i == j else None for i in range(len(xs)))
            cols.append(jvp(at, xs, ts)[1])
        out_shape = np.shape(plain(cols[0])) if cols else ()
        jac = np.stack(cols, axis=-1) if cols else np.zeros(out_shape + (0,))
        jacs.append(np.reshape(jac, out_shape + np.shape(plain(x))))
    return tuple(jacs)


def _reverse(at: Callable[..., Any], xs: tuple) -> tuple:
    """Jacobians one row per output element, by one `vjp` and a pullback call per row."""
    out, back = vjp(at, *xs)
    rows = [back(_basis(out, k)) for k in range(int(np.size(plain(out))))]
    jacs = []
    for j, x in enumerate(xs):
        shape = np.shape(plain(out)) + np.shape(plain(x))
        jac = np.stack([r[j] for r in rows]) if rows else np.zeros(shape)
        jacs.append(np.reshape(jac, shape))
    return tuple(jacs)


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


def elementwise_grad(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The gradient of ``sum(f(x))``: for an elementwise ``f``, each output's derivative
    by its own input (HIPS autograd's name), with one reverse pass.

    Examples:
        >>> import rulegrad as rg
        >>> rg.elementwise_grad(np.tanh)(np.array([0.0, 1.0])).round(4)
        array([1.  , 0.42])
    """
    _nums(argnums)

    def gradient(*args: Any, **kwargs: Any) -> Any:
        out, back = vjp(lambda x: f(*args[:argnums], x, *args[argnums + 1 :], **kwargs),
                        args[argnums])  # fmt: skip
        return back(np.ones_like(plain(out)))[0]

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
