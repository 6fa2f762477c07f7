"""Helpers of the GPU tests: the ``cupy`` fixture (skips without cupy or a CUDA device), a
strict stand-in for device arrays that runs anywhere, and inputs drawn from a domain.

A module rather than conftest.py: with ``--doctest-modules``, a conftest.py here would be
imported under the same name as tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from rulegrad import plugins


@pytest.fixture(scope="session")
def cupy() -> Any:
    """The cupy module, with the GPU backend loaded; skips (with the reason) when unusable."""
    try:
        import cupy
    except ImportError:
        pytest.skip("cupy is not installed (pip install 'rulegrad[cuda12]')")
    gpu = plugins.load().backends["gpu"]
    if not gpu.available:
        pytest.skip(f"the gpu backend is unavailable: {gpu.reason}")
    return cupy


class DeviceArray(np.lib.mixins.NDArrayOperatorsMixin):
    """A stand-in for ``cupy.ndarray`` on machines without a GPU.

    It computes with numpy, reached only through numpy's dispatch protocols
    (``__array_ufunc__``, ``__array_function__``), and, like cupy, refuses implicit
    conversion to a numpy array and mixing with numpy arrays of one or more dimensions.
    A rule that runs on it unchanged runs on cupy unless it calls a function cupy lacks;
    a rule that builds host arrays (``np.zeros(shape)``, ``np.asarray``) fails on both.
    """

    __slots__ = ("a",)

    def __init__(self, a: np.ndarray) -> None:
        self.a = a

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed (a device array)")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        data = inputs[:1] + inputs[2:] if method == "at" else inputs  # at's indices may be host
        _check_host(data, f"np.{ufunc.__name__}")
        return wrap(getattr(ufunc, method)(*unwrap(inputs), **unwrap(kwargs)))

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        _check_host(args, f"np.{func.__name__}", ints=False)  # integer host arrays: axes, indices
        return wrap(func(*unwrap(args), **unwrap(kwargs)))

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    T = property(lambda self: DeviceArray(self.a.T))

    def __getattr__(self, name: str) -> Any:  # ndarray methods: reshape, sum, astype, ...
        attr = getattr(self.a, name)
        if not callable(attr):
            return wrap(attr)
        return lambda *args, **kwargs: wrap(attr(*unwrap(args), **unwrap(kwargs)))

    def __getitem__(self, index: Any) -> Any:
        return wrap(self.a[unwrap(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self.a[unwrap(index)] = unwrap(value)

    def __len__(self) -> int:
        return len(self.a)

    def __float__(self) -> float:
        return float(self.a)

    def __int__(self) -> int:
        return int(self.a)

    def __bool__(self) -> bool:
        return bool(self.a)

    def __index__(self) -> int:
        return self.a.__index__()

    def __repr__(self) -> str:
        return f"DeviceArray({self.a!r})"


def _check_host(values: Any, where: str, ints: bool = True) -> None:
    for v in values:
        if isinstance(v, (list, tuple)):
            _check_host(v, where, ints)
        elif (
            isinstance(v, np.ndarray)
            and v.ndim > 0
            and v.dtype != object
            and (ints or v.dtype.kind not in "iu")
        ):
            raise TypeError(f"{where}: a host numpy array {v.shape} met a device array")


def wrap(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return DeviceArray(x)
    if isinstance(x, np.generic):
        return DeviceArray(np.asarray(x))  # cupy returns 0-d arrays, not numpy scalars
    if isinstance(x, tuple):
        return type(x)(*map(wrap, x)) if hasattr(type(x), "_fields") else tuple(map(wrap, x))
    if isinstance(x, list):
        return [wrap(v) for v in x]
    return x


def unwrap(x: Any) -> Any:
    if isinstance(x, DeviceArray):
        return x.a
    if isinstance(x, tuple):
        return tuple(unwrap(v) for v in x)
    if isinstance(x, list):
        return [unwrap(v) for v in x]
    if isinstance(x, dict):
        return {k: unwrap(v) for k, v in x.items()}
    return x


#: The modules whose rules must run on every backend: rulegrad's rule library.
RULE_LIBRARY = ("rulegrad.rules.", "rulegrad.nn", "rulegrad.backends.")

#: primitive name -> why its generic method cannot run on a device array.
NEEDS_DEVICE_METHOD = {
    "conv4": "array work on strided views (im2col) of one library: backends register kernels",
    "conv4_dw": "as conv4",
    "conv4_dx": "as conv4",
    "pool": "as conv4",
    "pool_dx": "as conv4",
    "unpool": "as conv4",
    "unpool_dx": "as conv4",
    "pool_jvp": "calls pool for mean pooling, whose kernels come from backends",
}


# ---- inputs from a domain (enough for these tests; rulegrad.testing draws the real ones) ----
SHAPES = {
    "broadcast": [(3, 4), (3, 4), (3, 4)],
    "same": [(3, 4)] * 3,
    "matmul": [(3, 4), (4, 2)],
    "square": [(3, 3)] * 3,
    "scalar": [()] * 3,
}


def _kind(kind: str, rng: np.random.Generator, shape: tuple, avoid: tuple) -> Any:
    mag = rng.uniform(0.3, 1.5, shape)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    if kind == "real":
        return sign * mag if avoid else rng.standard_normal(shape)
    if kind in ("positive", "nonzero"):
        return mag if kind == "positive" else sign * mag
    if kind == "unit":
        return rng.uniform(0.1, 0.9, shape)
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "int":
        return rng.integers(0, 3, shape)
    raise LookupError(kind)


def draw(domain: Any, rng: np.random.Generator) -> tuple[tuple, dict] | None:
    """``(args, kwargs)`` for a domain, or None when it cannot be drawn here."""
    if domain is None:
        return None
    if domain.sample is not None:
        args, kwargs = domain.sample(rng)
        return tuple(np.asarray(a) if isinstance(a, list) else a for a in args), kwargs
    shapes = SHAPES.get(domain.shapes)
    if shapes is None or len(domain.args) > len(shapes):
        return None
    try:
        args = tuple(_kind(k, rng, s, domain.avoid) for k, s in zip(domain.args, shapes))
    except LookupError:
        return None
    kwargs = {}
    for name, options in dict(domain.kwargs).items():
        value = options[0]
        kwargs[name] = 0 if value == "axis" else value
    return args, kwargs


def _floats(args: tuple) -> list[int]:
    return [
        i
        for i, a in enumerate(args)
        if getattr(a, "dtype", None) is not None and a.dtype.kind == "f"
    ]


def gradients_on(
    prim: Any, args: tuple, kwargs: dict, to_device: Callable, to_host: Callable, seed: int = 0
) -> list[Any]:
    """The gradients of ``sum(u * prim(*args))`` w.r.t. the float arguments, computed on a
    device (arguments moved with ``to_device``) and brought back with ``to_host``."""
    import rulegrad as rg

    which = _floats(args)

    def f(*diff: Any) -> Any:
        full = list(to_device(a) for a in args)
        for i, d in zip(which, diff):
            full[i] = d
        return prim(*full, **kwargs)

    out, back = rg.vjp(f, *(to_device(args[i]) for i in which))
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(seed)
    dys = [to_device(rng.standard_normal(np.shape(to_host(o)))) for o in outs]
    return [None if g is None else to_host(g) for g in back(*dys)]


def survey(to_device: Callable, to_host: Callable) -> tuple[dict[str, str], list[str]]:
    """Every rule-library primitive's declared (generic) method, forward and backward on a
    device (``to_device``/``to_host`` move arrays) and on numpy, at inputs drawn from its
    domain: ``(failures, checked)``, failures by primitive name with what went wrong.

    A primitive whose domain cannot be drawn here, or whose numpy gradient fails at the
    drawn inputs (not differentiable there either), is not checked."""
    from rulegrad.core.primitive import PRIMITIVES

    rng = np.random.default_rng(0)
    failures: dict[str, str] = {}
    checked: list[str] = []
    for prim in list(PRIMITIVES.values()):
        method = prim.methods[0] if prim.methods else None  # the one all arrays fall back on
        if prim.zero or method is None or method.domain is None:
            continue
        if not method.origin.startswith(RULE_LIBRARY):
            continue  # plugins', benchmarks' and tests' primitives: theirs to check
        drawn = draw(method.domain, rng)
        if drawn is None:
            continue
        args, kwargs = drawn
        try:
            want = gradients_on(prim, args, kwargs, lambda a: a, lambda a: a)
        except Exception:
            continue  # not differentiable at these inputs on numpy either: not our question
        checked.append(prim.name)
        try:
            got = gradients_on(prim, args, kwargs, to_device, to_host)
        except Exception as e:
            failures[prim.name] = f"{type(e).__name__}: {e}"
            continue
        for g, w in zip(got, want):
            if (g is None) != (w is None) or (g is not None and not np.allclose(g, w)):
                failures[prim.name] = "different gradient"
    return failures, checked
