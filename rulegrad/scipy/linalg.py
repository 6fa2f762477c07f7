"""scipy.linalg: solve_triangular, cholesky, cho_factor, cho_solve, lu_factor, lu_solve,
solve_banded, solve_sylvester, inv, det, eigh, expm, logm, sqrtm.

scipy.linalg's functions are Python code that converts its arguments with ``np.asarray``;
while the plugin is loaded, each function listed is replaced on ``scipy.linalg`` by a
wrapper that calls a primitive here when an argument is tracked (see
`rulegrad.scipy._intercept`), scipy's function otherwise. The primitives' forwards are
scipy's functions on plain values, in the arguments' float dtype, or complex dtype:
complex matrices (Hermitian for ``cholesky``, ``cho_solve``, ``eigh``) are differentiated
in autograd's convention, ``dL/dx - i dL/dy``.

Conventions, as for numpy's rules (docs/primitives.md):

* **One triangle.** ``cholesky``, ``cho_solve``'s factor, ``solve_triangular`` and ``eigh``
  read one triangle of their matrix (``lower=``), which gets the whole gradient; the other
  gets none. ``cholesky`` and ``eigh`` use rulegrad's numpy rules for
  ``np.linalg.cholesky``/``np.linalg.eigh`` (``upper``/``UPLO`` from ``lower``).
  ``cho_factor``'s ``c`` is ``cholesky``'s factor on its triangle and ``a``'s own entries
  on the other (as LAPACK leaves them; zeros from scipy 1.18), each with its own gradient, so
  ``cho_solve(cho_factor(K), y)`` differentiates in ``K``.
* **LU.** ``lu_factor`` differentiates the packed factors of ``P^T A = L U`` (the pivots,
  integers, have no gradient: they are constant near a matrix with no tie between
  candidate pivots), and ``lu_solve`` differentiates in ``lu`` and ``b``, so
  ``lu_solve(lu_factor(A), b)`` differentiates in ``A`` (``trans`` 0 or 1; 2 for real ones).
* **Matrix functions.** ``expm``, ``logm`` and ``sqrtm`` have real power series, so the
  gradient is the Fréchet derivative at ``a.T`` applied to the output gradient, computed
  as the upper-right block of ``f([[a.T, dy], [0, a.T]])``: itself a call of the same
  primitive, so they differentiate again.
* **Forward rules.** Every function has its own (``jvp=``): the solves solve again for
  the tangent (``dx = -A^-1 dA x``), the matrix functions take the Fréchet derivative at
  ``a`` in the tangent by the same block trick, ``cholesky`` and ``eigh`` use the textbook
  formulas; a tangent counts on the triangle read only, as a gradient does.
* ``eigh`` with ``b`` (the generalized problem) is not differentiable here: a tracked
  ``b`` raises `RuleError`. With a tracked argument (and no ``b``) its forward is
  ``np.linalg.eigh`` (LAPACK's syevd), the decomposition numpy's rule is for: the
  eigenvectors' signs (their gauge) may differ from those of scipy's default driver.

Examples:
    >>> import numpy as np, scipy.linalg, rulegrad as rg
    >>> a = np.array([[1.0, 0.5], [0.0, 2.0]])
    >>> rg.grad(lambda a: np.trace(scipy.linalg.expm(a)))(a).round(4)  # expm(a).T
    array([[2.7183, 0.    ],
           [2.3354, 7.3891]])
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as la

from ..core import PRIMITIVES, Domain, RuleError, primitive, value
from ..rules._util import conj, dtype_of
from ._intercept import intercept
from ._util import float_dtype, no_derivative

__all__ = [
    "cho_factor", "cho_solve", "cholesky", "det", "eigh", "expm", "inv", "logm", "lu_factor",
    "lu_solve", "solve_banded", "solve_sylvester", "solve_triangular", "sqrtm",
]  # fmt: skip

#: scipy.linalg's functions, as they were before the plugin intercepted them.
ORIGINAL = {name: getattr(la, name) for name in __all__}


def _cast(y: Any, *xs: Any) -> Any:
    return np.asarray(y).astype(float_dtype(*xs), copy=False)


def _t(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


def _h(a: Any) -> Any:
    """The conjugate transpose (the transpose of a real ``a``)."""
    return conj(_t(a))


def _numpy_rule(func: Any) -> Callable[..., Any]:
    """rulegrad's rule for numpy's ``func`` (its first argument), from the registry."""
    return PRIMITIVES[func].methods[0].rules[0]


# ---- samples for the checks: 2-d matrices, n = 1..3 ----
def _n(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 4))


def _well(rng: np.random.Generator, n: int) -> np.ndarray:
    """Eigenvalues near 3/2: invertible, with real logarithm and square root."""
    return 1.5 * np.eye(n) + rng.uniform(-1.0, 1.0, (n, n)) / (2 * n)


def _spd(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.uniform(-1.0, 1.0, (n, n))
    return m @ m.T / n + np.eye(n)


def _sample_square(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (_well(rng, _n(rng)),), {}


def _sample_real_square(rng: np.random.Generator) -> tuple[tuple, dict]:
    n = _n(rng)
    return (rng.uniform(-1.0, 1.0, (n, n)),), {}


def _rhs(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, (n,) if rng.integers(0, 2) else (n, 2))


def _read(t: Any, lower: bool, k: int = 0) -> Any:
    """The part of tangent ``t`` that a function reading one triangle sees: on the diagonal
    ``k`` and below (``lower``), or on ``-k`` and above."""
    return np.tril(t, -k) if lower else np.triu(t, k)


def _symmetric(t: Any, lower: bool) -> Any:
    """The symmetric (Hermitian) matrix a function reading one triangle of ``t`` sees
    (cholesky, eigh): that triangle, its conjugate transpose, and the real part of the
    diagonal (LAPACK reads no imaginary part there)."""
    s = _read(t, lower) + _h(_read(t, lower, 1))
    return s - 1j * np.imag(np.tril(np.triu(t))) if np.iscomplexobj(t) else s


# ---- inverse and determinant (numpy's rules) ----
@primitive(
    lambda dy, y, a, *rest: -_t(y) @ dy @ _t(y),
    jvp=lambda da, y, a, *rest: -(y @ da @ y),
    domain=Domain(sample=_sample_square),
)
def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """scipy.linalg.inv."""
    return _cast(ORIGINAL["inv"](a, overwrite_a, check_finite), a)


@primitive(
    lambda dy, y, a, *rest: _numpy_rule(np.linalg.det)(dy, y, a),
    jvp=lambda da, y, a, *rest: y * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1),
    domain=Domain(sample=_sample_square),
)
def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """scipy.linalg.det."""
    return _cast(ORIGINAL["det"](a, overwrite_a, check_finite), a)[()]


# ---- Cholesky ----
def _sample_spd(rng: np.random.Generator) -> tuple[tuple, dict]:
    return (_spd(rng, _n(rng)), bool(rng.integers(0, 2))), {}


def _cholesky_fa(da: Any, y: Any, a: Any, lower: bool = False, *rest: Any) -> Any:
    """A = L L^H: dL = L Phi(L^-1 dA L^-H), Phi taking the lower triangle with half the
    diagonal; the upper factor U = L^H gets dL^H."""
    s = _symmetric(da, lower)
    low = y if lower else _h(y)
    p = solve_triangular(low, _h(solve_triangular(low, s, 0, True)), 0, True)
    phi = np.tril(p) - np.triu(np.tril(p)) / 2
    return low @ phi if lower else _h(low @ phi)


@primitive(
    lambda dy, y, a, lower=False, *rest: _numpy_rule(np.linalg.cholesky)(dy, y, a, upper=not lower),
    None,
    jvp=_cholesky_fa,
    domain=Domain(sample=_sample_spd),
)
def cholesky(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """scipy.linalg.cholesky: the upper factor unless ``lower``, reading that triangle."""
    return _cast(ORIGINAL["cholesky"](a, lower, overwrite_a, check_finite), a)


@functools.cache
def _keeps_other() -> bool:
    """Whether scipy's cho_factor leaves ``a``'s entries on the triangle it does not write
    (LAPACK's potrf does, and scipy up to 1.17 passes them on; 1.18 gives zeros there)."""
    return bool(ORIGINAL["cho_factor"](np.array([[2.0, 1.0], [1.0, 2.0]]))[0][1, 0] != 0)


def _other(d: Any, lower: bool) -> Any:
    """The part of ``c``'s derivative on its unwritten triangle: ``a``'s there, or 0."""
    return _read(d, not lower, 1) if _keeps_other() else 0


def _cho_factor_da(dy: Any, y: Any, a: Any, lower: bool = False, *rest: Any) -> Any:
    """c is the factor on one triangle (cholesky's rule, for that triangle of dy) and, where
    scipy leaves them, a's own entries on the other (dy there, as it is)."""
    factor = _numpy_rule(np.linalg.cholesky)(_read(dy, lower), _read(y, lower), a, upper=not lower)
    return factor + _other(dy, lower)


def _cho_factor_fa(da: Any, y: Any, a: Any, lower: bool = False, *rest: Any) -> Any:
    return _cholesky_fa(da, _read(y, lower), a, lower) + _other(da, lower)


@primitive(_cho_factor_da, None, jvp=_cho_factor_fa, domain=Domain(sample=_sample_spd))
def cho_factor_c(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """The factor ``c`` of ``scipy.linalg.cho_factor(a, lower)``: the Cholesky factor on the
    triangle ``lower`` names, ``a``'s entries as LAPACK leaves them on the other (zeros
    from scipy 1.18)."""
    return _cast(ORIGINAL["cho_factor"](a, lower, overwrite_a, check_finite)[0], a)


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple:
    """scipy.linalg.cho_factor: ``(c, lower)`` for `cho_solve`, ``c`` from `cho_factor_c`.

    The gradient of ``y^T K^-1 y`` is ``-x x^T`` (``x = K^-1 y``), folded onto the upper
    triangle, which is the one read:

    Examples:
        >>> import rulegrad as rg
        >>> k, y = np.array([[4.0, 2.0], [2.0, 3.0]]), np.array([1.0, 2.0])
        >>> rg.grad(lambda k: y @ la.cho_solve(la.cho_factor(k), y))(k)
        array([[-0.015625,  0.1875  ],
               [ 0.      , -0.5625  ]])
    """
    return cho_factor_c(a, lower, overwrite_a, check_finite), lower


def _sample_cho(rng: np.random.Generator) -> tuple[tuple, dict]:
    n, lower = _n(rng), bool(rng.integers(0, 2))
    return (la.cholesky(_spd(rng, n), lower=lower), lower, _rhs(rng, n)), {}


def _cho_dc(dy: Any, y: Any, c: Any, lower: bool, b: Any, *rest: Any) -> Any:
    """A = C C^T (lower) or U^T U: abar = -bbar x^T, and the factor's gradient from abar's
    symmetric part, on the triangle scipy reads; for a complex factor A = C C^H (U^H U),
    the Hermitian part, and conj(C) where C^T stood (autograd's convention)."""
    c = _read(c, lower)  # (the other triangle, unread, may hold anything: cho_factor's)
    if np.iscomplexobj(c):  # A = C C^H, Hermitian: A^-T = conj(A)^-1, conj(C)'s solve
        c = np.conj(c)
    bbar = cho_solve_unpacked(c, lower, dy)
    x2, b2 = (y[:, None], bbar[:, None]) if np.ndim(y) == 1 else (y, bbar)
    s = -(b2 @ _t(x2))
    s = s + (np.conj(_t(s)) if np.iscomplexobj(c) else _t(s))
    return np.tril(s @ c) if lower else np.triu(c @ s)


def _cho_fc(dc: Any, y: Any, c: Any, lower: bool, b: Any, *rest: Any) -> Any:
    """dA = dC C^H + C dC^H (lower; U^H dU + dU^H U upper) on the triangle read, and
    dx = -A^-1 dA x."""
    c, dc = _read(c, lower), _read(dc, lower)
    e = dc @ _h(c) if lower else _h(c) @ dc
    return -cho_solve_unpacked(c, lower, (e + _h(e)) @ y)


@primitive(
    _cho_dc,
    None,
    lambda dy, y, c, lower, b, *rest: cho_solve_unpacked(conj(c), lower, dy),  # A^T = conj(A)
    jvp=(_cho_fc, None, lambda db, y, c, lower, b, *rest: cho_solve_unpacked(c, lower, db)),
    domain=Domain(sample=_sample_cho),
)
def cho_solve_unpacked(
    c: Any, lower: bool, b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """``scipy.linalg.cho_solve((c, lower), b)`` with the factor's tuple unpacked, so that a
    tracked factor is an argument of its own (what ``scipy.linalg.cho_solve`` calls)."""
    return _cast(ORIGINAL["cho_solve"]((c, lower), b, overwrite_b, check_finite), c, b)


def cho_solve(
    c_and_lower: tuple, b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """scipy.linalg.cho_solve: solve ``A x = b`` given A's Cholesky factor ``(c, lower)``.

    Examples:
        >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
        >>> cho_solve(la.cho_factor(a), np.array([1.0, 2.0])).round(4)
        array([-0.125,  0.75 ])
    """
    c, lower = c_and_lower
    # (bool: scipy 1.18's cho_factor gives lower as a 0-d array, which the method's bool
    # annotation does not take)
    return cho_solve_unpacked(c, bool(lower), b, overwrite_b, check_finite)


# ---- LU with partial pivoting: A = P L U, packed as lu = tril(L, -1) + U ----
def _perm(piv: Any) -> np.ndarray:
    """LAPACK's pivots (row i swapped with row piv[i], in order) as the permutation with
    ``a[perm] = L U``."""
    piv = np.asarray(value(piv))
    perm = np.arange(piv.shape[0])
    for i, p in enumerate(piv):
        perm[[i, p]] = perm[[p, i]]
    return perm


def _lu_parts(lu: Any) -> tuple[Any, Any]:
    """``(L, U)`` from the packed factor: L unit lower triangular, U upper."""
    return np.tril(lu, -1) + np.eye(np.shape(lu)[-1], dtype=dtype_of(lu)), np.triu(lu)


def _sample_lu(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A well-conditioned matrix with its rows shuffled, so that LU pivots (clearly: no
    finite-difference step changes a pivot)."""
    n = _n(rng)
    return (_well(rng, n)[rng.permutation(n)],), {}


def _lu_factor_da(dy: Any, y: Any, a: Any, *rest: Any) -> Any:
    """P^T A = L U: with M = tril(L^T Lbar, -1) + triu(Ubar U^T) (Lbar, Ubar the parts of
    dy on L's and U's entries), abar = P L^-T M U^-T (transposes, not conjugates: LU is
    holomorphic)."""
    (dlu, _), (lu, piv) = dy, y
    low, up = _lu_parts(lu)
    m = np.tril(_t(low) @ np.tril(dlu, -1), -1) + np.triu(np.triu(dlu) @ _t(up))
    z = _t(solve_triangular(up, _t(m)))  # M U^-T
    g = solve_triangular(lu, z, trans=1, lower=True, unit_diagonal=True)  # L^-T M U^-T
    return g[np.argsort(_perm(piv))]


def _lu_factor_fa(da: Any, y: Any, a: Any, *rest: Any) -> tuple:
    """X = L^-1 (P^T dA) U^-1: dL = L tril(X, -1), dU = triu(X) U; the pivots have none."""
    lu, piv = y
    low, up = _lu_parts(lu)
    w = solve_triangular(lu, da[_perm(piv)], lower=True, unit_diagonal=True)  # L^-1 P^T dA
    x = _t(solve_triangular(up, _t(w), trans=1))  # ... U^-1
    return low @ np.tril(x, -1) + np.triu(x) @ up, None


@primitive(_lu_factor_da, jvp=_lu_factor_fa, domain=Domain(sample=_sample_lu))
def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple:
    """scipy.linalg.lu_factor: ``(lu, piv)``, the packed factors and LAPACK's pivots (the
    pivots, integers, have no gradient)."""
    lu, piv = ORIGINAL["lu_factor"](a, overwrite_a, check_finite)
    return _cast(lu, a), piv


def _lu_trans(trans: Any, lu: Any) -> int:
    """``trans`` as 0 (A x = b) or 1 (A^T x = b); 2 (A^H) is 1 for a real factor."""
    if trans in (0, 1) or (trans == 2 and not np.iscomplexobj(value(lu))):
        return min(int(trans), 1)
    raise RuleError(
        f"scipy.linalg.lu_solve: trans={trans!r} is not differentiable here; use 0 or 1 "
        "(or 2 with a real factor)"
    )


def _lu_db(dy: Any, y: Any, lu: Any, piv: Any, b: Any, trans: Any = 0, *rest: Any) -> Any:
    """op(A) x = b: bbar = op(A)^-T xbar."""
    return lu_solve_unpacked(lu, piv, dy, 1 - _lu_trans(trans, lu))


def _lu_dlu(dy: Any, y: Any, lu: Any, piv: Any, b: Any, trans: Any = 0, *rest: Any) -> Any:
    """abar = -bbar x^T (op = T: -x bbar^T), then through A = P L U: with G = P^T abar,
    Lbar = tril(G U^T, -1) and Ubar = triu(L^T G)."""
    bbar = _lu_db(dy, y, lu, piv, b, trans)
    x2, b2 = (y[:, None], bbar[:, None]) if np.ndim(y) == 1 else (y, bbar)
    g = -(b2 @ _t(x2)) if _lu_trans(trans, lu) == 0 else -(x2 @ _t(b2))
    g = g[_perm(piv)]
    low, up = _lu_parts(lu)
    return np.tril(g @ _t(up), -1) + np.triu(_t(low) @ g)


def _lu_flu(dlu: Any, y: Any, lu: Any, piv: Any, b: Any, trans: Any = 0, *rest: Any) -> Any:
    """dA = P (dL U + L dU) and dx = -op(A)^-1 op(dA) x."""
    low, up = _lu_parts(lu)
    da = (np.tril(dlu, -1) @ up + low @ np.triu(dlu))[np.argsort(_perm(piv))]
    t = _lu_trans(trans, lu)
    return -lu_solve_unpacked(lu, piv, (da if t == 0 else _t(da)) @ y, t)


def _sample_lu_solve(rng: np.random.Generator) -> tuple[tuple, dict]:
    (a,), _ = _sample_lu(rng)
    lu, piv = la.lu_factor(a)
    return (lu, piv, _rhs(rng, a.shape[0])), {"trans": int(rng.integers(0, 3))}


def _lu_fb(db: Any, y: Any, lu: Any, piv: Any, b: Any, trans: Any = 0, *rest: Any) -> Any:
    return lu_solve_unpacked(lu, piv, db, _lu_trans(trans, lu))


@primitive(
    _lu_dlu,
    None,  # the pivots
    _lu_db,
    jvp=(_lu_flu, None, _lu_fb),
    domain=Domain(args=("real", "int", "real"), sample=_sample_lu_solve),
)
def lu_solve_unpacked(
    lu: Any, piv: Any, b: Any, trans: Any = 0, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """``scipy.linalg.lu_solve((lu, piv), b, trans)`` with the factors' tuple unpacked, so
    that a tracked ``lu`` is an argument of its own (what ``scipy.linalg.lu_solve`` calls)."""
    _lu_trans(trans, lu)
    y = ORIGINAL["lu_solve"]((lu, piv), b, trans, overwrite_b, check_finite)
    return _cast(y, lu, b)


def lu_solve(
    lu_and_piv: tuple, b: Any, trans: Any = 0, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """scipy.linalg.lu_solve: solve ``A x = b`` (``trans=1``: ``A^T x = b``) given
    ``lu_factor(A)``; through a tracked ``lu_factor``, the gradient reaches ``A``.

    Examples:
        >>> import rulegrad as rg
        >>> a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0])
        >>> rg.grad(lambda a: np.sum(la.lu_solve(la.lu_factor(a), b)))(a)  # -A^-T 1 x^T
        array([[-0.5,  0.5],
               [ 0.5, -0.5]])
    """
    lu, piv = lu_and_piv
    return lu_solve_unpacked(lu, piv, b, trans, overwrite_b, check_finite)


# ---- triangular and banded solves ----
TRANS = {0: 0, 1: 1, "N": 0, "T": 1}


def _sample_tri(rng: np.random.Generator) -> tuple[tuple, dict]:
    n = _n(rng)
    a = _well(rng, n) + rng.uniform(-1.0, 1.0, (n, n))
    np.fill_diagonal(a, 1.5 + rng.uniform(0.0, 1.0, n))
    kw = {"trans": int(rng.integers(0, 2)), "lower": bool(rng.integers(0, 2))}
    kw["unit_diagonal"] = bool(rng.integers(0, 2))
    return (a, _rhs(rng, n)), kw


def _tri_db(dy: Any, y: Any, a: Any, b: Any, trans: Any = 0, lower: bool = False,
            unit_diagonal: bool = False, *rest: Any) -> Any:  # fmt: skip
    t = TRANS[trans]
    return solve_triangular(a, dy, trans=1 - t, lower=lower, unit_diagonal=unit_diagonal)


def _tri_da(dy: Any, y: Any, a: Any, b: Any, trans: Any = 0, lower: bool = False,
            unit_diagonal: bool = False, *rest: Any) -> Any:  # fmt: skip
    bbar = _tri_db(dy, y, a, b, trans, lower, unit_diagonal)
    x2, b2 = (y[:, None], bbar[:, None]) if np.ndim(y) == 1 else (y, bbar)
    g = -(b2 @ _t(x2)) if TRANS[trans] == 0 else -(x2 @ _t(b2))
    g = np.tril(g, -1 if unit_diagonal else 0) if lower else np.triu(g, 1 if unit_diagonal else 0)
    return g


def _tri_fa(da: Any, y: Any, a: Any, b: Any, trans: Any = 0, lower: bool = False,
            unit_diagonal: bool = False, *rest: Any) -> Any:  # fmt: skip
    """op(A) x = b: dx = -op(A)^-1 op(dA) x, dA on the triangle read (without a unit
    diagonal)."""
    da = _read(da, lower, 1 if unit_diagonal else 0)
    e = (da if TRANS[trans] == 0 else _t(da)) @ y
    return -solve_triangular(a, e, trans, lower, unit_diagonal)


def _tri_fb(db: Any, y: Any, a: Any, b: Any, trans: Any = 0, lower: bool = False,
            unit_diagonal: bool = False, *rest: Any) -> Any:  # fmt: skip
    return solve_triangular(a, db, trans, lower, unit_diagonal)


@primitive(_tri_da, _tri_db, jvp=(_tri_fa, _tri_fb), domain=Domain(sample=_sample_tri))
def solve_triangular(
    a: Any, b: Any, trans: Any = 0, lower: bool = False, unit_diagonal: bool = False,
    overwrite_b: bool = False, check_finite: bool = True,
) -> Any:  # fmt: skip
    """scipy.linalg.solve_triangular (real; ``trans`` 0/"N" or 1/"T")."""
    if trans not in TRANS:
        raise RuleError(
            f"scipy.linalg.solve_triangular: trans={trans!r} is not differentiable here; "
            "use 0 ('N') or 1 ('T') (real matrices)"
        )
    y = ORIGINAL["solve_triangular"](a, b, trans, lower, unit_diagonal, overwrite_b,
                                     check_finite=check_finite)  # fmt: skip
    return _cast(y, a, b)


def _band_index(lo: int, up: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the dense (n, n) matrix: the row of ``ab`` holding each entry and the band mask;
    for ``ab``: the dense row of each entry (``ab[up + i - j, j] = a[i, j]``)."""
    i, j = np.indices((n, n))
    rows = up + i - j
    in_band = (rows >= 0) & (rows <= lo + up)
    r, jj = np.indices((lo + up + 1, n))
    dense_rows = r - up + jj
    return np.clip(rows, 0, lo + up), in_band, dense_rows


def _dense(ab: Any, lo: int, up: int) -> Any:
    n = np.shape(ab)[-1]
    rows, in_band, _ = _band_index(lo, up, n)
    return np.where(in_band, ab[rows, np.indices((n, n))[1]], 0.0)


def _banded(g: Any, lo: int, up: int) -> Any:
    """The entries of a dense (n, n) gradient at the band, in ``ab``'s layout (0 outside)."""
    n = np.shape(g)[-1]
    _, _, dense_rows = _band_index(lo, up, n)
    valid = (dense_rows >= 0) & (dense_rows < n)
    cols = np.indices((lo + up + 1, n))[1]
    return np.where(valid, g[np.clip(dense_rows, 0, n - 1), cols], 0.0)


def _sample_banded(rng: np.random.Generator) -> tuple[tuple, dict]:
    n, lo, up = int(rng.integers(2, 5)), int(rng.integers(0, 2)), int(rng.integers(0, 3))
    ab = rng.uniform(-0.5, 0.5, (lo + up + 1, n))
    ab[up] = 2.0 + rng.uniform(0.0, 1.0, n)  # a dominant diagonal
    return ((lo, up), ab, _rhs(rng, n)), {}


def _banded_db(dy: Any, y: Any, lu: tuple, ab: Any, b: Any, *rest: Any) -> Any:
    lo, up = lu
    return np.linalg.solve(_t(_dense(ab, lo, up)), dy)


def _banded_dab(dy: Any, y: Any, lu: tuple, ab: Any, b: Any, *rest: Any) -> Any:
    bbar = _banded_db(dy, y, lu, ab, b)
    x2, b2 = (y[:, None], bbar[:, None]) if np.ndim(y) == 1 else (y, bbar)
    return _banded(-(b2 @ _t(x2)), *lu)


def _banded_fab(dab: Any, y: Any, lu: tuple, ab: Any, b: Any, *rest: Any) -> Any:
    """dx = -A^-1 dA x, dA the dense matrix of the tangent's band."""
    return -solve_banded(lu, ab, _dense(dab, *lu) @ y)


@primitive(
    None,
    _banded_dab,
    _banded_db,
    jvp=(None, _banded_fab, lambda db, y, lu, ab, b, *rest: solve_banded(lu, ab, db)),
    domain=Domain(sample=_sample_banded),
)
def solve_banded(
    l_and_u: tuple, ab: Any, b: Any, overwrite_ab: bool = False, overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:  # fmt: skip
    """scipy.linalg.solve_banded; the entries of ``ab`` outside the band get no gradient."""
    y = ORIGINAL["solve_banded"](l_and_u, ab, b, overwrite_ab, overwrite_b, check_finite)
    return _cast(y, ab, b)


# ---- Sylvester equations ----
def _sample_sylvester(rng: np.random.Generator) -> tuple[tuple, dict]:
    n, m = _n(rng), _n(rng)
    return (_well(rng, n), _well(rng, m), rng.uniform(-1.0, 1.0, (n, m))), {}


def _syl_dq(dy: Any, y: Any, a: Any, b: Any, q: Any) -> Any:
    """A^T Qbar + Qbar B^T = Xbar."""
    return solve_sylvester(_t(a), _t(b), dy)


@primitive(
    lambda dy, y, a, b, q: -(_syl_dq(dy, y, a, b, q) @ _t(y)),
    lambda dy, y, a, b, q: -(_t(y) @ _syl_dq(dy, y, a, b, q)),
    _syl_dq,
    jvp=(  # dA X + A dX + dX B + X dB = dQ
        lambda da, y, a, b, q: solve_sylvester(a, b, -(da @ y)),
        lambda db, y, a, b, q: solve_sylvester(a, b, -(y @ db)),
        lambda dq, y, a, b, q: solve_sylvester(a, b, dq),
    ),
    domain=Domain(sample=_sample_sylvester),
)
def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """scipy.linalg.solve_sylvester: X with ``a X + X b = q``."""
    return _cast(ORIGINAL["solve_sylvester"](a, b, q), a, b, q)


# ---- symmetric eigendecomposition (numpy's rule) ----
def _sample_eigh(rng: np.random.Generator) -> tuple[tuple, dict]:
    n = _n(rng)
    a = np.diag(np.arange(1.0, n + 1)) + rng.uniform(-0.2, 0.2, (n, n))  # spread eigenvalues
    return (a, None), {"lower": bool(rng.integers(0, 2)), "eigvals_only": bool(rng.integers(0, 2))}


def _eigh_da(
    dy: Any, y: Any, a: Any, b: Any = None, lower: bool = True, eigvals_only: bool = False
) -> Any:
    uplo = "L" if lower else "U"
    if eigvals_only and not np.iscomplexobj(a):  # A V = V W: d w_k = v_k^T dA v_k
        v = np.linalg.eigh(a, uplo)[1]
        g = (v * np.expand_dims(dy, -2)) @ _t(v)
        return np.tril(g) + np.tril(g, -1) if lower else np.triu(g) + np.triu(g, 1)
    if eigvals_only:  # Hermitian: numpy's rule, with no gradient for the eigenvectors
        w, v = np.linalg.eigh(a, uplo)
        return _numpy_rule(np.linalg.eigh)((dy, np.zeros_like(v)), (w, v), a, UPLO=uplo)
    return _numpy_rule(np.linalg.eigh)(dy, y, a, UPLO=uplo)


def _eigh_fa(
    da: Any, y: Any, a: Any, b: Any = None, lower: bool = True, eigvals_only: bool = False
) -> Any:
    """With B = V^H dA V: dw = Re diag(B), dV = V (F * B), F_ij = 1 / (w_j - w_i) off the
    diagonal and 0 on it; dA as the Hermitian matrix of the triangle read."""
    w, v = (y, np.linalg.eigh(a, "L" if lower else "U")[1]) if eigvals_only else y
    m = _h(v) @ _symmetric(da, lower) @ v
    dw = np.diagonal(m, axis1=-2, axis2=-1)
    dw = np.real(dw) if np.iscomplexobj(dw) else dw
    if eigvals_only:
        return dw
    eye = np.eye(np.shape(w)[-1], dtype=dw.dtype)
    f = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
    return dw, v @ (f * m)


_NO_B = no_derivative("scipy.linalg.eigh", "b", "the generalized problem's second matrix")


@primitive(_eigh_da, _NO_B, jvp=(_eigh_fa, _NO_B), domain=Domain(sample=_sample_eigh))
def eigh(a: Any, b: Any = None, lower: bool = True, eigvals_only: bool = False) -> Any:
    """scipy.linalg.eigh of a real symmetric matrix: ``(w, v)``, or ``w`` if ``eigvals_only``
    (scipy's other options are not taken with tracked arguments)."""
    if b is not None:
        out = ORIGINAL["eigh"](a, b, lower=lower, eigvals_only=eigvals_only)
        return _cast(out, a, b) if eigvals_only else (_cast(out[0], a, b), _cast(out[1], a, b))
    w, v = np.linalg.eigh(a, "L" if lower else "U")  # the decomposition numpy's rule is for
    return w if eigvals_only else (w, v)


# ---- matrix functions: the Frechet derivative by the block-triangular trick ----
def _frechet(f: Any, a: Any, e: Any) -> Any:
    """The upper-right block of ``f([[a, e], [0, a]])``: the Fréchet derivative of f at a, in e."""
    n = np.shape(a)[-1]
    zero = np.zeros_like(a)
    big = np.concatenate([np.concatenate([a, e], -1), np.concatenate([zero, a], -1)], -2)
    return f(big)[..., :n, n:]


@primitive(
    lambda dy, y, a: _frechet(expm, _t(a), dy),
    jvp=lambda da, y, a: _frechet(expm, a, da),
    domain=Domain(sample=_sample_real_square),
)
def expm(a: Any) -> Any:
    """scipy.linalg.expm."""
    return _cast(ORIGINAL["expm"](a), a)


def _wide(a: Any) -> np.ndarray:
    """``a`` in float64, or complex128 if complex (never its real part alone)."""
    return np.asarray(a, np.complex128 if np.iscomplexobj(a) else np.float64)


def _real(y: np.ndarray, a: Any) -> np.ndarray:
    """``y``'s real part when ``a`` is real and ``y``'s imaginary part is roundoff (scipy
    1.15, the newest for Python 3.10, returns the square root of some real matrices as such
    a complex array)."""
    if (
        np.iscomplexobj(y)
        and not np.iscomplexobj(a)
        and np.max(np.abs(y.imag), initial=0.0)
        <= 1e-10 * max(1.0, float(np.max(np.abs(y.real), initial=0.0)))
    ):
        return y.real
    return y


#: order 1: scipy's logm takes ~0.1 s a call at any size, and the second-order check's
#: calls took 45 s of `rulegrad check`; tests/scipy/test_linalg.py checks second order once.
LOGM = Domain(sample=_sample_square, order=1)


@primitive(
    lambda dy, y, a, *rest: _frechet(logm, _t(a), dy),
    jvp=lambda da, y, a, *rest: _frechet(logm, a, da),
    domain=LOGM,
)
def logm(a: Any, disp: bool = True) -> Any:
    """scipy.linalg.logm of a complex matrix, or of a real one with a real logarithm (a
    complex logarithm of a real matrix is refused)."""
    y = ORIGINAL["logm"](_wide(a))  # float32 input: complex roundoff
    y = _real(y[0] if isinstance(y, tuple) else y, a)
    if np.iscomplexobj(y) and not np.iscomplexobj(a):
        raise RuleError(
            "scipy.linalg.logm: the logarithm of this real matrix is complex (it has an "
            "eigenvalue <= 0); pass it as a complex matrix, a.astype(complex), to "
            "differentiate the complex logarithm"
        )
    return _cast(y, a)


@primitive(
    lambda dy, y, a, *rest: _frechet(sqrtm, _t(a), dy),
    jvp=lambda da, y, a, *rest: _frechet(sqrtm, a, da),
    domain=Domain(sample=_sample_square),
)
def sqrtm(a: Any, disp: bool = True, blocksize: int = 64) -> Any:
    """scipy.linalg.sqrtm of a complex matrix, or of a real one with a real square root (a
    complex square root of a real matrix is refused)."""
    y = ORIGINAL["sqrtm"](_wide(a))
    y = _real(y[0] if isinstance(y, tuple) else y, a)
    if np.iscomplexobj(y) and not np.iscomplexobj(a):
        raise RuleError(
            "scipy.linalg.sqrtm: the square root of this real matrix is complex; pass it "
            "as a complex matrix, a.astype(complex), to differentiate the complex root"
        )
    return _cast(y, a)


def _intercept_all() -> None:
    for name in __all__:
        func = globals()[name]
        impl = func if name in ("cho_factor", "cho_solve", "lu_solve") else func.methods[0].impl
        intercept(la, name, func, impl)


_intercept_all()
