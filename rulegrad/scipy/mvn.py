"""Gradients of ``scipy.stats.multivariate_normal.cdf`` and ``.logcdf`` in ``x``, ``mean``, ``cov``.

With ``F(x) = P(X <= x)`` for ``X ~ N(mean, S)`` and ``r = x - mean``:

* ``dF/dx_i = phi(r_i; S_ii) * F_i``, where ``F_i`` is the cdf of the other coordinates
  given ``X_i = x_i``: normal, with covariance ``S_kk - S_ki S_ik / S_ii`` and at the point
  ``r_k - S_ki r_i / S_ii`` (``F_i = 1`` when ``d = 1``); ``dF/dmean = -dF/dx``.
* ``d2F/dx_i dx_j`` (``i != j``) is the bivariate density of ``(r_i, r_j)`` times the cdf of
  the rest given both, and the diagonal follows from ``sum_k S_ik d2F/dx_i dx_k = -r_i dF/dx_i``
  (differentiate ``dF/dx_i`` once more in ``x_i``).
* Plackett's identity: ``dF/dS_ij = d2F/dx_i dx_j`` for ``i != j``, counting ``S_ij`` and
  ``S_ji`` as one entry of a symmetric matrix, and ``dF/dS_ii = d2F/dx_i^2 / 2``.

A matrix ``cov``'s gradient goes to the triangle scipy reads, as for ``logpdf`` (which
reads the lower one): the strictly triangular entry ``(i, j)`` gets ``dF/dS_ij``, the
diagonal ``dF/dS_ii``, the other triangle zero, so the gradient agrees with central
differences of scipy's own cdf in every direction. Which triangle scipy's cdf reads depends
on its version and on ``d`` (1.16 and later read the upper one for ``d = 2``, the lower one
for ``d >= 3``; 1.15 the lower one): `reads_upper` asks scipy once per case. A vector
``cov`` (the variances) gets ``dF/dS_ii``, a number (``cov * I``) their sum.

Accuracy: the conditional factors are cdfs of ``d - 1`` and ``d - 2`` dimensions, which scipy
computes in closed form up to two dimensions, so for ``d <= 3`` the gradient is that of the
exact cdf, to roundoff (tests: 1e-12 of closed forms for d <= 2, 1e-8 of central
differences of a quadrature cdf for d = 3), while scipy's value for ``d >= 3`` is a
randomized quasi-Monte Carlo estimate (Genz) good to ``abseps``: central differences of it
agree with the gradient only with a fixed seed (``rng=``) and a tight ``abseps`` (2e-6 of
the gradient at ``abseps=1e-6``). For ``d >= 4`` the conditional factors are such estimates
too, with ``abseps = min(abseps, GRAD_ABSEPS)`` and a fixed seed, so the gradient is
deterministic (on scipy 1.15, whose Fortran code takes no seed, random to about
``GRAD_ABSEPS``). Cost: ``d`` conditional cdfs for ``x`` and ``mean``, ``d (d - 1) / 2`` more
for ``cov``, each evaluated at all points at once: for one point, all three gradients take
about 5 ms besides the value's 13 ms for ``d = 3``, 0.4 s for ``d = 4``.

Forward rules (``jvp``) weigh the same sensitivities by the tangents. Not covered:
``lower_limit`` (a box's lower corner: the rules raise `RuleError`), singular covariances,
second derivatives (the rules are first order: differentiating the gradient raises
`RuleError`).

Examples:
    >>> import numpy as np, scipy.stats as ss, rulegrad as rg
    >>> g = rg.grad(lambda x: ss.multivariate_normal.cdf(x, np.zeros(2), np.eye(2)))(np.zeros(2))
    >>> np.allclose(g, ss.norm.pdf(0) * ss.norm.cdf(0))  # independent coordinates
    True
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np
import scipy.special as sc
import scipy.stats as ss

from ..core import RuleError, Tracked
from ._util import float_dtype

__all__ = [
    "GRAD_ABSEPS",
    "GRAD_SEED",
    "forward",
    "gradients",
    "hessians",
    "make_impl",
    "reads_upper",
    "rules",
    "sample",
]

#: The largest absolute error of a conditional cdf of three or more dimensions computed by
#: quasi-Monte Carlo in a gradient: one takes about 0.02 s in three dimensions (0.2 s at
#: 1e-7), and d = 4's gradient is then within 1e-6 (relative) of one at 1e-8.
GRAD_ABSEPS = 1e-6
#: The seed of those estimates' random shifts, so that a gradient is deterministic.
GRAD_SEED = 0
#: The parameters of scipy's cdf past ``cov`` (positional, then keyword-only).
OPTIONS = ("allow_singular", "maxpts", "abseps", "releps")
#: Whether scipy's cdf takes ``rng`` (1.16 on; 1.15's Fortran code draws its own numbers).
SEEDED = "rng" in inspect.signature(ss.multivariate_normal.cdf).parameters


@functools.cache
def reads_upper(d: int) -> bool:
    """Whether scipy's cdf in ``d`` dimensions reads ``cov``'s upper triangle, not its lower.

    Asked once per case (``d = 2``; ``d >= 3``, one code path): a correlation of 0.9 in the
    upper triangle only changes the cdf at 0 from ``1 / 2**d`` (by 0.18 for ``d = 2``) when
    scipy reads it.

    Examples:
        >>> reads_upper(1)
        False
    """
    if d < 2:
        return False
    d = min(d, 3)
    cov = np.eye(d)
    cov[0, 1] = 0.9
    return bool(abs(ss.multivariate_normal.cdf(np.zeros(d), np.zeros(d), cov) - 0.5**d) > 0.05)


def _symmetric(cov: np.ndarray) -> np.ndarray:
    """The symmetric matrix made of the triangle of ``cov`` that scipy's cdf reads."""
    if reads_upper(cov.shape[0]):
        return np.triu(cov) + np.triu(cov, 1).T
    return np.tril(cov) + np.tril(cov, -1).T


