"""Linear algebra: dot inner outer vdot tensordot einsum trace kron (matmul: arithmetic.py), and
np.linalg's inv det slogdet solve norm cholesky eigh eig qr svd, plus what is built from them
(eigvals eigvalsh pinv lstsq cond matrix_power multi_dot tensorinv tensorsolve);
matrix_rank has no gradient. Stacked (batched) matrices work wherever numpy takes them.

Where a gradient does not exist: inv/det/slogdet/solve at singular matrices; eigh's and
eig's eigenvectors at repeated eigenvalues (the eigenvalues alone are fine); svd's U and V
at repeated or zero singular values, and svd(full_matrices=True) of a non-square matrix
(the extra columns are arbitrary: use full_matrices=False); likewise qr(mode="complete")
of a tall matrix when its extra columns of Q are used, and qr(mode="raw"); lstsq where its
rank changes; norms at 0 (ord <= 1 or max-type norms at ties). cholesky and eigh read one
triangle of their input, so their gradients are those of that triangle (the other is
zero); symmetrize the input (``(a + a.T) / 2``) to get the symmetric gradient; so do svd
and pinv with ``hermitian=True``.

Gauges. eigh's eigenvectors are defined up to sign (a phase, if complex): use them in
ways the sign does not change (squared, ``v v^H``). eig's are scaled as numpy scales
them (unit norm, largest component real: LAPACK's geev), and its rule differentiates that
choice, so any use of them is fine away from ties of the largest component. qr's R has a
real diagonal (Householder's, any sign), kept as it varies.

einsum: the "a,b->c" string form and the sublist form ``einsum(a, [0, 1], b, [1, 2],
[0, 2])``, with any ``optimize=``. Complex inputs follow autograd's convention (see
complex.py); a Hermitian factorization's diagonal gradient is real. ``out=`` with tracked
values raises InPlaceError.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

import numpy as np

from ..core import Domain, implements, primitive, value, zerograd
from ..core.errors import NoRuleError
from ._util import cast_to, dtype_of, eye, is_complex, no_out, used


def _swap(x: Any) -> Any:
    """Transpose the last two axes (a stack of matrices)."""
    return np.swapaxes(x, -1, -2)


def _h(x: Any) -> Any:
    """The conjugate transpose of a stack of matrices (the transpose when real)."""
    return np.conj(_swap(x)) if is_complex(x) else _swap(x)


def _eye(n: int, like: Any) -> Any:
    return eye(n, like, dtype=dtype_of(like))


def _square(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    """A well-conditioned square matrix."""
    return rng.standard_normal((n, n)) + n * np.eye(n)


def _spd(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    """A symmetric positive definite matrix."""
    b = rng.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


SQUARE = Domain(args=("real",), shapes="square", sample=lambda rng: ((_square(rng),), {}))


# ---- tensordot and einsum: contractions whose adjoints are contractions ----
def _contracted(a: Any, b: Any, axes: Any) -> tuple[list[int], list[int], list[int], list[int]]:
    """tensordot's summed axes of a and b (paired), and the free axes of each."""
    na, nb = np.ndim(a), np.ndim(b)
    if np.ndim(axes) == 0:
        sa, sb = list(range(na - int(axes), na)), list(range(int(axes)))
    else:
        sa, sb = ([x] if np.ndim(x) == 0 else list(x) for x in axes)
        sa, sb = [int(i) % na for i in sa], [int(i) % nb for i in sb]
    return sa, sb, [i for i in range(na) if i not in sa], [i for i in range(nb) if i not in sb]


def _tensordot_da(dy: Any, y: Any, a: Any, b: Any, axes: Any = 2) -> Any:
    """Contract dy with b over b's free axes, then order the axes as a's."""
    sa, sb, fa, fb = _contracted(a, b, axes)
    g = np.tensordot(dy, b, axes=(list(range(len(fa), np.ndim(dy))), fb))
    return np.transpose(g, np.argsort(fa + [sa[sb.index(j)] for j in sorted(sb)]))


def _tensordot_db(dy: Any, y: Any, a: Any, b: Any, axes: Any = 2) -> Any:
    """Contract a with dy over a's free axes, then order the axes as b's."""
    sa, sb, fa, fb = _contracted(a, b, axes)
    g = np.tensordot(a, dy, axes=(fa, list(range(len(fa)))))
    return np.transpose(g, np.argsort([sb[sa.index(i)] for i in sorted(sa)] + fb))


def _pair(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 3, 5))), {
        "axes": ([1, 2], [1, 0])
    }


primitive(
    np.tensordot,
    _tensordot_da,
    _tensordot_db,
    jvp=(
        lambda da, y, a, b, axes=2: np.tensordot(da, b, axes),
        lambda db, y, a, b, axes=2: np.tensordot(a, db, axes),
    ),
    domain=Domain(args=("real", "real"), sample=_pair),
)


def _einsum_labels(subscripts: str, operands: tuple) -> tuple[list[str], str]:
    """Input and output labels with "..." spelled out as letters and the output made explicit."""
    subs = subscripts.replace(" ", "")
    ins_text, out = subs.split("->") if "->" in subs else (subs, None)
    ins = ins_text.split(",")
    unused = iter(c for c in string.ascii_letters if c not in subs)
    widths = [np.ndim(op) - len(s.replace("...", "")) for s, op in zip(ins, operands) if "..." in s]
    dots = "".join(next(unused) for _ in range(max(widths, default=0)))
    ins = [
        s.replace("...", dots[len(dots) - np.ndim(op) + len(s) - 3 :])
        for s, op in zip(ins, operands)
    ]
    if out is None:  # numpy's implicit output: "..." then the labels used once, sorted
        counts = Counter(ins_text.replace(".", "").replace(",", ""))
        out = dots + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ins, out.replace("...", dots)


