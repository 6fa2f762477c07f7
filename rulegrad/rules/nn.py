"""Knet's neural-network functions: activations, log-softmax, losses, dropout, mat (conv: conv.py).

Hot functions are primitives with one-step rules (relu: ``dy * (y > 0)``; logp:
``dy - exp(y) * sum(dy)``; nll: ``(softmax - onehot) * dy / n``); sigm's backward is a
primitive too, so its second derivative is one node (Knet's activation.jl pattern). The
others are compositions and need no rule. ``lstm`` is a whole recurrent layer in one
primitive, with backpropagation through time written out in its rule (Knet's ``rnn``).
Rows are examples: the class axis of logp, softmax, nll and accuracy is ``axis=-1`` by
default (Knet's dims=1 on its column-major arrays), and ``mat`` keeps axis 0 as the batch
axis.

Forward mode: the activations' rules are their own forward rules (``jvp=ELEMENTWISE``), and
softmax's too (its Jacobian is symmetric); logsumexp, logp and softmax_nll have forward
rules of their own, and lstm pushes the tangents through its recurrence (`_lstm_tangent`:
once per argument that has one).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..core import ELEMENTWISE, Domain, Tracked, plain, primitive, zerograd
from ..core.forward import ForwardTape
from ..core.tape import active_tapes
from ._util import cast_like, dtype_of, expand, rows_reduced, used

REAL = Domain(args=("real",))
KINKED = Domain(args=("real",), avoid=(0.0,))
CLASSES = Domain(args=("real",), kwargs={"axis": ("axis",)})
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


# ---- activations ----
@primitive(
    lambda dy, y, g, s: dy * s * (1 - s),
    lambda dy, y, g, s: dy * g * (1 - 2 * s),
    jvp=ELEMENTWISE,
    domain=Domain(args=("real", "unit")),
)
def sigmback(g: Any, s: Any) -> Any:
    """sigm's backward pass ``g * s * (1 - s)`` for ``s = sigm(x)``, a primitive itself."""
    return g * s * (1 - s)


@primitive(lambda dy, y, x: sigmback(dy, y), jvp=ELEMENTWISE, domain=REAL)
def sigm(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))`` (exp overflows to inf for very negative x,
    giving the correct limit 0)."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


@primitive(lambda dy, y, x: dy * (y > 0), jvp=ELEMENTWISE, domain=KINKED)
def relu(x: Any) -> Any:
    """``max(x, 0)``; the gradient at 0 is taken as 0."""
    return np.maximum(x, 0)


@primitive(
    lambda dy, y, x, alpha=1.0: np.where(x > 0, dy, dy * (y + alpha)),
    None,
    jvp=ELEMENTWISE,
    domain=KINKED,
)
def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` for x > 0, else ``alpha * (exp(x) - 1)`` (Clevert et al. 2015)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@primitive(
    lambda dy, y, x: dy * np.where(x > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA),
    jvp=ELEMENTWISE,
    domain=KINKED,
)
def selu(x: Any) -> Any:
    """Scaled elu with the self-normalizing constants of Klambauer et al. (2017)."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


@primitive(lambda dy, y, x: dy * sigm(x), jvp=ELEMENTWISE, domain=REAL)
def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed without overflow."""
    return np.logaddexp(0, x)


# ---- normalizing along an axis ----
def _logsumexp_dx(dy: Any, y: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """softmax(x) times the gradient of the sum it went into."""
    return expand(dy, x, axis, keepdims) * np.exp(x - expand(y, x, axis, keepdims))


def _logsumexp_jvp(dx: Any, y: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """The sum of dx weighted by softmax(x)."""
    return np.sum(dx * np.exp(x - expand(y, x, axis, keepdims)), axis=axis, keepdims=keepdims)


@primitive(
    _logsumexp_dx,
    jvp=_logsumexp_jvp,
    domain=Domain(args=("real",), kwargs={"axis": ("axis",), "keepdims": (False, True)}),
)
def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` without overflow (all of ``x`` when axis is None)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