def make_impl(method: str) -> Any:
    """scipy's ``multivariate_normal.<method>``, its result in the arguments' float dtype."""
    original = getattr(ss.multivariate_normal, method)

    def impl(
        x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False,
        maxpts: Any = None, abseps: float = 1e-5, releps: float = 1e-5,
        *, lower_limit: Any = None, rng: Any = None,
    ) -> Any:  # fmt: skip
        seed = {} if rng is None else {"rng": rng}  # scipy 1.15 has no rng
        y = original(
            x, mean, cov, allow_singular, maxpts, abseps, releps,
            lower_limit=lower_limit, **seed,
        )  # fmt: skip
        return np.asarray(y).astype(float_dtype(x, mean, cov), copy=False)[()]

    impl.__name__ = impl.__qualname__ = f"multivariate_normal.{method}"
    impl.__module__ = "scipy.stats"  # what the catalog and errors name
    impl.__doc__ = f"scipy.stats.multivariate_normal.{method}, in the arguments' float dtype."
    return impl


def _points(x: Any, mean: Any, cov: Any) -> tuple[np.ndarray, np.ndarray]:
    """``r = x - mean`` as float64 points (n, d), and the covariance matrix (d, d)."""
    d = np.shape(cov)[0] if np.ndim(cov) else (np.shape(mean)[-1] if np.ndim(mean) else 1)
    x = np.asarray(x, dtype=np.float64)
    if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
        x = x[..., None]  # a batch of scalars, as scipy reads it
    r = np.reshape(x - (0.0 if mean is None else np.asarray(mean, dtype=np.float64)), (-1, d))
    cov = np.asarray(cov, dtype=np.float64)
    S = _symmetric(cov) if cov.ndim == 2 else cov * np.eye(d) if cov.ndim == 0 else np.diag(cov)
    return r, S


def _cdf(
    y: np.ndarray, C: np.ndarray, maxpts: Any = None, abseps: float = GRAD_ABSEPS
) -> np.ndarray:
    """P(Y <= y) for ``Y ~ N(0, C)``, per row of ``y`` (n, k); ones when k = 0."""
    n, k = y.shape
    if k == 0:
        return np.ones(n)
    if k == 1:
        return sc.ndtr(y[:, 0] / np.sqrt(C[0, 0]))
    C = (C + C.T) / 2  # roundoff of the conditioning
    seed = {"rng": GRAD_SEED} if SEEDED else {}
    out = ss.multivariate_normal.cdf(  # releps=0: abseps alone bounds the error (1.15)
        y, np.zeros(k), C, maxpts=maxpts, abseps=min(abseps, GRAD_ABSEPS), releps=0, **seed
    )
    return np.reshape(out, (n,))


def _given(r: np.ndarray, S: np.ndarray, on: list[int], options: tuple) -> np.ndarray:
    """The cdf of the coordinates not in ``on`` given those in ``on`` at ``r``, per point."""
    rest = [k for k in range(S.shape[0]) if k not in on]
    B = np.linalg.solve(S[np.ix_(on, on)], S[np.ix_(on, rest)])  # S_oo^-1 S_or
    C = S[np.ix_(rest, rest)] - S[np.ix_(rest, on)] @ B
    return _cdf(r[:, rest] - r[:, on] @ B, C, *options)


