"""scipy.sparse CSR matrices: methods of np.matmul, np.multiply and np.sum for their type.

numpy alone cannot do this: numpy's ``matmul`` rule would turn a sparse matrix dense (or
fail). Here the methods are chosen by argument type, next to numpy's generic ones:
``np.matmul(A, x)`` with ``A`` a CSR matrix runs a sparse product, and its gradient
with respect to ``A`` is again a CSR matrix with ``A``'s sparsity pattern (the gradient
of the stored values; entries that are not stored stay zero), while ``x`` gets a dense
gradient. A CSR matrix can be a Param (``rg.Param(A)``), or its stored values can be
the variable (``with_values(A, v)``).

Four small primitives connect the two worlds, each the adjoint of another, so every
rule here differentiates again: ``todense(A)`` and ``sample(A, D)`` (the entries of a
dense ``D`` at ``A``'s pattern), ``with_values(A, v)`` and ``gather(G, A)`` (the
entries of ``G`` at ``A``'s pattern, as a vector). Write ``matmul(A, x)`` (this
module's, which is numpy's primitive) or ``A @ x`` with ``A`` a Param; not ``A @ x`` with
a plain ``A`` and a tracked ``x``: scipy's ``@`` converts its other operand to an array
before rulegrad sees it. ``np.matmul(A, x)`` works when ``x`` is tracked.

For the generated checks (``rulegrad check rulegrad_scipy``) a CSR matrix is a vector of
its stored values: `vspace` declares it (flatten: ``A.data``; unflatten: ``A``'s pattern
with new values; structure: the shape and the pattern), and the package hands it to
rulegrad through the plugin hook ``rulegrad_register_vspaces``. The checks then perturb
the stored values of CSR arguments and require each CSR argument's gradient to be a CSR
matrix with its pattern. The domains name such arguments with the kind ``"sparse"``.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import scipy.sparse as sp

import rulegrad as rg

__all__ = [
    "CSR", "gather", "matmul", "multiply", "random_csr", "sample", "sum", "todense", "values",
    "with_values", "vspace",
]  # fmt: skip

#: The CSR types the methods apply to.
CSR = Union[sp.csr_array, sp.csr_matrix]  # noqa: UP007  (plum needs a runtime Union)


def _coords(A: Any) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each stored entry of ``A``, in storage order."""
    return np.repeat(np.arange(A.shape[0]), np.diff(A.indptr)), A.indices


def _like(A: Any, data: Any) -> Any:
    """A CSR matrix of ``A``'s type and pattern holding ``data``."""
    return type(A)((np.asarray(data), A.indices, A.indptr), shape=A.shape)


def _pattern(A: Any) -> tuple:
    """What a CSR gradient shares with its argument: the shape and the stored positions."""
    index = (np.asarray(A.indptr, np.int64).tobytes(), np.asarray(A.indices, np.int64).tobytes())
    return (tuple(A.shape), *index)


def vspace() -> Any:
    """The vector space of CSR matrices for rulegrad's gradient checks: the stored values.

    Examples:
        >>> space = vspace()
        >>> A = sp.csr_array(np.diag([2.0, 3.0]))
        >>> space.vector(A), space.build(A, np.array([5.0, 7.0])).toarray()
        (array([2., 3.]), array([[5., 0.],
               [0., 7.]]))
    """
    from rulegrad.testing import VSpace  # only the checks need it

    return VSpace(
        (sp.csr_array, sp.csr_matrix),
        flatten=lambda A: A.data,
        unflatten=_like,
        structure=_pattern,
        name="sparse",
    )