@primitive(
    lambda dy, y, x, axis=-1: dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True),
    jvp=lambda dx, y, x, axis=-1: dx - np.sum(dx * np.exp(y), axis=axis, keepdims=True),
    domain=CLASSES,
)
def logp(x: Any, axis: Any = -1) -> Any:
    """Log-softmax along ``axis``: ``x - logsumexp(x, axis)``, so ``exp(logp(x))`` sums to 1."""
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _softmax_dx(dy: Any, y: Any, x: Any, axis: Any = -1) -> Any:
    """``y * (dy - sum(dy * y))``; its own forward rule too, as softmax's Jacobian
    ``diag(y) - y y^T`` is symmetric."""
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


@primitive(_softmax_dx, jvp=_softmax_dx, domain=CLASSES)
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


#: The label dtypes nll's fast path takes, each with the unsigned dtype of its width: viewed
#: so, a negative label is larger than any class count, and one maximum checks the range.
#: (Not uint64: uint64 plus numpy's int64 indices is float64.)
_UNSIGNED = {np.dtype(f"{kind}{size}"): np.dtype(f"u{size}") for kind in "iu" for size in (1, 2, 4)}
_UNSIGNED[np.dtype("i8")] = np.dtype("u8")


def _rows(scores: Any, labels: Any, axis: int) -> bool:
    """Whether nll can take its fast path: plain 2-D float scores with classes along the last
    axis, and one label per row, each a class (none negative, none past the last class)."""
    unsigned = _UNSIGNED.get(labels.dtype) if labels.__class__ is np.ndarray else None
    return (
        unsigned is not None
        and scores.__class__ is np.ndarray
        and scores.ndim == 2
        and axis in (-1, 1)
        and scores.dtype.kind == "f"
        and labels.shape == scores.shape[:1]
        and labels.size > 0
        and np.maximum.reduce(labels.view(unsigned)) < scores.shape[1]  # (labels.max(): Python)
    )


def _as_labels(labels: Any) -> Any:
    """Lists and tuples of labels as an integer array (an empty one too); arrays as they are."""
    if isinstance(labels, Tracked) or hasattr(labels, "dtype"):
        return labels
    labels = np.asarray(labels)
    return labels.astype(np.intp) if labels.size == 0 else labels


def _labels(scores: Any, labels: Any, axis: int) -> Any:
    """``labels`` checked for nll off its fast path: lists and tuples become arrays, and
    anything but integer class indices shaped like ``scores`` without ``axis`` is refused."""
    labels = _as_labels(labels)
    shape = np.shape(scores)
    if np.dtype(labels.dtype).kind not in "iu":
        raise TypeError(
            f"nll: labels must be integer class indices (an integer array) shaped like scores "
            f"without the class axis, not an array of dtype {labels.dtype}; cast them with "
            f".astype(int) if they hold whole numbers"
        )
    ndim = len(shape)
    if -ndim <= axis < ndim:  # otherwise numpy's axis error follows
        expected = shape[: axis % ndim] + shape[axis % ndim + 1 :]
        if np.shape(labels) != expected:
            raise ValueError(
                f"nll: labels of shape {np.shape(labels)} do not fit scores of shape {shape} "
                f"with classes along axis {axis}: labels must have shape {expected}"
            )
        k = shape[axis]
        top = np.max(plain(labels)) if np.size(labels) else -1
        if top >= k:  # (what numpy would say of an index, or a wrong loss from a wrapped one)
            raise IndexError(
                f"nll: label {top} is out of range for scores of {k} classes: labels must "
                f"be 0 to {k - 1} (or negative, to be ignored)"
            )
    return labels


