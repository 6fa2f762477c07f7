"""Knet's neural-network functions: activations, log-softmax, losses, dropout, mat (conv: conv.py).

Hot functions are primitives with one-step rules (relu: ``dy * (y > 0)``; logp:
``dy - exp(y) * sum(dy)``; nll: ``(softmax - onehot) * dy / n``); sigm's backward is a
primitive too, so its second derivative is one node (Knet's activation.jl pattern). The
others are compositions and need no rule. Rows are examples: the class axis of logp,
softmax, nll and accuracy is ``axis=-1`` by default (Knet's dims=1 on its column-major
arrays), and ``mat`` keeps axis 0 as the batch axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Domain, primitive
from ..core.tape import active_tapes
from ._util import cast_like, dtype_of, expand

REAL = Domain(args=("real",))
KINKED = Domain(args=("real",), avoid=(0.0,))
CLASSES = Domain(args=("real",), kwargs={"axis": ("axis",)})
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


# ---- activations ----
@primitive(
    lambda dy, y, g, s: dy * s * (1 - s),
    lambda dy, y, g, s: dy * g * (1 - 2 * s),
    domain=Domain(args=("real", "unit")),
)
def sigmback(g: Any, s: Any) -> Any:
    """sigm's backward pass ``g * s * (1 - s)`` for ``s = sigm(x)``, a primitive itself."""
    return g * s * (1 - s)


@primitive(lambda dy, y, x: sigmback(dy, y), domain=REAL)
def sigm(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))`` (exp overflows to inf for very negative x,
    giving the correct limit 0)."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


@primitive(lambda dy, y, x: dy * (y > 0), domain=KINKED)
def relu(x: Any) -> Any:
    """``max(x, 0)``; the gradient at 0 is taken as 0."""
    return np.maximum(x, 0)


@primitive(lambda dy, y, x, alpha=1.0: np.where(x > 0, dy, dy * (y + alpha)), None, domain=KINKED)
def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` for x > 0, else ``alpha * (exp(x) - 1)`` (Clevert et al. 2015)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@primitive(
    lambda dy, y, x: dy * np.where(x > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA), domain=KINKED
)
def selu(x: Any) -> Any:
    """Scaled elu with the self-normalizing constants of Klambauer et al. (2017)."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


@primitive(lambda dy, y, x: dy * sigm(x), domain=REAL)
def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed without overflow."""
    return np.logaddexp(0, x)


# ---- normalizing along an axis ----
def _logsumexp_dx(dy: Any, y: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """softmax(x) times the gradient of the sum it went into."""
    return expand(dy, x, axis, keepdims) * np.exp(x - expand(y, x, axis, keepdims))


@primitive(
    _logsumexp_dx,
    domain=Domain(args=("real",), kwargs={"axis": ("axis",), "keepdims": (False, True)}),
)
def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` without overflow (all of ``x`` when axis is None)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


@primitive(
    lambda dy, y, x, axis=-1: dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True), domain=CLASSES
)
def logp(x: Any, axis: Any = -1) -> Any:
    """Log-softmax along ``axis``: ``x - logsumexp(x, axis)``, so ``exp(logp(x))`` sums to 1."""
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@primitive(
    lambda dy, y, x, axis=-1: y * (dy - np.sum(dy * y, axis=axis, keepdims=True)), domain=CLASSES
)
def softmax(x: Any, axis: Any = -1) -> Any:
    """``exp(x) / sum(exp(x), axis)``, computed without overflow."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ---- losses on integer labels ----
def _onehot(labels: Any, like: Any, axis: int) -> Any:
    """Booleans shaped like ``like``: True at each example's label along ``axis``."""
    k = np.shape(like)[axis]
    shape = [1] * np.ndim(like)
    shape[axis] = k
    return np.expand_dims(labels, axis) == np.reshape(np.arange(k, like=labels), shape)


def _nll_dscores(
    dy: Any, y: Any, scores: Any, labels: Any, axis: int = -1, average: bool = True
) -> Any:
    """``(softmax(scores) - onehot(labels)) * dy / n`` (ignored examples get 0)."""
    g = softmax(scores, axis=axis) - _onehot(labels, scores, axis)
    valid = labels >= 0
    if not np.all(valid):
        g = g * np.expand_dims(valid, axis)
    return g * (dy / max(int(np.sum(valid)), 1) if average else dy)


def _nll_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.standard_normal((5, 4)), rng.integers(0, 4, 5)), {}


@primitive(_nll_dscores, None, domain=Domain(args=("real", "int"), sample=_nll_sample))
def nll(scores: Any, labels: Any, axis: int = -1, average: bool = True) -> Any:
    """Negative log-likelihood of integer ``labels`` under ``softmax(scores)`` (cross-entropy).

    Args:
        scores: unnormalized log-probabilities, classes along ``axis``.
        labels: integer class of each example, shaped like ``scores`` without ``axis``;
            negative labels are ignored (padding).
        axis: the class axis.
        average: the mean over the (non-ignored) examples, else their sum.

    Returns:
        A scalar of ``scores``' dtype.
    """
    valid = labels >= 0
    lp = logp(scores, axis=axis)
    picked = np.take_along_axis(lp, np.expand_dims(np.where(valid, labels, 0), axis), axis)
    total = -np.sum(picked if np.all(valid) else picked * np.expand_dims(valid, axis))
    return total / max(int(np.sum(valid)), 1) if average else total


def accuracy(scores: Any, labels: Any, axis: int = -1, average: bool = True) -> Any:
    """The fraction (or, with ``average=False``, the number) of examples whose largest score
    is at their label; negative labels are ignored. No gradient: it returns a plain value."""
    valid = labels >= 0
    right = np.sum((np.argmax(scores, axis=axis) == labels) & valid)
    return right / max(int(np.sum(valid)), 1) if average else right


def bce(scores: Any, labels: Any) -> Any:
    """Binary cross-entropy of 0/1 ``labels`` under ``sigm(scores)``, averaged (Knet's bce)."""
    return np.mean(softplus(scores) - cast_like(labels, scores) * scores)


def logistic(scores: Any, labels: Any) -> Any:
    """Logistic loss of -1/+1 ``labels``: ``mean(log(1 + exp(-labels * scores)))`` (Knet)."""
    return np.mean(softplus(-cast_like(labels, scores) * scores))


# ---- regularization and reshaping ----
def dropout(
    x: Any, p: float, training: bool | None = None, rng: np.random.Generator | None = None
) -> Any:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        x: the input.
        p: the probability of dropping an element.
        training: drop or not; by default, only while a ``diff`` is recording (Knet's
            ``training()``), so the same model code evaluates without dropout.
        rng: where the random mask comes from (default: numpy's global generator).

    Returns:
        ``x`` masked and rescaled (dropped elements get zero gradient), or ``x`` itself.
    """
    if training is None:
        training = bool(active_tapes())
    if not training or p == 0:
        return x
    draw = (rng or np.random).random(np.shape(x))
    keep = (draw >= p) * (1 / (1 - p))
    return x * keep.astype(dtype_of(x))


def mat(x: Any) -> Any:
    """Flatten to 2-D keeping axis 0, the batch axis: shape ``(n, -1)`` (Knet's mat)."""
    return np.reshape(x, (np.shape(x)[0], -1))