def _sublists(args: tuple) -> tuple[str, tuple]:
    """The subscripts string and the operands of einsum's sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (labels 0-51, ``...`` as Ellipsis)."""

    def letters(sub: Any) -> str:
        return "".join("..." if k is Ellipsis else string.ascii_letters[int(k)] for k in sub)

    n = len(args) // 2
    ins = ",".join(letters(s) for s in args[1 : 2 * n : 2])
    return ins + ("->" + letters(args[-1]) if len(args) % 2 else ""), args[0 : 2 * n : 2]


def _einsum_vjp(dy: Any, y: Any, *args: Any, **kwargs: Any) -> tuple:
    """Each operand's gradient is the einsum of dy with the other operands, in either call
    form (the sublist form's label lists get None).

    Labels repeated within an operand (a diagonal) are split and tied by an identity;
    labels summed only within the operand, or broadcast from size 1, are restored by
    broadcasting afterwards. ``optimize=`` reaches the gradient's einsums (an explicit
    contraction path, made for the forward's operands, becomes "greedy").
    """
    if isinstance(args[0], str):
        return (None, *_einsum_grads(dy, args[0], args[1:], kwargs.get("optimize", False)))
    subscripts, operands = _sublists(args)
    grads = iter(_einsum_grads(dy, subscripts, operands, kwargs.get("optimize", False)))
    at = range(0, 2 * len(operands), 2)  # the operands' positions
    return tuple(next(grads) if k in at else None for k in range(len(args)))


def _einsum_grads(dy: Any, subscripts: str, operands: tuple, optimize: Any) -> list:
    """`_einsum_vjp` for the subscripts form: one gradient per operand."""
    if not isinstance(optimize, (bool, str)):
        optimize = "greedy"
    ins, out = _einsum_labels(subscripts, operands)
    size: dict[str, int] = {}
    for s, op in zip(ins, operands):
        for c, n in zip(s, np.shape(op)):
            size[c] = max(size.get(c, 1), n)
    spare = iter(c for c in string.ascii_letters if c not in size)
    grads: list[Any] = []
    for k, (s, x) in enumerate(zip(ins, operands)):
        labels, tied = "", []
        for c in s:
            if c in labels:
                new = next(spare)
                tied.append((c + new, _eye(size[c], dy)))
                size[new], c = size[c], new
            labels += c
        rest = [(t, o) for j, (t, o) in enumerate(zip(ins, operands)) if j != k] + tied
        known = set(out).union(*(t for t, _ in rest))
        keep = "".join(c for c, n in zip(labels, np.shape(x)) if c in known and n == size[c])
        spec = ",".join([out] + [t for t, _ in rest]) + "->" + keep
        g = np.einsum(spec, dy, *(o for _, o in rest), optimize=optimize)
        g = np.reshape(g, [np.shape(g)[keep.index(c)] if c in keep else 1 for c in labels])
        grads.append(np.broadcast_to(g, np.shape(x)) if np.shape(g) != np.shape(x) else g)
    return grads