def _picks(labels: np.ndarray, k: int) -> np.ndarray:
    """Where each row's label sits in a C-ordered array of ``k`` classes a row, as flat
    indices: one 1-d index is cheaper than ``x[np.arange(n), labels]``'s two. (The labels
    are in range: `_rows` checked them.)"""
    return labels + _offsets(len(labels), k)


@functools.lru_cache(maxsize=32)
def _offsets(n: int, k: int) -> np.ndarray:
    """``0, k, 2k, ...``: where each of ``n`` rows of ``k`` classes starts in a flat C-ordered
    array. Cached per shape (a training loop's batches share one), so read-only.

    Examples:
        >>> _offsets(3, 10)
        array([ 0, 10, 20])
    """
    offsets = np.arange(0, n * k, k)
    offsets.flags.writeable = False
    return offsets


def _rowmax(x: np.ndarray) -> np.ndarray:
    """The maximum of each row of 2-D ``x``, shape (rows, 1), by `rows_reduced`."""
    return rows_reduced(np.maximum, x, keepdims=True)


class _Checked(tuple):
    """softmax_nll's ``(loss, probabilities)`` from its fast path (`_rows`): a tuple whose
    class tells the vjp, which gets it as ``y``, that the labels are classes, checked."""

    __slots__ = ()


def _softmax_nll_vjp(
    dy: tuple, y: tuple, scores: Any, labels: Any, *, axis: int = -1, average: bool = True
) -> tuple:
    """``(probs - onehot(labels)) * dloss / n`` from the saved probabilities (ignored examples
    get 0), plus softmax's own rule when the probabilities were used too."""
    dloss, dprobs = dy
    probs = y[1]
    if y.__class__ is _Checked and not isinstance(dloss, Tracked):  # (no second label check)
        n, k = probs.shape  # plain arrays, not a higher-order pass: one new buffer
        scale = float(dloss) / n if average else float(dloss)
        g = np.multiply(probs, scale, order="C")  # C order: reshape(-1) is a view of it
        g.reshape(-1)[_picks(labels, k)] -= scale
    else:
        labels = _labels(scores, labels, axis)
        g = probs - _onehot(labels, scores, axis)
        valid = labels >= 0
        if not np.all(valid):
            g = g * np.expand_dims(valid, axis)
        g = g * (dloss / max(int(np.sum(valid)), 1) if average else dloss)
    if used(dprobs):  # (a zero when only the loss was used, as through nll)
        g = g + probs * (dprobs - np.sum(dprobs * probs, axis=axis, keepdims=True))
    return g, None


def _nll_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.standard_normal((5, 4)), rng.integers(0, 4, 5)), {}


def _softmax_nll_jvp(
    ds: Any, y: tuple, scores: Any, labels: Any, *, axis: int = -1, average: bool = True
) -> tuple:
    """softmax's tangent ``p * (ds - sum(ds * p))``, and the loss's: minus the mean over the
    (non-ignored) examples of logp's tangent ``ds - sum(ds * p)`` at their labels."""
    probs = y[1]
    dlogp = ds - np.sum(ds * probs, axis=axis, keepdims=True)
    if y.__class__ is not _Checked:  # (the fast path checked them)
        labels = _labels(scores, labels, axis)
    valid = labels >= 0
    picked = np.take_along_axis(dlogp, np.expand_dims(np.where(valid, labels, 0), axis), axis)
    total = -np.sum(picked if np.all(valid) else picked * np.expand_dims(valid, axis))
    return (total / max(int(np.sum(valid)), 1) if average else total), probs * dlogp


