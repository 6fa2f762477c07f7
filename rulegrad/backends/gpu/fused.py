"""Fused elementwise kernels for the hottest activations on cupy arrays, and their gradients.

A generic rule such as ``dy * (1 - y * y)`` runs on cupy as three kernels and two
temporary arrays; one ``cupy.ElementwiseKernel`` does it in one pass. As in Knet, each
backward function is a primitive of its own (``relu_back``, ``sigm_back``,
``tanh_back``) with a generic method (numpy calls, any array type) and a fused cupy
method, so gradients of gradients still work. `register` adds ``cupy.ndarray`` methods
to ``np.tanh`` and, when `rulegrad.nn` defines them, ``relu`` and ``sigm``, whose rules
call the fused backward functions. Importing this module defines the backward
primitives; cupy is imported only by `register`.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import numpy as np
import plum

from ...core import Domain, Method, primitive
from ...core.primitive import PRIMITIVES

__all__ = ["kernels", "register", "relu_back", "sigm_back", "tanh_back"]

BACK = Domain(args=("real", "real"), avoid=(0.0,))


# ---- backward functions: generic methods (any array type) ----
@primitive(lambda dy, y, g, yy: relu_back(dy, yy), None, domain=BACK)
def relu_back(dy: Any, y: Any) -> Any:
    """The gradient of relu given its output: ``dy`` where ``y > 0``, else 0."""
    return dy * (y > 0)


@primitive(
    lambda dy, y, g, yy: sigm_back(dy, yy),
    lambda dy, y, g, yy: dy * g * (1 - 2 * yy),
    domain=BACK,
)
def sigm_back(dy: Any, y: Any) -> Any:
    """The gradient of the logistic sigmoid given its output: ``dy * y * (1 - y)``."""
    return dy * y * (1 - y)


@primitive(
    lambda dy, y, g, yy: tanh_back(dy, yy),
    lambda dy, y, g, yy: -2 * dy * g * yy,
    domain=BACK,
)
def tanh_back(dy: Any, y: Any) -> Any:
    """The gradient of tanh given its output: ``dy * (1 - y * y)``."""
    return dy * (1 - y * y)


# ---- the cupy kernels ----
#: Dtypes the fused kernels take (float32, float64); arrays of other dtypes (float16,
#: integers, bools, complex) get the generic expressions, whose numpy calls cupy runs.
FUSED = frozenset("fd")


@functools.cache
def kernels() -> SimpleNamespace:
    """The fused cupy kernels (compiled by cupy on first call, per dtype).

    Each gives what the generic expression gives, NaN and infinities included:
    ``np.maximum(x, 0)`` keeps NaN, and ``dy * (y > 0)`` is ``dy * 0`` (NaN for an
    infinite or NaN ``dy``, -0.0 for a negative one) where ``y <= 0``.
    """
    import cupy

    def unary(body: str, name: str) -> Any:
        return cupy.ElementwiseKernel("T x", "T y", body, f"rulegrad_{name}")

    def back(body: str, name: str, y: str = "T") -> Any:
        return cupy.ElementwiseKernel(f"T dy, {y} y", "T dx", body, f"rulegrad_{name}")

    return SimpleNamespace(
        relu=unary("y = (x > (T)0 || x != x) ? x : (T)0", "relu"),
        sigm=unary("y = (T)1 / ((T)1 + exp(-x))", "sigm"),
        relu_back=back("dx = y > (U)0 ? dy : dy * (T)0", "relu_back", y="U"),
        sigm_back=back("dx = dy * y * ((T)1 - y)", "sigm_back"),
        tanh_back=back("dx = dy * ((T)1 - y * y)", "tanh_back"),
    )


def _fusable(*arrays: Any) -> bool:
    return all(a.dtype.char in FUSED for a in arrays)


def _same_dtype(a: Any, b: Any) -> tuple[Any, Any]:
    dtype = np.result_type(a.dtype, b.dtype)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _fused_relu_back(dy: Any, y: Any) -> Any:
    # dy's dtype, as ``dy * (y > 0)``: y is only compared, in its own dtype
    return kernels().relu_back(dy, y) if _fusable(dy, y) else dy * (y > 0)


def _fused_sigm_back(dy: Any, y: Any) -> Any:
    if not _fusable(dy, y):
        return dy * y * (1 - y)
    return kernels().sigm_back(*_same_dtype(dy, y))


def _fused_tanh_back(dy: Any, y: Any) -> Any:
    if not _fusable(dy, y):
        return dy * (1 - y * y)
    return kernels().tanh_back(*_same_dtype(dy, y))


def _fused_relu(x: Any) -> Any:
    return kernels().relu(x) if _fusable(x) else np.maximum(x, 0)


def _fused_sigm(x: Any) -> Any:
    return kernels().sigm(x) if _fusable(x) else 1 / (1 + np.exp(-x))


def _cupy_tanh(x: Any) -> Any:
    import cupy

    return cupy.tanh(x)


def _activation(name: str) -> Any:
    """rulegrad's own primitive called ``name`` (from rulegrad.nn), if there is one."""
    for key, prim in PRIMITIVES.items():
        if prim.name == name and isinstance(key, str) and key.startswith("rulegrad."):
            return prim
    return None


def register(array_type: Any, *, origin: str) -> list[Method]:
    """Add the fused methods for ``array_type`` (``cupy.ndarray``); returns them.

    Args:
        array_type: the cupy array type.
        origin: the registering module, credited in ``rulegrad info``.
    """
    one, two = plum.Signature(array_type), plum.Signature(array_type, array_type)
    methods = [
        relu_back.register(_fused_relu_back, relu_back.methods[0].rules, domain=BACK,
                           signature=two, origin=origin),
        sigm_back.register(_fused_sigm_back, sigm_back.methods[0].rules, domain=BACK,
                           signature=two, origin=origin),
        tanh_back.register(_fused_tanh_back, tanh_back.methods[0].rules, domain=BACK,
                           signature=two, origin=origin),
    ]  # fmt: skip
    forward = [
        (PRIMITIVES.get(np.tanh), _cupy_tanh, lambda dy, y, x: tanh_back(dy, y)),
        (_activation("relu"), _fused_relu, lambda dy, y, x: relu_back(dy, y)),
        (_activation("sigm"), _fused_sigm, lambda dy, y, x: sigm_back(dy, y)),
    ]
    for prim, impl, rule in forward:
        if prim is not None:
            domain = prim.methods[0].domain if prim.methods else None
            methods.append(
                prim.register(impl, (rule,), domain=domain, signature=one, origin=origin)
            )
    return methods
