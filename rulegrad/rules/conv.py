"""Knet's convolution and pooling on NCHW arrays: conv4, pool, unpool and their backward functions.

The backward functions are primitives too, so these differentiate again (Knet's
``conv4w``/``conv4x``/``poolx``). conv4 is bilinear, so its backward functions are each
other's gradients; max pooling is piecewise linear, so the gradient of ``pool_dx`` with
respect to ``dy`` is the derivative of ``pool`` along a direction (`pool_jvp`). The same
facts give the forward rules: each function is linear in its array arguments but the ones
that only select (pool's x), so a tangent goes through the function itself (``conv4(dw, x)
+ conv4(w, dx)``), and pool's is `pool_jvp`. Backends' methods get these rules too.

This file declares each primitive once, with its rules and its domain. The array work
comes from backends: each registers kernels for its array type with `register_kernels`
(the CPU backend im2col + BLAS for ``numpy.ndarray``, the GPU backend cuDNN or im2col +
cuBLAS for ``cupy.ndarray``), so one set of rules serves every backend. The declared
(generic) method loads the backend plugins the first time it meets arrays it has no
kernel for, then hands the call over (nested lists become numpy arrays, as numpy's own
functions take them). Not here: 3-D convolution (5-D arrays), groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import plum

from ..core import LINEAR, Domain, Method, NoRuleError, primitive
from ..core.box import Tracked, describe

__all__ = [
    "conv4", "conv4_dw", "conv4_dx", "pool", "pool_dx", "pool_jvp", "unpool", "unpool_dx",
    "KERNELS", "METHOD_LOADERS", "register_kernels",
]  # fmt: skip

#: kernel name -> number of positional (array) arguments; a backend's kernels module
#: defines each with the keywords of the primitive below.
KERNELS = {
    "conv4": 2, "conv4_dw": 3, "conv4_dx": 3,
    "pool": 1, "pool_dx": 3, "unpool": 1, "unpool_dx": 1,
}  # fmt: skip

#: Called as ``loader(args)`` when a primitive below meets argument types without a
#: kernel: `rulegrad.plugins` adds the plugin loader, whose backends register kernels
#: (rules import only the core, so the loader is handed in).
METHOD_LOADERS: list[Callable[[tuple], None]] = []

_GENERIC: set[Callable[..., Any]] = set()  # the declared methods, which only hand calls over


def _hand_over(prim: Any, args: tuple, kwargs: dict) -> Any:
    """Run the backend kernel of ``prim`` for these arguments, loading backends if needed."""
    if any(isinstance(a, Tracked) for a in args):
        return prim(*args, **kwargs)  # boxes of an outer tape (higher order): record there
    for load in METHOD_LOADERS:
        load(args)
    method = prim.resolve(tuple(type(a) for a in args))
    if method.impl in _GENERIC and any(isinstance(a, (list, tuple)) for a in args):
        # nested lists (of no backend) are numpy's, as for numpy's own functions
        args = tuple(
            np.asarray(a, dtype=float) if isinstance(a, (list, tuple)) else a for a in args
        )
        method = prim.resolve(tuple(type(a) for a in args))
    if method.impl in _GENERIC:
        types = ", ".join(describe(a) for a in args)
        raise NoRuleError(
            f"{prim.name} has no kernel for arguments ({types}). Its kernels come from "
            "backend plugins: 'cpu' for numpy arrays, 'gpu' for cupy arrays (see `rulegrad "
            "info`); put every argument on one backend with rg.to(x, 'cpu' or 'gpu')."
        )
    return method.impl(*args, **kwargs)


def _declared(f: Callable[..., Any]) -> Callable[..., Any]:
    _GENERIC.add(f)
    return f


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


# ---- samples for the automatic checks: small random cases of every keyword ----
def _out(n: int, k: int, p: int, s: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _sample_conv(rng: np.random.Generator) -> tuple[tuple, dict]:
    c, k, kh, kw = (int(v) for v in rng.integers(1, 4, size=4))
    kw_ = {
        "padding": int(rng.integers(0, 2)),
        "stride": int(rng.integers(1, 3)),
        "dilation": int(rng.integers(1, 3)),
        "mode": int(rng.integers(0, 2)),
    }
    d = kw_["dilation"]
    h, wd = ((kk - 1) * d + 1 + int(rng.integers(0, 4)) for kk in (kh, kw))
    w = rng.standard_normal((k, c, kh, kw))
    x = rng.standard_normal((2, c, h, wd))
    return (w, x), kw_


def _sample_conv_back(rng: np.random.Generator) -> tuple[tuple, dict]:
    (w, x), kw = _sample_conv(rng)
    p, s, d = kw["padding"], kw["stride"], kw["dilation"]
    ho, wo = (_out(n, k, p, s, d) for n, k in zip(x.shape[2:], w.shape[2:]))
    return (w, x, rng.standard_normal((x.shape[0], w.shape[0], ho, wo))), kw


def _pool_keywords(rng: np.random.Generator) -> dict:
    window = int(rng.integers(1, 4))
    return {
        "window": window,
        "padding": int(rng.integers(0, window)),  # every window keeps one real entry
        "stride": int(rng.integers(1, 4)),
        "mode": int(rng.integers(0, 3)),
    }


def _distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values at least 4/size apart, so no finite-difference step changes a maximum."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) / size - 0.5) * 4


def _sample_pool(rng: np.random.Generator) -> tuple[tuple, dict]:
    kw = _pool_keywords(rng)
    h, wd = (int(v) for v in rng.integers(max(1, kw["window"] - 2 * kw["padding"]), 7, size=2))
    return (_distinct(rng, (2, 2, h, wd)),), kw


def _sample_pool_back(rng: np.random.Generator) -> tuple[tuple, dict]:
    (x,), kw = _sample_pool(rng)
    y = pool(x, **kw)
    return (x, y, rng.standard_normal(y.shape)), kw


def _sample_pool_jvp(rng: np.random.Generator) -> tuple[tuple, dict]:
    (x, y, _), kw = _sample_pool_back(rng)
    return (x, y, rng.standard_normal(x.shape)), kw


def _sample_unpool(rng: np.random.Generator) -> tuple[tuple, dict]:
    kw = _pool_keywords(rng)
    del kw["mode"]
    kw["padding"] = 0 if kw["window"] == 1 else int(rng.integers(0, kw["window"] // 2 + 1))
    h, wd = (int(v) for v in rng.integers(2, 5, size=2))
    return (rng.standard_normal((2, 2, h, wd)),), kw


def _sample_unpool_dx(rng: np.random.Generator) -> tuple[tuple, dict]:
    (x,), kw = _sample_unpool(rng)
    return (rng.standard_normal(unpool(x, **kw).shape),), kw


def _converted(
    sample: Callable[[np.random.Generator], tuple[tuple, dict]], convert: Callable[[Any], Any]
) -> Callable[[np.random.Generator], tuple[tuple, dict]]:
    """``sample`` with its arrays passed through ``convert`` (to a backend's array type)."""

    def converted(rng: np.random.Generator) -> tuple[tuple, dict]:
        args, kwargs = sample(rng)
        return tuple(convert(a) if isinstance(a, np.ndarray) else a for a in args), kwargs

    converted.__name__ = getattr(sample, "__name__", "sample")
    return converted


CONV = Domain(args=("real", "real"), sample=_sample_conv)
CONV_BACK = Domain(args=("real", "real", "real"), sample=_sample_conv_back)
POOL = Domain(args=("real",), sample=_sample_pool)
# x and y only select entries (y must equal pool(x)), so they have no rules and are held
# fixed; the checks vary the last argument, in which both functions are linear.
POOL_BACK = Domain(args=("real", "real", "real"), sample=_sample_pool_back)
POOL_JVP = Domain(args=("real", "real", "real"), sample=_sample_pool_jvp)
UNPOOL = Domain(args=("real",), sample=_sample_unpool)
UNPOOL_DX = Domain(args=("real",), sample=_sample_unpool_dx)


# ---- convolution: conv4 is bilinear, so its backward functions are each other's rules ----
@primitive(
    lambda dy, y, w, x, **kw: conv4_dw(w, x, dy, **kw),
    lambda dy, y, w, x, **kw: conv4_dx(w, x, dy, **kw),
    jvp=(  # linear in each argument: the convolution with that argument's tangent
        lambda dw, y, w, x, **kw: conv4(dw, x, **kw),
        lambda dx, y, w, x, **kw: conv4(w, dx, **kw),
    ),
    domain=CONV,
)
@_declared
def conv4(
    w: Any, x: Any, *, padding: Any = 0, stride: Any = 1, dilation: Any = 1, mode: int = 0
) -> Any:
    """Convolve images ``x`` (N, C, H, W) with filters ``w`` (K, C, kh, kw) (Knet's ``conv4``).

    ``mode=0`` is true convolution (the filter flipped, Knet's default), ``mode=1``
    cross-correlation (PyTorch's ``conv2d``). ``padding``, ``stride`` and ``dilation``
    are an int or an (h, w) pair. The kernel comes from the arrays' backend; see
    `rulegrad.backends.cpu.conv.conv4` for the exact definition.

    Examples:
        >>> import rulegrad as rg
        >>> w, x = rg.Param(np.ones((1, 1, 2, 2))), np.arange(9.0).reshape(1, 1, 3, 3)
        >>> conv4(w, x)
        array([[[[ 8., 12.],
                 [20., 24.]]]])
        >>> rg.grad(rg.diff(lambda: np.sum(conv4(w, x))), w)
        array([[[[24., 20.],
                 [12.,  8.]]]])
    """
    return _hand_over(
        conv4, (w, x), dict(padding=padding, stride=stride, dilation=dilation, mode=mode)
    )


@primitive(
    None,  # depends on w's shape only
    lambda dy, y, w, x, g, **kw: conv4_dx(dy, x, g, **kw),
    lambda dy, y, w, x, g, **kw: conv4(dy, x, **kw),
    jvp=(
        None,
        lambda dx, y, w, x, g, **kw: conv4_dw(w, dx, g, **kw),
        lambda dg, y, w, x, g, **kw: conv4_dw(w, x, dg, **kw),
    ),
    domain=CONV_BACK,
)
@_declared
def conv4_dw(w: Any, x: Any, dy: Any, **kw: Any) -> Any:
    """The gradient of ``<dy, conv4(w, x)>`` with respect to ``w`` (Knet's ``conv4w``)."""
    return _hand_over(conv4_dw, (w, x, dy), kw)


@primitive(
    lambda dy, y, w, x, g, **kw: conv4_dw(w, dy, g, **kw),
    None,  # depends on x's shape only
    lambda dy, y, w, x, g, **kw: conv4(w, dy, **kw),
    jvp=(
        lambda dw, y, w, x, g, **kw: conv4_dx(dw, x, g, **kw),
        None,
        lambda dg, y, w, x, g, **kw: conv4_dx(w, x, dg, **kw),
    ),
    domain=CONV_BACK,
)
@_declared
def conv4_dx(w: Any, x: Any, dy: Any, **kw: Any) -> Any:
    """The gradient of ``<dy, conv4(w, x)>`` with respect to ``x`` (Knet's ``conv4x``)."""
    return _hand_over(conv4_dx, (w, x, dy), kw)


# ---- pooling: max (mode 0) or mean (modes 1, 2) over windows ----
@primitive(
    lambda dy, y, x, **kw: pool_dx(x, y, dy, **kw),
    jvp=lambda dx, y, x, **kw: pool_jvp(x, y, dx, **kw),
    domain=POOL,
)
@_declared
def pool(x: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None, mode: int = 0) -> Any:
    """Pool each window of each channel of ``x`` (N, C, H, W) (Knet's ``pool``).

    ``mode=0`` takes the maximum (padding counts as -inf; the gradient goes to the
    first maximum of a window), ``mode=1`` the mean over the whole window (padding
    counts as 0), ``mode=2`` the mean over the entries that are not padding. ``stride``
    defaults to ``window``.

    Examples:
        >>> import rulegrad as rg
        >>> x = rg.Param(np.arange(16.0).reshape(1, 1, 4, 4))
        >>> pool(x)
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
        >>> rg.grad(rg.diff(lambda: np.sum(pool(x))), x)[0, 0]
        array([[0., 0., 0., 0.],
               [0., 1., 0., 1.],
               [0., 0., 0., 0.],
               [0., 1., 0., 1.]])
    """
    kw = dict(window=window, padding=padding, stride=stride, mode=mode)
    return _hand_over(pool, (x,), kw)


@primitive(
    None,  # x and y only select which entries get dy: the gradient is zero almost everywhere
    None,
    lambda dy, y, x, yp, g, **kw: pool_jvp(x, yp, dy, **kw),
    jvp=(None, None, lambda dg, y, x, yp, g, **kw: pool_dx(x, yp, dg, **kw)),
    domain=POOL_BACK,
)
@_declared
def pool_dx(x: Any, y: Any, dy: Any, **kw: Any) -> Any:
    """The gradient of ``<dy, pool(x)>`` with respect to ``x``, given ``y = pool(x)``."""
    return _hand_over(pool_dx, (x, y, dy), kw)


def _pool_jvp_dx(dy: Any, y: Any, x: Any, yp: Any, dx: Any, **kw: Any) -> Any:
    """pool_jvp is linear in dx, and its adjoint is pool_dx."""
    return pool_dx(x, yp, dy, **kw)


@primitive(
    None,
    None,
    _pool_jvp_dx,
    jvp=(None, None, lambda ddx, y, x, yp, dx, **kw: pool_jvp(x, yp, ddx, **kw)),
    domain=POOL_JVP,
)
def pool_jvp(
    x: Any, y: Any, dx: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None, mode: int = 0
) -> Any:
    """The derivative of ``pool`` at ``x`` along ``dx``, given ``y = pool(x)``.

    Mean pooling is linear, so this is ``pool(dx)``. Max pooling picks, for each window,
    ``dx`` at the window's first maximum (the entry ``pool_dx`` sends the gradient to).
    Written with numpy functions that dispatch on the array type, so it runs on any
    backend as it is.

    Examples:
        >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
        >>> pool_jvp(x, np.array([[[[3.0]]]]), np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
        array([[[[20.]]]])
    """
    kw_ = dict(window=window, padding=padding, stride=stride, mode=mode)
    if any(isinstance(a, Tracked) for a in (x, y, dx)):
        return pool_jvp(x, y, dx, **kw_)  # boxes of an outer tape (higher order): record there
    if mode != 0:
        return pool(dx, **kw_)
    (kh, kw), (ph, pw) = _pair(window), _pair(padding)
    sh, sw = _pair(window if stride is None else stride)
    ho, wo = np.shape(y)[2:]
    pads = ((0, 0), (0, 0), (ph, ph), (pw, pw))
    xp, dxp = np.pad(x, pads, constant_values=-np.inf), np.pad(dx, pads)
    out = np.zeros_like(y, dtype=np.result_type(y, dx))
    unclaimed = np.ones_like(y, dtype=bool)  # windows whose first maximum is not found yet
    for a in range(kh):
        for b in range(kw):
            index = (
                Ellipsis,
                slice(a, a + sh * (ho - 1) + 1, sh),
                slice(b, b + sw * (wo - 1) + 1, sw),
            )
            hit = (xp[index] == y) & unclaimed
            unclaimed = unclaimed & ~hit
            out = out + np.where(hit, dxp[index], 0)
    return out


# ---- unpooling: spreading each value over its window (the transpose of sum pooling) ----
@primitive(lambda dy, y, x, **kw: unpool_dx(dy, **kw), jvp=LINEAR, domain=UNPOOL)
@_declared
def unpool(x: Any, *, window: Any = 2, padding: Any = 0, stride: Any = None) -> Any:
    """Repeat each value of ``x`` over its pooling window (Knet's ``unpool``).

    Examples:
        >>> unpool(np.array([[[[1.0, 2.0]]]]))
        array([[[[1., 1., 2., 2.],
                 [1., 1., 2., 2.]]]])
    """
    return _hand_over(unpool, (x,), dict(window=window, padding=padding, stride=stride))


@primitive(lambda dy, y, g, **kw: unpool(dy, **kw), jvp=LINEAR, domain=UNPOOL_DX)
@_declared
def unpool_dx(dy: Any, **kw: Any) -> Any:
    """The gradient of ``<dy, unpool(x)>`` with respect to ``x``: window sums of ``dy``."""
    return _hand_over(unpool_dx, (dy,), kw)


#: kernel name -> the domain of its methods (numpy samples, converted per backend).
DOMAINS = {
    "conv4": CONV, "conv4_dw": CONV_BACK, "conv4_dx": CONV_BACK, "pool": POOL,
    "pool_dx": POOL_BACK, "unpool": UNPOOL, "unpool_dx": UNPOOL_DX,
}  # fmt: skip


def register_kernels(
    array_type: Any, kernels: Any, *, origin: str, asarray: Callable[[Any], Any] = np.asarray
) -> list[Method]:
    """Register a backend's kernels as the methods of these primitives for ``array_type``.

    The methods get the rules and domains declared here, so a backend writes array code
    only. ``kernels`` (a module, say) has a function per name in `KERNELS`, taking that
    many arrays of ``array_type`` and the primitive's keywords.

    Args:
        array_type: the array type the kernels take (``numpy.ndarray``, ``cupy.ndarray``).
        kernels: the object whose attributes are the kernels.
        origin: the registering module, credited in ``rulegrad info``.
        asarray: makes a numpy array an ``array_type`` (the checks' inputs).

    Returns:
        The new methods.
    """
    methods = []
    for name, nargs in KERNELS.items():
        prim = globals()[name]
        declared = next(m for m in prim.methods if m.impl in _GENERIC)
        methods.append(
            prim.register(
                getattr(kernels, name),
                declared.rules,
                jvp=declared.forward,
                domain=dataclasses.replace(
                    DOMAINS[name], sample=_converted(DOMAINS[name].sample, asarray)
                ),
                signature=plum.Signature(*[array_type] * nargs),
                origin=origin,
            )
        )
    return methods