@primitive(
    vjp=_softmax_nll_vjp,
    jvp=(_softmax_nll_jvp, None),
    domain=Domain(args=("real", "int"), sample=_nll_sample),
)
def softmax_nll(scores: Any, labels: Any, *, axis: int = -1, average: bool = True) -> tuple:
    """`nll` and the softmax it goes through: ``(loss, probabilities)``.

    One primitive computing both, so the gradient reuses the probabilities instead of
    computing them again (PyTorch's cross-entropy keeps them the same way); `nll` is its
    first output. Arguments as for `nll`.

    Examples:
        >>> loss, probs = softmax_nll(np.array([[0.0, np.log(3.0)]]), np.array([1]))
        >>> round(float(loss), 4), probs.round(2)
        (0.2877, array([[0.25, 0.75]]))
    """
    if _rows(scores, labels, axis):  # the common case, in fewer numpy calls
        z = scores - _rowmax(scores)
        e = np.exp(z)
        sums = np.add.reduce(e, axis=1, keepdims=True)  # (ndarray.sum is Python code)
        picked = z.reshape(-1)[_picks(labels, z.shape[1])]
        total = np.add.reduce(np.log(sums), axis=None) - np.add.reduce(picked)
        return _Checked(((total / len(labels) if average else total), np.divide(e, sums, out=e)))
    labels = _labels(scores, labels, axis)
    valid = labels >= 0
    lp = logp(scores, axis=axis)
    picked = np.take_along_axis(lp, np.expand_dims(np.where(valid, labels, 0), axis), axis)
    total = -np.sum(picked if np.all(valid) else picked * np.expand_dims(valid, axis))
    return (total / max(int(np.sum(valid)), 1) if average else total), np.exp(lp)


def nll(scores: Any, labels: Any, axis: int = -1, average: bool = True) -> Any:
    """Negative log-likelihood of integer ``labels`` under ``softmax(scores)`` (cross-entropy).

    Args:
        scores: unnormalized log-probabilities, classes along ``axis``.
        labels: integer class of each example, shaped like ``scores`` without ``axis``
            (an integer array; a list or tuple is converted); negative labels are ignored
            (padding).
        axis: the class axis.
        average: the mean over the (non-ignored) examples, else their sum.

    Returns:
        A scalar of ``scores``' dtype (the first output of the primitive `softmax_nll`).

    Examples:
        >>> import rulegrad as rg
        >>> w = rg.Param(np.zeros((2, 3)))
        >>> J = rg.diff(lambda: nll(np.ones((1, 2)) @ w, np.array([2])))
        >>> round(float(rg.value(J)), 4), rg.grad(J, w).round(3)
        (1.0986, array([[ 0.333,  0.333, -0.667],
               [ 0.333,  0.333, -0.667]]))
    """
    return softmax_nll(scores, labels, axis=axis, average=average)[0]


def accuracy(scores: Any, labels: Any, axis: int = -1, average: bool = True) -> Any:
    """The fraction (or, with ``average=False``, the number) of examples whose largest score
    is at their label; negative labels are ignored. No gradient: it returns a plain value."""
    labels = _as_labels(labels)
    valid = labels >= 0
    right = np.sum((np.argmax(scores, axis=axis) == labels) & valid)
    return right / max(int(np.sum(valid)), 1) if average else right


def bce(scores: Any, labels: Any) -> Any:
    """Binary cross-entropy of 0/1 ``labels`` under ``sigm(scores)``, averaged (Knet's bce)."""
    return np.mean(softplus(scores) - cast_like(labels, scores) * scores)


def logistic(scores: Any, labels: Any) -> Any:
    """Logistic loss of -1/+1 ``labels``: ``mean(log(1 + exp(-labels * scores)))`` (Knet)."""
    return np.mean(softplus(-cast_like(labels, scores) * scores))