def gradients(r: np.ndarray, S: np.ndarray, options: tuple = ()) -> np.ndarray:
    """``dF/dx`` at each point ``r = x - mean`` (n, d) for covariance ``S``; ``options`` are
    ``(maxpts, abseps)`` for the conditional cdfs.

    Examples:
        >>> import numpy as np, scipy.stats as ss
        >>> g = gradients(np.array([[0.5]]), np.array([[4.0]]))
        >>> np.allclose(g, ss.norm.pdf(0.5, scale=2.0))
        True
    """
    d = S.shape[0]
    g = np.empty_like(r)
    for i in range(d):
        density = np.exp(-(r[:, i] ** 2) / (2 * S[i, i])) / np.sqrt(2 * np.pi * S[i, i])
        g[:, i] = density * _given(r, S, [i], options)
    return g


def hessians(r: np.ndarray, S: np.ndarray, g: np.ndarray, options: tuple = ()) -> np.ndarray:
    """``d2F/dx dx^T`` at each point (n, d, d), given the gradients ``g``.

    Examples:
        >>> import numpy as np, scipy.stats as ss
        >>> H = hessians(np.array([[0.5]]), np.array([[4.0]]), np.array([[0.1]]))
        >>> float(H[0, 0, 0])  # -r / S * dF/dx
        -0.0125
    """
    n, d = r.shape
    H = np.zeros((n, d, d))
    for i in range(d):
        for j in range(i):
            block = S[np.ix_([i, j], [i, j])]
            u = np.linalg.solve(block, r[:, [i, j]].T)  # (2, n)
            det = block[0, 0] * block[1, 1] - block[0, 1] ** 2
            density = np.exp(-np.sum(r[:, [i, j]].T * u, axis=0) / 2) / (2 * np.pi * np.sqrt(det))
            H[:, i, j] = H[:, j, i] = density * _given(r, S, [i, j], options)
    for i in range(d):  # sum_k S_ik H_ik = -r_i g_i
        off = np.delete(np.arange(d), i)
        H[:, i, i] = -(r[:, i] * g[:, i] + H[:, i, off] @ S[i, off]) / S[i, i]
    return H


def _check(args: tuple, kwargs: dict, where: str) -> None:
    if any(isinstance(a, Tracked) for a in args):
        raise RuleError(
            f"scipy.stats.multivariate_normal.{where}: the gradient was itself differentiated "
            "(a gradient of a gradient); its rules are first order only: take second "
            "derivatives by finite differences of the gradient"
        )
    if kwargs.get("lower_limit") is not None:
        raise RuleError(
            f"scipy.stats.multivariate_normal.{where}: no gradient with lower_limit (the "
            "probability of a box) is implemented; write it as a sum of cdfs at the box's "
            "corners (inclusion-exclusion), each of which has a gradient"
        )


def _weights(dy: Any, y: Any, log: bool, n: int) -> Any:
    """dy (or dy / cdf for logcdf) as a column (n, 1), one row per point."""
    w = dy / np.exp(y) if log else dy
    return np.reshape(w, (n, 1))


#: The last ``(key, r, S, dF/dx)``: a node's rules for x, mean and cov, called one after
#: another on the same arguments, compute the conditional cdfs once.
_LAST: list = [None]


def _sensitivities(x: Any, mean: Any, cov: Any, options: tuple) -> tuple:
    """``r``, ``S`` and ``dF/dx`` (n, d) for these arguments, reusing the last call's."""
    r, S = _points(x, mean, cov)
    key = (r.shape, r.tobytes(), S.tobytes(), options)
    last = _LAST[0]
    if last is None or last[0] != key:
        last = _LAST[0] = (key, r, S, gradients(r, S, options))
    return last[1:]


def _setup(method: str, x: Any, mean: Any, cov: Any, rest: tuple, kwargs: dict) -> tuple:
    """``r``, ``S``, ``dF/dx`` per point and the conditional cdfs' ``(maxpts, abseps)``."""
    _check((x, mean, cov, *rest), kwargs, method)
    given = {**dict(zip(OPTIONS, rest)), **kwargs}
    options = (given.get("maxpts"), given.get("abseps", 1e-5))
    return (*_sensitivities(x, mean, cov, options), options)