def _einsum_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A product in the subscripts form or (half the time) the sublist form, with or
    without optimize=."""
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    kwargs = {"optimize": True} if rng.random() < 0.5 else {}
    if rng.random() < 0.5:
        return (a, [0, 1], b, [1, 2], [0, 2]), kwargs
    return ("ij,jk->ik", a, b), kwargs


def _einsum_jvp(dxs: tuple, y: Any, *args: Any, **kwargs: Any) -> Any:
    """einsum is linear in each operand: its tangent is the sum over the operands with a
    tangent of the einsum with that operand replaced by it (the subscripts and the label
    lists have none)."""
    total = None
    for k, dx in enumerate(dxs):
        if dx is not None:
            part = np.einsum(*args[:k], dx, *args[k + 1 :], **kwargs)
            total = part if total is None else total + part
    return total


@primitive(vjp=_einsum_vjp, jvp=_einsum_jvp, domain=Domain(sample=_einsum_sample), of=np.einsum)
def _einsum(*operands: Any, out: Any = None, **kwargs: Any) -> Any:
    """np.einsum, refusing ``out=`` (a plain buffer holding a tracked result)."""
    no_out("np.einsum", out)
    return np.einsum(*operands, **kwargs)


# ---- products built from matmul and tensordot ----
@implements(np.dot)
def _dot(a: Any, b: Any, out: Any = None) -> Any:
    no_out("np.dot", out)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    if np.ndim(b) <= 2:
        return np.matmul(a, b)
    return np.tensordot(a, b, axes=([-1], [-2]))


@implements(np.inner)
def _inner(a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return np.tensordot(a, b, axes=([-1], [-1]))


@implements(np.outer)
def _outer(a: Any, b: Any, out: Any = None) -> Any:
    no_out("np.outer", out)
    return np.reshape(a, (-1, 1)) * np.ravel(b)


@implements(np.vdot)
def _vdot(a: Any, b: Any) -> Any:
    a = np.ravel(a)
    return np.sum((np.conj(a) if is_complex(a) else a) * np.ravel(b))


def _vecdot(x1: Any, x2: Any, /, *, axis: int = -1, **kwargs: Any) -> Any:
    return np.sum((np.conj(x1) if is_complex(x1) else x1) * x2, axis=axis)


_NUMPY2 = {  # numpy >= 2.0 (matvec, vecmat: 2.2)
    "vecdot": _vecdot,
    "matvec": lambda x1, x2, /, **kw: np.matmul(x1, np.expand_dims(x2, -1))[..., 0],
    "vecmat": lambda x1, x2, /, **kw: np.matmul(np.expand_dims(np.conj(x1), -2), x2)[..., 0, :],
}
for _name, _f in _NUMPY2.items():
    if hasattr(np, _name):
        implements(getattr(np, _name))(_f)


@implements(np.kron)
def _kron(a: Any, b: Any) -> Any:
    """Interleave the axes of a and b, multiply by broadcasting, merge each pair."""
    n = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (n - np.ndim(a)) + np.shape(a)
    sb = (1,) * (n - np.ndim(b)) + np.shape(b)
    a2 = np.reshape(a, [v for s in sa for v in (s, 1)])
    b2 = np.reshape(b, [v for s in sb for v in (1, s)])
    return np.reshape(a2 * b2, [p * q for p, q in zip(sa, sb)])


@implements(np.trace)
def _trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    """The sum of the diagonal; ``dtype=`` casts the result (the gradient is cast back)."""
    no_out("np.trace", out)
    y = np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1)
    return y if dtype is None else cast_to(y, dtype, [a], "unsafe", "np.trace")


# ---- inverses and determinants (undefined at singular matrices) ----
def _inv_da(dy: Any, y: Any, a: Any) -> Any:
    """d inv(a) = -inv(a) da inv(a): the gradient is -inv(a)^T dy inv(a)^T."""
    yt = _swap(y)
    return -np.matmul(yt, np.matmul(dy, yt))


def _det_da(dy: Any, y: Any, a: Any) -> Any:
    """d det(a)/da = det(a) inv(a)^T."""
    return np.expand_dims(dy * y, (-2, -1)) * _swap(np.linalg.inv(a))


def _slogdet_da(dy: Any, y: Any, a: Any) -> Any:
    """d log|det(a)|/da = inv(a)^T. The sign of a real matrix is constant; a complex one's,
    det / |det| = exp(i Im(log det)), adds i Im(dsign * sign) inv(a)^T."""
    g = dy[1]
    if is_complex(a) and used(dy[0]):
        g = g + 1j * np.imag(dy[0] * y[0])
    return np.expand_dims(g, (-2, -1)) * _swap(np.linalg.inv(a))


def _solve_db(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """x = a^-1 b: the gradient of b is a^-T dy (b a vector when 1-d, as numpy reads it)."""
    if np.ndim(b) == 1:
        return np.linalg.solve(_swap(a), np.expand_dims(dy, -1))[..., 0]
    return np.linalg.solve(_swap(a), dy)


def _solve_da(dy: Any, y: Any, a: Any, b: Any) -> Any:
    """-(a^-T dy) x^T."""
    g = _solve_db(dy, y, a, b)
    if np.ndim(b) == 1:
        return -np.expand_dims(g, -1) * np.expand_dims(y, -2)
    return -np.matmul(g, _swap(y))


def _solve_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (_square(rng), rng.standard_normal((3, 2))), {}


# Forward rules: d inv(a) = -inv(a) da inv(a), d det(a) = det(a) tr(a^-1 da), and
# d x = a^-1 (db - da x) for x = solve(a, b).
def _trace_solve(a: Any, da: Any) -> Any:
    """tr(a^-1 da) of each matrix of the stack."""
    return np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)


def _slogdet_jvp(da: Any, y: Any, a: Any) -> tuple:
    """log|det| moves by Re tr(a^-1 da); a real matrix's sign is constant, a complex one's
    turns by i Im tr(a^-1 da)."""
    t = _trace_solve(a, da)
    if not is_complex(a):
        return None, t
    return y[0] * (1j * np.imag(t)), np.real(t)


def _solve_jvp_a(da: Any, y: Any, a: Any, b: Any) -> Any:
    """-a^-1 da x (x a vector when b is 1-d, as numpy reads it)."""
    if np.ndim(b) == 1:
        return -np.linalg.solve(a, np.matmul(da, np.expand_dims(y, -1)))[..., 0]
    return -np.linalg.solve(a, np.matmul(da, y))


primitive(
    np.linalg.inv, _inv_da, jvp=lambda da, y, a: -np.matmul(y, np.matmul(da, y)), domain=SQUARE
)
primitive(np.linalg.det, _det_da, jvp=lambda da, y, a: y * _trace_solve(a, da), domain=SQUARE)
primitive(np.linalg.slogdet, _slogdet_da, jvp=_slogdet_jvp, domain=SQUARE)
primitive(
    np.linalg.solve,
    _solve_da,
    _solve_db,
    jvp=(_solve_jvp_a, lambda db, y, a, b: np.linalg.solve(a, db)),
    domain=Domain(args=("real", "real"), sample=_solve_sample),
)


# ---- factorizations ----
def _fold(g: Any, upper: bool) -> Any:
    """The gradient with respect to the one triangle a factorization reads, from a symmetric one."""
    return np.triu(g) + np.triu(g, 1) if upper else np.tril(g) + np.tril(g, -1)


def _cholesky_da(dy: Any, y: Any, a: Any, upper: bool = False) -> Any:
    """Murray (2016), arXiv:1602.07527: S = L^-T phi(L^T dL) conj(L^-1), made Hermitian,
    then folded onto the triangle numpy reads (phi keeps the lower triangle and halves the
    diagonal). For complex input the upper factor is L^H, and the diagonal's gradient is
    real: LAPACK reads only the real part of the diagonal."""
    low, dlow = (_h(y), _h(dy)) if upper else (y, dy)
    p = np.matmul(_swap(low), dlow)
    phi = np.tril(p) - 0.5 * np.triu(np.tril(p))
    s = np.linalg.solve(_swap(low), _swap(np.linalg.solve(_h(low), _swap(phi))))
    return _fold((s + _h(s)) / 2, upper)


def _eigh_da(dy: Any, y: Any, a: Any, UPLO: str = "L") -> Any:
    """V (diag(dw) + F o (V^T dV)) V^T with F_ij = 1 / (w_j - w_i) off the diagonal, then
    folded onto the triangle numpy reads. The dV part is skipped when dV is zero, so
    eigenvalues alone have gradients even when some are repeated."""
    (w, v), (dw, dv) = y, dy
    vc, vt = (np.conj(v) if is_complex(v) else v), _swap(v)
    g = np.matmul(vc * np.expand_dims(dw, -2), vt)
    if np.any(dv):
        n = np.shape(w)[-1]
        diag = eye(n, w, dtype=bool)
        gap = np.expand_dims(w, -2) - np.expand_dims(w, -1)
        f = np.where(diag, 0, 1 / np.where(diag, 1, gap))
        g = g + np.matmul(np.matmul(vc, f * np.matmul(vt, dv)), vt)
    g = (g + np.conj(_swap(g))) / 2 if is_complex(g) else (g + _swap(g)) / 2
    return _fold(g, UPLO == "U")


def _svd_da(
    dy: Any,
    y: Any,
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    hermitian: bool = False,
) -> Any:
    """Townsend (2016), "Differentiating the singular value decomposition", as in autograd.

    When only the singular values are used (U's and V's gradients are zero, as the backward
    pass gives outputs no one used) it is conj(U diag(ds) V^H), finite also at zero or
    repeated singular values, where the vectors' terms divide by them. ``hermitian=True``
    reads the lower triangle (numpy's eigh): the gradient is folded onto it."""
    g = _svd_general_da(dy, y, a, full_matrices, compute_uv, hermitian)
    return _fold((g + _h(g)) / 2, upper=False) if hermitian else g


def _svd_general_da(
    dy: Any, y: Any, a: Any, full_matrices: bool, compute_uv: bool, hermitian: bool
) -> Any:
    """`_svd_da` for every perturbation of ``a`` (not only the Hermitian ones)."""
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
        return _values_da(dy, u, vh)
    (u, s, vh), (gu, gs, gvh) = y, dy
    m, n = np.shape(a)[-2:]
    if not (used(gu) or used(gvh)):
        if full_matrices and m != n:  # (the reduced vectors: the full ones have no gradient)
            u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
        return _values_da(gs, u, vh)
    if full_matrices and m != n:
        raise NoRuleError(
            "np.linalg.svd(full_matrices=True) of a non-square matrix has no gradient (the "
            "extra singular vectors are arbitrary); use full_matrices=False."
        )
    v, gv = np.conj(_swap(vh)), np.conj(_swap(gvh))
    eye = _eye(min(m, n), s)
    row, col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    f = 1 / (row * row - col * col + eye)
    utgu, vtgv = np.matmul(_swap(u), gu), np.matmul(_swap(v), gv)
    t = (f * (utgu - np.conj(_swap(utgu)))) * row + eye * np.expand_dims(gs, -1)
    t = t + col * (f * (vtgv - np.conj(_swap(vtgv))))
    if is_complex(u):
        t = t + 1j * np.imag(eye * utgu) / row
    t = np.matmul(np.matmul(np.conj(u), t), _swap(v))
    if m < n:
        rest = _eye(n, s) - np.matmul(v, np.conj(_swap(v)))
        t = t + np.conj(np.matmul(np.matmul(u / row, _swap(gv)), rest))
    elif m > n:
        rest = _eye(m, s) - np.matmul(u, np.conj(_swap(u)))
        t = t + _swap(np.matmul(np.matmul(v / row, _swap(gu)), rest))
    return t


def _values_da(ds: Any, u: Any, vh: Any) -> Any:
    """The gradient of the singular values alone: conj(U diag(ds) V^H)."""
    g = np.matmul(u * np.expand_dims(ds, -2), vh)
    return np.conj(g) if is_complex(g) else g


def _wide(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (rng.standard_normal((3, 4)),), {"full_matrices": False}


# Forward rules of the factorizations (the derivatives their reverse rules transpose).
def _filled(like: Any, shape: tuple, fill: float) -> Any:
    """An array of ``fill`` of this shape, with ``like``'s dtype and array library."""
    return np.full_like(value(like), fill, shape=shape)


def _hermitian(da: Any, upper: bool) -> Any:
    """The Hermitian tangent a factorization sees when it reads one triangle of ``a``: that
    triangle of ``da`` mirrored, with the real part of its diagonal (LAPACK reads no more)."""
    off = _h(np.triu(da, 1)) if upper else np.tril(da, -1)
    d = np.triu(np.tril(da))
    return off + _h(off) + (np.real(d) if is_complex(da) else d)


def _cholesky_jvp(da: Any, y: Any, a: Any, upper: bool = False) -> Any:
    """dL = L phi(L^-1 dA L^-H) (phi keeps the lower triangle and halves the diagonal), for
    the Hermitian dA read from the triangle numpy reads; the upper factor's is dL^H."""
    low = _h(y) if upper else y
    x = np.linalg.solve(low, _h(np.linalg.solve(low, _hermitian(da, upper))))
    dl = np.matmul(low, np.tril(x) - 0.5 * np.triu(np.tril(x)))
    return _h(dl) if upper else dl


def _gaps(w: Any, square: bool = False) -> Any:
    """F_ij = 1 / (w_j - w_i) (of squares: 1 / (w_j^2 - w_i^2)) off the diagonal, 0 on it:
    inf where two values tie, whose vectors have no derivative (call under np.errstate)."""
    diag = eye(np.shape(w)[-1], w, dtype=bool)
    row, col = np.expand_dims(w, -2), np.expand_dims(w, -1)
    gap = row * row - col * col if square else row - col
    return np.where(diag, 0, 1 / np.where(diag, 1, gap))


def _eigh_jvp(da: Any, y: Any, a: Any, UPLO: str = "L") -> tuple:
    """With X = V^H dA V: dw = diag(X) and dV = V (F o X), F_ij = 1 / (w_j - w_i). At
    repeated eigenvalues dV is not finite (nor is any derivative of those vectors); dw is."""
    w, v = y
    x = np.matmul(_h(v), np.matmul(_hermitian(da, UPLO == "U"), v))
    dw = np.diagonal(x, 0, -2, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dv = np.matmul(v, _gaps(w) * x)
    return (np.real(dw) if is_complex(dw) else dw), dv


def _svd_jvp(
    da: Any,
    y: Any,
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    hermitian: bool = False,
) -> Any:
    """With P = U^H dA V (the reduced U and V): ds = Re diag(P),
    dU = U (F o (P S + S P^H) + i Im diag(P) / 2S) + (I - U U^H) dA V S^-1 and
    dV = V (F o (S P + P^H S) - i Im diag(P) / 2S) + (I - V V^H) dA^H U S^-1, with
    F_ij = 1 / (s_j^2 - s_i^2) (the phase of a complex pair split evenly between U and V).
    Where U's or V's derivative does not exist (tied or zero singular values, the extra
    columns of full_matrices=True) its tangent is not finite; ds always is."""
    if hermitian:
        da = _hermitian(da, upper=False)  # (numpy's eigh reads the lower triangle)
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
        p = np.diagonal(np.matmul(_h(u), np.matmul(da, _h(vh))), 0, -2, -1)
        return np.real(p) if is_complex(p) else p
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    u, s, vh = y
    u, vh = u[..., :k], vh[..., :k, :]
    v = _h(vh)
    p = np.matmul(_h(u), np.matmul(da, v))
    ph, row, col = _h(p), np.expand_dims(s, -2), np.expand_dims(s, -1)
    ds = np.diagonal(p, 0, -2, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = _gaps(s, square=True)
        cu, cv = f * (p * row + col * ph), f * (col * p + ph * row)
        if is_complex(p):
            phase = _eye(k, p) * (0.5j * np.imag(ds) / col)
            cu, cv = cu + phase, cv - phase
        du, dv = np.matmul(u, cu), np.matmul(v, cv)
        if m > k:
            du = du + np.matmul(da - np.matmul(u, np.matmul(_h(u), da)), v) / row
        if n > k:
            dah = _h(da)
            dv = dv + np.matmul(dah - np.matmul(v, np.matmul(vh, dah)), u) / row
    dvh = _h(dv)
    if full_matrices and m != n:  # the extra columns are arbitrary: no derivative
        if m > n:
            du = np.concatenate([du, _filled(du, np.shape(du)[:-1] + (m - n,), np.nan)], axis=-1)
        else:
            dvh = np.concatenate([dvh, _filled(dvh, np.shape(dvh)[:-2] + (n - m, n), np.nan)], -2)
    return du, (np.real(ds) if is_complex(ds) else ds), dvh


SPD = Domain(args=("real",), shapes="square", sample=lambda rng: ((_spd(rng),), {}))
primitive(np.linalg.cholesky, _cholesky_da, jvp=_cholesky_jvp, domain=SPD)
# (sign of eigenvectors: use them squared)
primitive(np.linalg.eigh, _eigh_da, jvp=_eigh_jvp, domain=SPD)
primitive(np.linalg.svd, _svd_da, jvp=_svd_jvp, domain=Domain(args=("real",), sample=_wide))


def _eig_da(dy: Any, y: Any, a: Any) -> Any:
    """A = V diag(w) V^-1 (a general matrix; complex w and V): the gradient is
    V^-T (diag(dw) + F o (X - V^T conj(V) diag(Re X_kk)) - i F o (M^T diag(Im X_kk / V_mk,k)))
    V^T with X = V^T dV, F_ij = 1 / (w_j - w_i) off the diagonal, as autograd's, plus a
    last term for numpy's gauge.

    numpy (LAPACK's geev) scales each eigenvector to unit norm with its largest component
    m_k real: the second term keeps the norm and the third the phase (M_kj = V_m_k,j), so
    the gradient is that of the eigenvectors numpy returns, not only of phase-free uses of
    them. A real input's gradient is the real part. The vectors' terms are skipped when
    their gradient is zero, so eigenvalues alone are fine at repeated eigenvalues."""
    (w, v), (dw, dv) = y, dy
    n = np.shape(w)[-1]
    vt = _swap(v)
    g = np.expand_dims(dw, -1) * _eye(n, w)
    if used(dv):
        diag = eye(n, w, dtype=bool)
        gap = np.expand_dims(w, -2) - np.expand_dims(w, -1)
        f = np.where(diag, 0, 1 / np.where(diag, 1, gap))
        x = np.matmul(vt, dv)
        xd = np.diagonal(x, 0, -2, -1)
        r = x - np.matmul(vt, np.conj(v)) * np.expand_dims(np.real(xd), -2)
        if is_complex(v):
            big = np.argmax(np.abs(value(v)), axis=-2)[..., :, None]  # m_k
            m = np.take_along_axis(v, np.broadcast_to(big, np.shape(v)), axis=-2)
            phase = np.imag(xd) / np.real(np.diagonal(m, 0, -2, -1))
            r = r - 1j * _swap(m) * np.expand_dims(phase, -2)
        g = g + f * r
    g = np.linalg.solve(vt, np.matmul(g, vt))
    return g if is_complex(a) else np.real(g)


def _eig_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A real matrix with separated eigenvalues: real ones, or (half the time) a complex
    pair, whose eigenvectors are complex."""
    q = np.eye(3) + 0.3 * rng.standard_normal((3, 3))
    d = np.diag([1.0, 2.5, 4.0])
    if rng.random() < 0.5:
        d[1:, 1:] = [[2.5, 1.5], [-1.5, 2.5]]  # eigenvalues 2.5 +- 1.5i
    return (q @ d @ np.linalg.inv(q),), {}


def _eig_jvp(da: Any, y: Any, a: Any) -> tuple:
    """With X = V^-1 dA V: dw = diag(X) and dV = V (F o X + diag(alpha)), F_ij =
    1 / (w_j - w_i) off the diagonal, alpha keeping numpy's gauge (each vector of unit norm,
    its largest component real): Re alpha_k = -Re(v_k^H dv_k), Im alpha_k = -Im(dv_mk) / v_mk.
    At repeated eigenvalues dV is not finite; dw is."""
    w, v = y
    x = np.linalg.solve(v, np.matmul(da, v))
    with np.errstate(divide="ignore", invalid="ignore"):
        dv = np.matmul(v, _gaps(w) * x)
        vc = np.conj(v) if is_complex(v) else v
        alpha = -np.sum(vc * dv, axis=-2)
        if is_complex(v):
            alpha = np.real(alpha)
            big = np.argmax(np.abs(value(v)), axis=-2)[..., None, :]  # m_k
            dvm = np.take_along_axis(dv, big, -2)[..., 0, :]
            vm = np.take_along_axis(v, big, -2)[..., 0, :]
            alpha = alpha - 1j * np.imag(dvm) / np.real(vm)
        dv = dv + v * np.expand_dims(alpha, -2)
    return np.diagonal(x, 0, -2, -1), dv


primitive(
    np.linalg.eig,
    _eig_da,
    jvp=_eig_jvp,
    domain=Domain(args=("real",), shapes="square", sample=_eig_sample),
)
implements(np.linalg.eigvals)(lambda a: np.linalg.eig(a)[0])


def _qr_da(dy: Any, y: Any, a: Any, mode: str = "reduced") -> Any:
    """The gradient of A = QR (Householder's, diag(R) real), in every mode but "raw".

    Written for G = conj(g), the gradient of Re<G, dA>: with N = G_Q^H Q - R G_R^H and
    K = triu(N - N^H, 1) + i diag(Im N) + R G_R^H (the strict lower part of Q^H dQ is
    C = Q^H dA R^-1's, its diagonal i Im C's, as diag(R) stays real),
    G_A = (G_Q + Q (K^H - Q^H G_Q)) R^-H for m >= n. A wide A = [X Y] is X = QU, Y = QV:
    G_Y = Q G_V, and X's gradient is the square one with G_Q + Y G_V^H. ``complete`` of a
    tall A has arbitrary extra columns of Q: no rule unless they are unused."""
    m, n = np.shape(a)[-2:]
    if mode == "raw":
        raise NoRuleError("np.linalg.qr(mode='raw') has no rule; use mode='reduced' or 'r'.")
    if mode == "r":
        (q, r), (gq, gr) = np.linalg.qr(a), (None, dy)
    else:
        (q, r), (gq, gr) = y, dy
    if mode == "complete" and m > n:
        if used(gq[..., n:]):
            raise NoRuleError(
                "np.linalg.qr(mode='complete') of a tall matrix: the last m - n columns of Q "
                "are arbitrary and have no gradient; use mode='reduced'."
            )
        q, r, gq, gr = q[..., :n], r[..., :n, :], gq[..., :n], gr[..., :n, :]
    conj = np.conj if is_complex(q) else (lambda x: x)
    gq = None if gq is None else conj(gq)
    gr = conj(gr)
    if m >= n:
        return conj(_qr_square(q, r, gq, gr))
    u, gu, gv = r[..., :m], gr[..., :m], gr[..., m:]
    rest = a[..., m:]
    gq = np.matmul(rest, _h(gv)) if gq is None else gq + np.matmul(rest, _h(gv))
    return conj(np.concatenate([_qr_square(q, u, gq, gu), np.matmul(q, gv)], axis=-1))


def _qr_square(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """`_qr_da`'s G_A of a square or tall A (reduced Q and R; G_Q None when unused)."""
    rg = np.matmul(r, _h(gr))
    nn = -rg if gq is None else np.matmul(_h(gq), q) - rg
    k = np.triu(nn - _h(nn), 1) + rg
    if is_complex(nn):
        k = k + 1j * np.imag(_eye(np.shape(r)[-1], nn) * nn)
    t = np.matmul(q, _h(k))
    if gq is not None:
        t = t + gq - np.matmul(q, np.matmul(_h(q), gq))
    return _h(np.linalg.solve(r, _h(t)))


def _qr_sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A tall, square or wide matrix, each mode ("complete" of a tall one only as "r" uses
    it: its extra columns of Q are arbitrary). Its first min(m, n) columns are well
    conditioned (below 20): R's inverse enters the rules, and float32 second derivatives
    were 2% off at a condition number of 2500."""
    m, n = [(4, 3), (3, 3), (3, 4)][rng.integers(3)]
    a = rng.standard_normal((m, n)) + 2 * np.eye(m, n)
    while np.linalg.cond(a[:, : min(m, n)]) > 20:
        a = rng.standard_normal((m, n)) + 2 * np.eye(m, n)
    modes = ["reduced", "r"] if m > n else ["reduced", "complete", "r"]
    return (a,), {"mode": modes[rng.integers(len(modes))]}


def _qr_jvp(da: Any, y: Any, a: Any, mode: str = "reduced") -> Any:
    """The tangents of Q and R (of R alone for mode "r"). A wide A = [X Y] is X = QU and
    Y = QV: Q and U move as X's square factors, and dV = dQ^H Y + Q^H dY. The last m - n
    columns of Q of a tall A in mode "complete" are arbitrary: their tangent is NaN (R's
    rows there stay zero)."""
    m, n = np.shape(a)[-2:]
    if mode == "raw":
        raise NoRuleError("np.linalg.qr(mode='raw') has no rule; use mode='reduced' or 'r'.")
    q, r = np.linalg.qr(a) if mode == "r" else y
    extra = mode == "complete" and m > n
    if extra:
        q, r = q[..., :n], r[..., :n, :]
    if m >= n:
        dq, dr = _qr_square_jvp(q, r, da)
    else:
        dq, du = _qr_square_jvp(q, r[..., :m], da[..., :m])
        dv = np.matmul(_h(dq), a[..., m:]) + np.matmul(_h(q), da[..., m:])
        dr = np.concatenate([du, dv], axis=-1)
    if mode == "r":
        return dr
    if extra:
        dq = np.concatenate([dq, _filled(dq, np.shape(dq)[:-1] + (m - n,), np.nan)], axis=-1)
        dr = np.concatenate([dr, _filled(dr, np.shape(dr)[:-2] + (m - n, n), 0)], axis=-2)
    return dq, dr


def _qr_square_jvp(q: Any, r: Any, da: Any) -> tuple:
    """dQ and dR of a square or tall A = QR (reduced): with C = Q^H dA R^-1, Q^H dQ is
    Omega = tril(C, -1) - tril(C, -1)^H (+ i Im diag(C), which keeps diag(R) real), so
    dR = (C - Omega) R and dQ = Q Omega + (I - Q Q^H) dA R^-1."""
    dar = _h(np.linalg.solve(_h(r), _h(da)))
    c = np.matmul(_h(q), dar)
    low = np.tril(c, -1)
    omega = low - _h(low)
    if is_complex(c):
        omega = omega + 1j * np.imag(_eye(np.shape(c)[-1], c) * c)
    return dar + np.matmul(q, omega - c), np.matmul(np.triu(c - omega), r)


primitive(
    np.linalg.qr,
    _qr_da,
    None,
    jvp=(_qr_jvp, None),
    domain=Domain(args=("real",), sample=_qr_sample),
)


# ---- norms and the rest of np.linalg, built from the above ----
def _abs2(x: Any) -> Any:
    return np.real(x * np.conj(x)) if is_complex(x) else x * x


def _vector_norm(x: Any, ord: Any, axis: Any, keepdims: bool) -> Any:
    if ord is None or ord == 2:
        return np.sqrt(np.sum(_abs2(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum(x != 0, axis=axis, keepdims=keepdims).astype(np.finfo(dtype_of(x)).dtype)
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x: Any, ord: Any, axis: tuple[int, int], keepdims: bool) -> Any:
    r, c = (ax % np.ndim(x) for ax in axis)
    if ord in (None, "fro"):
        out = np.sqrt(np.sum(_abs2(x), axis=(r, c)))
    elif ord in ("nuc", 2, -2):
        s = np.linalg.svd(np.moveaxis(x, (r, c), (-2, -1)), compute_uv=False)
        out = np.sum(s, -1) if ord == "nuc" else (np.max(s, -1) if ord == 2 else np.min(s, -1))
    elif ord in (1, -1, np.inf, -np.inf):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        sums = np.sum(np.abs(x), axis=inner, keepdims=True)
        pick = np.max if ord in (1, np.inf) else np.min
        out = np.squeeze(pick(sums, axis=outer, keepdims=True), axis=(r, c))
    else:
        raise ValueError(f"invalid norm order {ord!r} for matrices")
    return np.expand_dims(out, (r, c)) if keepdims else out


@implements(np.linalg.norm)
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """numpy's norm, built from sums, maxima and (for nuc and 2 of matrices) svd."""
    nd = np.ndim(x)
    if axis is None:
        if ord is None:
            out = np.sqrt(np.sum(_abs2(np.ravel(x))))
            return np.reshape(out, (1,) * nd) if keepdims else out
        axis = (0,) if nd == 1 else (0, 1)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    return _matrix_norm(x, ord, axes, keepdims)


def _vector_norm_api(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    if axis is None:
        out = _vector_norm(np.ravel(x), ord, 0, False)
        return np.reshape(out, (1,) * np.ndim(x)) if keepdims else out
    return _vector_norm(x, ord, axis, keepdims)


_LINALG = {  # np.linalg's array-API names (numpy >= 2.0)
    "matrix_norm": lambda x, /, *, keepdims=False, ord="fro": _matrix_norm(
        x, ord, (-2, -1), keepdims
    ),
    "svdvals": lambda x, /: np.linalg.svd(x, compute_uv=False),
    "matmul": lambda x1, x2, /: np.matmul(x1, x2),
    "outer": lambda x1, x2, /: _outer(x1, x2),
    "tensordot": lambda x1, x2, /, *, axes=2: np.tensordot(x1, x2, axes=axes),
    "vecdot": lambda x1, x2, /, *, axis=-1: _vecdot(x1, x2, axis=axis),
    "trace": lambda x, /, *, offset=0, dtype=None: _trace(x, offset, -2, -1, dtype),
    "diagonal": lambda x, /, *, offset=0: np.diagonal(x, offset, -2, -1),
    "matrix_transpose": lambda x, /: _swap(x),
    "vector_norm": _vector_norm_api,
}
for _name, _f in _LINALG.items():
    if hasattr(np.linalg, _name):
        implements(getattr(np.linalg, _name))(_f)
implements(np.linalg.eigvalsh)(lambda a, UPLO="L": np.linalg.eigh(a, UPLO)[0])


@implements(np.linalg.pinv)
def _pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """V diag(1/s) U^H from the svd, small singular values dropped as numpy drops them."""
    u, s, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    plain = value(s)
    if rcond is None:
        rcond = rtol if rtol is not None else max(np.shape(a)[-2:]) * np.finfo(plain.dtype).eps
    keep = plain > np.asarray(rcond)[..., None] * np.max(plain, axis=-1, keepdims=True)
    inv = np.where(keep, 1 / np.where(keep, s, 1), 0)
    return np.matmul(_h(vh) * np.expand_dims(inv, -2), _h(u))


@implements(np.cross)
def _cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    """The cross product from components (2-vectors have a zero third component)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    if np.shape(a)[-1] == 2 and np.shape(b)[-1] == 2:
        return a0 * b1 - a1 * b0
    a2 = a[..., 2] if np.shape(a)[-1] == 3 else 0
    b2 = b[..., 2] if np.shape(b)[-1] == 3 else 0
    c = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return np.moveaxis(c, -1, axisc)


@implements(np.linalg.multi_dot)
def _multi_dot(arrays: Any, *, out: Any = None) -> Any:
    no_out("np.linalg.multi_dot", out)
    result = arrays[0]
    for b in arrays[1:]:
        result = np.matmul(result, b)
    return result


@implements(np.linalg.matrix_power)
def _matrix_power(a: Any, n: int) -> Any:
    """Repeated squaring with matmul (inv first for negative powers)."""
    if n == 0:
        return np.broadcast_to(_eye(np.shape(a)[-1], a), np.shape(a)).copy()
    if n < 0:
        a, n = np.linalg.inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else np.matmul(result, a)
        n >>= 1
        if n:
            a = np.matmul(a, a)
    return result


@implements(np.linalg.lstsq)
def _lstsq(a: Any, b: Any, rcond: Any = None) -> tuple:
    """numpy's (x, residuals, rank, s): x = pinv(a) b with numpy's cutoff (singular values at
    most rcond times the largest count as zero), the residuals' squared norms when a has
    full column rank and more rows than columns (else empty), rank a plain int.

    The gradient exists where the rank does not change (a full rank a, say)."""
    m, n = np.shape(a)[-2:]
    dtype = np.result_type(dtype_of(a), dtype_of(b))
    if rcond is None:
        rcond = np.finfo(dtype).eps * max(m, n)
    s = np.linalg.svd(a, compute_uv=False)
    plain = value(s)
    rank = int(np.sum(plain > rcond * np.max(plain, initial=0.0)))
    x = np.matmul(np.linalg.pinv(a, rcond=rcond), b)
    if rank == n and m > n:
        resid = np.sum(_abs2(b - np.matmul(a, x)), axis=0)
        resid = np.reshape(resid, (1,)) if np.ndim(b) == 1 else resid
    else:
        resid = np.zeros_like(plain[..., :0], dtype=np.finfo(dtype).dtype)  # (on a's device)
    return x, resid, rank, s


@implements(np.linalg.tensorinv)
def _tensorinv(a: Any, ind: int = 2) -> Any:
    """inv of ``a`` read as a matrix (the first ``ind`` axes its rows), shaped back."""
    shape = np.shape(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    rows = int(np.prod(shape[ind:]))
    return np.reshape(np.linalg.inv(np.reshape(a, (rows, -1))), shape[ind:] + shape[:ind])


@implements(np.linalg.tensorsolve)
def _tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """solve of ``a`` read as a matrix (``axes`` moved to the end), b raveled, shaped back."""
    an = np.ndim(a)
    if axes is not None:
        order = [k for k in range(an) if k not in [ax % an for ax in axes]]
        a = np.transpose(a, order + [ax % an for ax in axes])
    shape = np.shape(a)[-(an - np.ndim(b)) :]
    size = int(np.prod(shape))
    if int(np.prod(np.shape(a))) != size**2:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == "
            "prod(a.shape[:b.ndim])"
        )
    return np.reshape(np.linalg.solve(np.reshape(a, (size, size)), np.ravel(b)), shape)


@implements(np.linalg.cond)
def _cond(x: Any, p: Any = None) -> Any:
    """The ratio of the extreme singular values (p None, 2, -2), else
    norm(x, p) norm(inv(x), p), over the last two axes as numpy computes it."""
    if p is None or p == 2 or p == -2:
        s = np.linalg.svd(x, compute_uv=False)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    return _matrix_norm(x, p, (-2, -1), False) * _matrix_norm(np.linalg.inv(x), p, (-2, -1), False)


zerograd(np.linalg.matrix_rank)  # an integer: no gradient