# ---- recurrent: a fused LSTM over a whole sequence ----
def _lstm_forward(
    w: Any, b: Any, x: Any, h: Any, c: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run an LSTM over the sequence ``x`` (T, B, X) from state ``(h, c)`` (B, H).

    ``w`` is (X + H, 4H) and ``b`` (4H,), gates in the order input, forget, output, cell.
    Returns the hidden states and cell states (T, B, H) and the activated gates (T, B, 4H).
    The inputs' share of every step's gates is one product over the whole sequence (as
    cuDNN does); only ``h @ w_h`` has to wait for the step before.
    """
    steps, batch, nx = x.shape
    n = h.shape[-1]
    hs = np.empty_like(h, shape=(steps, batch, n))  # on the array library of h
    cs = np.empty_like(hs)
    gates = np.reshape(x, (steps * batch, nx)) @ w[:nx]
    gates += b
    gates = np.reshape(gates, (steps, batch, 4 * n))  # activated in place, step by step
    wh = w[nx:]
    for t in range(steps):
        gate = gates[t]
        gate += h @ wh
        gate[:, : 3 * n] = sigm(gate[:, : 3 * n])
        gate[:, 3 * n :] = np.tanh(gate[:, 3 * n :])
        i, f, o, g = gate[:, :n], gate[:, n : 2 * n], gate[:, 2 * n : 3 * n], gate[:, 3 * n :]
        c = cs[t] = f * c + i * g
        h = hs[t] = o * np.tanh(c)
    return hs, cs, gates


def lstmback(dy: tuple, y: tuple, w: Any, b: Any, x: Any, h: Any, c: Any) -> tuple:
    """`lstm`'s backward pass (its vjp, public as Knet's ``*back`` functions are):
    backpropagation through time, one step at a time from the last. ``dy`` and ``y`` are
    the gradients and values of ``(hs, cs, gates)``; returns ``(dw, db, dx, dh, dc)``.

    With ``c_t = f*c_{t-1} + i*g`` and ``h_t = o*tanh(c_t)``: ``do = dh*tanh(c_t)``,
    ``dc += dh*o*(1 - tanh(c_t)**2)``, ``di = dc*g``, ``df = dc*c_{t-1}``, ``dg = dc*i``,
    then through the activations to ``dz``, and ``dh_{t-1} = dz @ w_h.T``. The products
    that do not feed the next step (the inputs' and the weights' gradients) are one each
    over the whole sequence, at the end. Written with numpy calls and no in-place writes,
    so it differentiates again.
    """
    dhs, dcs, dgates = dy
    hs, cs, gates = y
    steps, batch, nx = np.shape(x)
    n = np.shape(h)[-1]
    # cs and gates are usually not used by the loss: their gradients are then zeros
    cs_used, gates_used = (used(d) if d.__class__ is np.ndarray else True for d in dy[1:])
    wh_t = w[nx:].T
    dh, dc = dhs[-1], np.zeros_like(c)
    dzs = []
    for t in range(steps - 1, -1, -1):
        gate = gates[t]
        sig, g = gate[:, : 3 * n], gate[:, 3 * n :]
        i, f, o = gate[:, :n], gate[:, n : 2 * n], gate[:, 2 * n : 3 * n]
        c_prev = cs[t - 1] if t > 0 else c
        tc = np.tanh(cs[t])
        dc = dc + dh * o * (1 - tc * tc)
        if cs_used:
            dc = dc + dcs[t]
        dsig = np.concatenate([dc * g, dc * c_prev, dh * tc], axis=1)
        dg = dc * i
        if gates_used:
            dsig, dg = dsig + dgates[t][:, : 3 * n], dg + dgates[t][:, 3 * n :]
        dz = np.concatenate([dsig * sig * (1 - sig), dg * (1 - g * g)], axis=1)
        dzs.append(dz)
        dc = dc * f
        dh = dz @ wh_t if t == 0 else dz @ wh_t + dhs[t - 1]
    dz_all = np.concatenate(dzs[::-1], axis=0)  # (T*B, 4H), in time order
    dx = np.reshape(dz_all @ w[:nx].T, (steps, batch, nx))
    dwh = h.T @ dz_all[:batch]  # h_{t-1} for t = 0 is the initial state
    if steps > 1:
        dwh = dwh + np.reshape(hs[:-1], (-1, n)).T @ dz_all[batch:]
    dw = np.concatenate([np.reshape(x, (-1, nx)).T @ dz_all, dwh], axis=0)
    db = np.sum(dz_all, axis=0)
    return dw, db, dx, dh, dc


def _lstm_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Small random inputs for the automatic gradient check of `lstm`."""
    steps, batch, nx, nh = 3, 2, 3, 2
    return (
        0.5 * rng.standard_normal((nx + nh, 4 * nh)), 0.1 * rng.standard_normal(4 * nh),
        rng.standard_normal((steps, batch, nx)), 0.5 * rng.standard_normal((batch, nh)),
        0.5 * rng.standard_normal((batch, nh)),
    ), {}  # fmt: skip