def _cov_sensitivity(r: np.ndarray, S: np.ndarray, g: np.ndarray, options: tuple, cov: Any) -> Any:
    """Each point's ``dF/dcov`` in cov's form (n, *cov.shape): half its Hessian (the gradient
    of a symmetric matrix), a matrix's in the triangle scipy reads."""
    G = hessians(r, S, g, options) / 2  # (n, d, d)
    d = S.shape[0]
    if np.ndim(cov) == 2:
        full = G + np.swapaxes(G, 1, 2) - G * np.eye(d)
        return np.triu(full) if reads_upper(d) else np.tril(full)
    if np.ndim(cov) == 1:
        return np.diagonal(G, axis1=1, axis2=2)
    return np.trace(G, axis1=1, axis2=2)


def rules(method: str) -> list:
    """The rules of ``cdf`` or ``logcdf``: ``x``, ``mean``, ``cov``, then None for the options.

    Each computes its sensitivities on plain values and weighs them by ``dy`` (over the
    cdf for logcdf) last, the only step a tracked ``dy`` goes through.
    """
    log = method == "logcdf"

    def rx(dy: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, *rest: Any, **kw: Any) -> Any:
        r, S, g, _ = _setup(method, x, mean, cov, rest, kw)
        return np.reshape(_weights(dy, y, log, len(r)) * g.astype(float_dtype(x)), np.shape(x))

    def rmean(
        dy: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, *rest: Any, **kw: Any
    ) -> Any:
        r, S, g, _ = _setup(method, x, mean, cov, rest, kw)
        total = np.sum(_weights(dy, y, log, len(r)) * -g.astype(float_dtype(mean)), axis=0)
        return np.sum(total) if np.ndim(mean) == 0 else np.reshape(total, np.shape(mean))

    def rcov(dy: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, *rest: Any, **kw: Any) -> Any:
        r, S, g, options = _setup(method, x, mean, cov, rest, kw)
        M = _cov_sensitivity(r, S, g, options, cov).astype(float_dtype(cov))
        w = np.reshape(_weights(dy, y, log, len(r)), (-1,) + (1,) * np.ndim(cov))
        return np.sum(w * M, axis=0)

    return [rx, rmean, rcov, None, None, None, None]


def forward(method: str) -> list:
    """The forward rules of ``cdf`` or ``logcdf`` for ``x``, ``mean``, ``cov``: each point's
    sensitivities times the tangent, summed over the argument's entries (over the cdf for
    logcdf)."""
    log = method == "logcdf"

    def shaped(t: Any, y: Any) -> Any:
        t = np.reshape(t, np.shape(y))
        return t / np.exp(y) if log else t

    def fx(dx: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, *rest: Any, **kw: Any) -> Any:
        r, S, g, _ = _setup(method, x, mean, cov, rest, kw)
        return shaped(np.sum(g * np.reshape(dx, r.shape), axis=1), y)

    def fmean(
        dm: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, *rest: Any, **kw: Any
    ) -> Any:
        r, S, g, _ = _setup(method, x, mean, cov, rest, kw)
        return shaped(-np.sum(g * dm, axis=1), y)

    def fcov(dc: Any, y: Any, x: Any, mean: Any = None, cov: Any = 1, *rest: Any, **kw: Any) -> Any:
        r, S, g, options = _setup(method, x, mean, cov, rest, kw)
        M = _cov_sensitivity(r, S, g, options, cov)
        return shaped(np.sum(M * dc, axis=tuple(range(1, 1 + np.ndim(cov)))), y)

    return [fx, fmean, fcov, None, None, None, None]


def sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """Inputs for the generated checks: d = 1 or 2, one or three points, an SPD cov.

    Not d = 3: there scipy's value is a quasi-Monte Carlo estimate, smooth in its inputs
    for a fixed seed but with derivatives off by up to 2e-5 of the gradient at
    ``abseps=1e-6`` (more than the checks' 1e-5; ``abseps=1e-8`` takes a second a call).
    tests/scipy/test_scipy_mvn.py checks d = 3 against an exact (quadrature) cdf and
    d = 3, 4 against scipy's seeded one, with a tolerance for that error.
    """
    d = int(rng.integers(1, 3))
    m = rng.uniform(-1.0, 1.0, size=(d, d))
    cov = m @ m.T / d + np.eye(d)
    shape = (d,) if rng.integers(0, 2) else (3, d)
    x = rng.uniform(-1.5, 1.5, size=shape)
    return (x, rng.uniform(-0.5, 0.5, size=(d,)), cov), {}