def random_csr(
    rng: np.random.Generator, shape: tuple[int, int] = (4, 3), density: float = 0.5
) -> Any:
    """A random ``csr_array`` with at least one stored entry per row (for the checks).

    Examples:
        >>> random_csr(np.random.default_rng(0)).shape
        (4, 3)
    """
    mask = rng.random(shape) < density
    mask[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = True
    return sp.csr_array(np.where(mask, rng.standard_normal(shape), 0.0))


def _sample_dense(rng: np.random.Generator) -> tuple[tuple, dict]:
    A = random_csr(rng)
    return (A, rng.standard_normal(A.shape)), {}


def _sample_values(rng: np.random.Generator) -> tuple[tuple, dict]:
    A = random_csr(rng)
    return (A, rng.standard_normal(A.nnz)), {}


def _sample_one(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (random_csr(rng),), {}


# ---- between sparse and dense: two pairs of adjoint primitives ----
@rg.primitive(
    lambda dy, y, A: sample(A, dy), domain=rg.Domain(args=("sparse",), sample=_sample_one)
)
def todense(A: CSR) -> np.ndarray:
    """``A`` as a dense array; its gradient is the incoming one at ``A``'s pattern.

    Examples:
        >>> todense(sp.csr_array(np.eye(2)))
        array([[1., 0.],
               [0., 1.]])
    """
    return A.toarray()


@rg.primitive(
    None,  # only A's pattern is used
    lambda dy, y, A, D: todense(dy),  # the core sums it over D's broadcast axes
    domain=rg.Domain(args=("sparse", "real"), sample=_sample_dense),
)
def sample(A: CSR, D: Any) -> Any:
    """A CSR matrix with ``A``'s pattern holding the entries of ``D`` (broadcast to A's shape).

    Examples:
        >>> sample(sp.csr_array(np.eye(2)), np.arange(4.0).reshape(2, 2)).toarray()
        array([[0., 0.],
               [0., 3.]])
    """
    rows, cols = _coords(A)
    return _like(A, np.broadcast_to(D, A.shape)[rows, cols])


@rg.primitive(
    None,  # only A's pattern is used
    lambda dy, y, A, v: gather(dy, A),
    domain=rg.Domain(args=("sparse", "real"), sample=_sample_values),
)
def with_values(A: CSR, v: Any) -> Any:
    """``A``'s pattern with stored values ``v`` (a vector of length ``A.nnz``)."""
    return _like(A, v)


@rg.primitive(
    lambda dy, y, G, A: with_values(A, dy),
    None,
    domain=rg.Domain(args=("sparse", "sparse"), sample=lambda rng: ((random_csr(rng),) * 2, {})),
)
def gather(G: CSR, A: CSR) -> np.ndarray:
    """The entries of ``G`` at ``A``'s stored positions, as a vector (zeros where G stores none)."""
    rows, cols = _coords(A)
    return np.asarray(G.tocsr()[rows, cols]).reshape(-1)


def values(A: Any) -> Any:
    """The stored values of ``A``; differentiable, with a CSR gradient for ``A``.

    Examples:
        >>> values(sp.csr_array(np.diag([2.0, 3.0])))
        array([2., 3.])
    """
    return gather(A, A)


# ---- products and sums, as methods of numpy's primitives for CSR arguments ----
def _outer(a: Any, b: Any) -> Any:
    """``a[:, None] * b[None, :]`` for vectors, ``a @ b.T`` for matrices."""
    if np.ndim(a) == 1:
        return a[:, None] * b[None, :]
    return np.matmul(a, np.transpose(b))


def _matmul_sparse_dx(dy: Any, y: Any, A: Any, x: Any) -> Any:
    """d(A @ x)/dx = A^T @ dy, computed as (dy^T @ A)^T to stay with CSR on the right."""
    return np.transpose(matmul(np.transpose(dy), A))


SPARSE_DENSE = rg.Domain(
    args=("sparse", "real"), sample=lambda rng: ((random_csr(rng), rng.standard_normal((3, 2))), {})
)
DENSE_SPARSE = rg.Domain(
    args=("real", "sparse"), sample=lambda rng: ((rng.standard_normal((2, 4)), random_csr(rng)), {})
)


def _matmul_csr_dense(A: CSR, x: object) -> np.ndarray:
    return np.asarray(A @ x)


def _matmul_dense_csr(x: object, A: CSR) -> np.ndarray:
    return np.asarray(A.__rmatmul__(x))


def _multiply(A: Any, D: Any) -> Any:
    rows, cols = _coords(A)
    return _like(A, A.data * np.broadcast_to(D, A.shape)[rows, cols])


def _multiply_csr_dense(A: CSR, D: object) -> Any:
    return _multiply(A, D)


def _multiply_dense_csr(D: object, A: CSR) -> Any:
    return _multiply(A, D)


def _matmul_csr_csr(A: CSR, B: CSR) -> Any:
    return A @ B


def _multiply_csr_csr(A: CSR, B: CSR) -> Any:
    return A.multiply(B).tocsr()


def _sample_pair(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (random_csr(rng, (4, 3)), random_csr(rng, (3, 5))), {}


def _sum_csr(A: CSR, axis: Any = None, **kw: Any) -> Any:
    s = A.sum(axis=axis)
    return A.dtype.type(s) if axis is None else np.asarray(s).reshape(-1)


def _sum_dA(dy: Any, y: Any, A: Any, axis: Any = None, **kw: Any) -> Any:
    """Each stored entry gets the gradient of the sum it went into."""
    if axis is not None:
        dy = np.reshape(dy, (1, -1) if axis % 2 == 0 else (-1, 1))
    return sample(A, dy)


def _dense_of_product(dy: Any, y: Any, *args: Any) -> Any:
    """The gradient of the dense factor of A * D: dy times A, densely."""
    A = args[0] if isinstance(rg.value(args[0]), CSR) else args[1]
    return todense(multiply(dy, todense(A)))


#: numpy's primitives, which now have CSR methods. Unlike ``np.matmul(A, x)``, which
#: only reaches rulegrad when an argument is tracked, these work on plain values too.
matmul = rg.primitive(
    lambda dy, y, A, x: sample(A, _outer(dy, x)),
    _matmul_sparse_dx,
    of=np.matmul,
    domain=SPARSE_DENSE,
)(_matmul_csr_dense)
rg.primitive(
    lambda dy, y, x, A: np.transpose(matmul(A, np.transpose(dy))),
    lambda dy, y, x, A: sample(A, _outer(np.transpose(x), np.transpose(dy))),
    of=np.matmul,
    domain=DENSE_SPARSE,
)(_matmul_dense_csr)
multiply = rg.primitive(
    lambda dy, y, A, D: multiply(dy, D),
    _dense_of_product,
    of=np.multiply,
    domain=rg.Domain(args=("sparse", "real"), sample=_sample_dense),
)(_multiply_csr_dense)
rg.primitive(
    _dense_of_product,
    lambda dy, y, D, A: multiply(dy, D),
    of=np.multiply,
    domain=rg.Domain(args=("real", "sparse"), sample=lambda rng: (_sample_dense(rng)[0][::-1], {})),
)(_multiply_dense_csr)
# both operands sparse (also what keeps the two methods above from being ambiguous)
rg.primitive(
    lambda dy, y, A, B: sample(A, np.matmul(todense(dy), np.transpose(todense(B)))),
    lambda dy, y, A, B: sample(B, np.matmul(np.transpose(todense(A)), todense(dy))),
    of=np.matmul,
    domain=rg.Domain(args=("sparse", "sparse"), sample=_sample_pair),
)(_matmul_csr_csr)
rg.primitive(
    lambda dy, y, A, B: sample(A, todense(dy) * todense(B)),
    lambda dy, y, A, B: sample(B, todense(dy) * todense(A)),
    of=np.multiply,
    domain=rg.Domain(
        args=("sparse", "sparse"), sample=lambda rng: ((random_csr(rng), random_csr(rng)), {})
    ),
)(_multiply_csr_csr)


@rg.primitive(of=np.zeros_like)
def _zeros_like_csr(A: CSR, dtype: Any = None) -> Any:
    """Zeros of ``A``'s type and pattern: the gradient of a CSR argument nothing used (a
    method of numpy's ``zeros_like``, which would otherwise make a 0-d object array)."""
    return _like(A, np.zeros_like(A.data, dtype=dtype))


sum = rg.primitive(  # numpy's name, on purpose
    _sum_dA,
    of=np.sum,
    domain=rg.Domain(args=("sparse",), kwargs={"axis": (None, 0, 1)}, sample=_sample_one),
)(_sum_csr)