def _lstm_tangent(
    y: tuple, w: Any, x: Any, c: Any, inj: Any = None, dh: Any = None, dc: Any = None
) -> tuple:
    """The tangents of `lstm`'s ``(hs, cs, gates)``, pushed through the recurrence step by
    step: ``inj`` is what the tangents of the weights, bias and inputs add to every step's
    gates (T, B, 4H) (or the bias's alone, (4H,)), ``dh`` and ``dc`` the initial state's
    tangents. With
    ``dz_t = inj_t + dh_{t-1} @ w_h`` through the activations to ``di, df, do, dg``:
    ``dc_t = df*c_{t-1} + f*dc_{t-1} + di*g + i*dg`` and
    ``dh_t = do*tanh(c_t) + o*(1 - tanh(c_t)**2)*dc_t``."""
    hs, cs, gates = y
    steps, nx, n = np.shape(x)[0], np.shape(x)[-1], np.shape(c)[-1]
    zero = np.zeros_like(plain(c))
    dh = zero if dh is None else dh
    dc = zero if dc is None else dc
    wh = w[nx:]
    out_h, out_c, out_g = [], [], []
    for t in range(steps):
        dz = dh @ wh
        if inj is not None:
            dz = dz + (inj if np.ndim(inj) == 1 else inj[t])
        gate = gates[t]
        sig, g = gate[:, : 3 * n], gate[:, 3 * n :]
        dsig, dg = dz[:, : 3 * n] * sig * (1 - sig), dz[:, 3 * n :] * (1 - g * g)
        tc = np.tanh(cs[t])
        dc = (
            dsig[:, n : 2 * n] * (cs[t - 1] if t else c)
            + gate[:, n : 2 * n] * dc
            + dsig[:, :n] * g
            + gate[:, :n] * dg
        )
        dh = dsig[:, 2 * n :] * tc + gate[:, 2 * n : 3 * n] * (1 - tc * tc) * dc
        out_h.append(dh)
        out_c.append(dc)
        out_g.append(np.concatenate([dsig, dg], axis=1))
    return np.stack(out_h), np.stack(out_c), np.stack(out_g)


def _lstm_jvp(dxs: tuple, y: tuple, w: Any, b: Any, x: Any, h: Any, c: Any) -> tuple:
    """All the arguments' tangents through the recurrence in one pass: dw adds
    ``[x_t, h_{t-1}] @ dw`` to the gates (two products over the whole sequence), db adds
    itself and dx adds ``dx_t @ w_x``; dh and dc start the state's tangents."""
    dw, db, dx, dh, dc = dxs
    steps, batch, nx = np.shape(x)
    n = np.shape(h)[-1]
    inj = db
    if dw is not None:
        before = np.concatenate([np.expand_dims(h, 0), y[0][:-1]], axis=0)  # h_{t-1}
        dz = np.reshape(x, (steps * batch, nx)) @ dw[:nx]
        dz = dz + np.reshape(before, (steps * batch, n)) @ dw[nx:]
        inj = _plus(inj, np.reshape(dz, (steps, batch, 4 * n)))
    if dx is not None:
        dz = np.reshape(np.reshape(dx, (steps * batch, nx)) @ w[:nx], (steps, batch, 4 * n))
        inj = _plus(inj, dz)
    return _lstm_tangent(y, w, x, c, inj=inj, dh=dh, dc=dc)


def _plus(a: Any, b: Any) -> Any:
    """``a + b``, None being zero."""
    return b if a is None else a + b


@primitive(vjp=lstmback, jvp=_lstm_jvp, domain=Domain(sample=_lstm_sample, order=1))
def lstm(w: Any, b: Any, x: Any, h: Any, c: Any) -> tuple:
    """A fused LSTM layer over a whole sequence (Knet's ``rnn``), with its own gradient.

    One primitive for the whole sequence: the tape holds one node instead of a dozen per
    time step, and the backward pass is `lstmback`, backpropagation through time by hand.

    Args:
        w: weights (X + H, 4H) for ``[x_t, h_{t-1}]``; gates input, forget, output, cell.
        b: bias (4H,).
        x: inputs (T, B, X).
        h: initial hidden state (B, H).
        c: initial cell state (B, H).

    Returns:
        ``(hs, cs, gates)``: the hidden and cell states (T, B, H) after every step, and the
        activated gates (T, B, 4H), which the gradient reuses.

    Examples:
        >>> import rulegrad as rg
        >>> rng = np.random.default_rng(0)
        >>> w, b = rg.Param(rng.standard_normal((5, 8))), rg.Param(np.zeros(8))
        >>> x, h = rng.standard_normal((4, 2, 3)), np.zeros((2, 2))
        >>> J = rg.diff(lambda: np.sum(lstm(w, b, x, h, h)[0][-1]))
        >>> rg.grad(J, w).shape, rg.grad(J, b).shape
        ((5, 8), (8,))
        >>> hs, cs, gates = lstm(w, b, x, h, h)  # outside diff: plain arrays
        >>> hs.shape, cs.shape, gates.shape
        ((4, 2, 2), (4, 2, 2), (4, 2, 8))
    """
    return _lstm_forward(w, b, x, h, c)


# ---- regularization and reshaping ----
def dropout(
    x: Any, p: float, training: bool | None = None, rng: np.random.Generator | None = None
) -> Any:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        x: the input.
        p: the probability of dropping an element.
        training: drop or not; by default, only while a reverse-mode ``diff`` (or
            ``grad``, ``vjp``) is recording (Knet's ``training()``), so the same model code
            evaluates without dropout. Forward mode alone (``jvp``, ``linearize``, a
            ``jacobian`` by columns) evaluates: one mask per call would make each column
            the derivative of another function. Pass ``training=True`` with a fresh
            ``np.random.default_rng(seed)`` per call to push tangents through one mask.
        rng: where the random mask comes from (default: numpy's global generator).

    Returns:
        ``x`` masked and rescaled (dropped elements get zero gradient), or ``x`` itself.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability p must be in [0, 1], not {p!r}")
    if training is None:
        training = any(not isinstance(tape, ForwardTape) for tape in active_tapes())
    if not training or p == 0:
        return x
    if p == 1:  # every element dropped (torch's convention): zeros, and zero gradient
        return x * np.zeros(np.shape(x), dtype_of(x))
    return x * dropout_mask(x, p, rng)


@zerograd
def dropout_mask(x: Any, p: float, rng: np.random.Generator | None) -> Any:
    """dropout's mask for ``x``: 0 with probability ``p``, else ``1 / (1 - p)``, in x's dtype.

    A zero-gradient primitive of ``x`` rather than a plain draw, so that `rulegrad.jit`
    records it and a replay draws a new mask.
    """
    draw = (rng or np.random).random(np.shape(x))
    return ((draw >= p) * (1 / (1 - p))).astype(dtype_of(x))


def mat(x: Any) -> Any:
    """Flatten to 2-D keeping axis 0, the batch axis: shape ``(n, -1)`` (Knet's mat)."""
    return np.reshape(x, (np.shape(x)[0], -1))
