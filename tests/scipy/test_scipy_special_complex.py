"""rulegrad/scipy/special.py on complex arguments: autograd's convention (for a real loss of
z = x + iy the gradient is dL/dx - i dL/dy), checked along complex directions, to second
order, complex64 kept, and against HIPS autograd where it has the function."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sc

import rulegrad as rg
from rulegrad import plugins
from rulegrad.scipy import special as rs

ag = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")
asp = pytest.importorskip("autograd.scipy.special")

plugins.load()  # intercepts scipy.special's Python functions
Z = np.array([0.6 + 0.4j, 1.3 - 0.7j, 2.1 + 0.9j, -0.4 - 1.2j])  # off every branch cut
W = np.array([1.1 - 0.3j, 0.5 + 0.8j, 1.7 + 0.2j, 0.9 - 1.1j])

# name -> (arguments, index of the complex argument differentiated). rulegrad.scipy's
# primitives where scipy's Python function refuses complex (polygamma(0, z) calls zeta).
CASES = {
    "erf": ((Z,), 0), "erfc": ((Z,), 0), "erfcx": ((Z,), 0), "erfi": ((Z,), 0),
    "wofz": ((Z,), 0), "dawsn": ((Z,), 0), "gamma": ((Z,), 0), "loggamma": ((Z,), 0),
    "rgamma": ((Z,), 0), "digamma": ((Z,), 0), "psi": ((Z,), 0), "exp1": ((Z,), 0),
    "expi": ((Z,), 0), "ndtr": ((Z,), 0), "log_ndtr": ((Z,), 0), "expm1": ((Z,), 0),
    "log1p": ((Z,), 0), "jv": ((1.5, Z), 1), "yv": ((0.5, Z), 1), "iv": ((-1.2, Z), 1),
    "kv": ((2.0, Z), 1), "kve": ((1.0, Z), 1), "hankel1": ((0.7, Z), 1),
    "hankel2": ((1.3, Z), 1), "hankel1e": ((0.7, Z), 1), "hankel2e": ((-0.4, Z), 1),
    # not holomorphic: a factor exp(-|Re z|) or exp(-|Im z|)
    "ive": ((0.7, Z), 1), "jve": ((1.5, Z), 1), "yve": ((0.5, Z), 1),
    "xlogy_x": ((Z, W), 0), "xlogy_y": ((Z, W), 1), "xlog1py_x": ((Z, W), 0),
    "xlog1py_y": ((Z, W), 1), "logsumexp": ((Z,), 0), "softmax": ((Z,), 0),
    "log_softmax": ((Z,), 0), "polygamma_0": ((0, Z), 1), "polygamma_1": ((1, Z), 1),
    "polygamma_2": ((2, W), 1),
}  # fmt: skip
PRIMITIVE = {"polygamma"}  # called as rulegrad.scipy.special's: scipy's refuses complex


def _base(name: str) -> str:
    """The function a case tests: ``xlogy_x`` -> ``xlogy``, ``polygamma_1`` -> ``polygamma``."""
    head, _, tail = name.rpartition("_")
    return head if tail in ("x", "y", "0", "1", "2") else name


def _function(name: str):  # type: ignore[no-untyped-def]
    base = _base(name)
    return getattr(rs if base in PRIMITIVE else sc, base)


def _partial(name: str, dtype: type = np.complex128):  # type: ignore[no-untyped-def]
    args, i = CASES[name]
    f = _function(name)
    args = tuple(np.asarray(a, dtype) if np.iscomplexobj(a) else a for a in args)

    def g(z):  # type: ignore[no-untyped-def]
        return f(*args[:i], z, *args[i + 1 :])

    return g, args[i]


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_gradient_matches_central_differences(name: str) -> None:
    """Each function's gradient of complex z agrees with central differences along complex
    directions, to second order (autograd's convention: dL/dx - i dL/dy)."""
    g, z = _partial(name)
    assert rg.checkgrad(g, z, order=2) < 1e-5


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex64_stays_complex64(name: str) -> None:
    """complex64 in, complex64 gradient out, close to the complex128 gradient."""
    g64, z64 = _partial(name, np.complex64)
    g128, z128 = _partial(name)
    ours = rg.grad(lambda z: np.sum(np.abs(g64(z)) ** 2))(z64)
    wide = rg.grad(lambda z: np.sum(np.abs(g128(z)) ** 2))(z128)
    assert ours.dtype == np.complex64
    np.testing.assert_allclose(ours, wide, rtol=2e-3, atol=2e-4 * np.max(np.abs(wide)))


def test_trigamma_of_complex_is_the_derivative_of_digamma() -> None:
    """polygamma(n, z) of complex z (scipy's is real only): the derivative of n - 1's, and
    scipy's polygamma on the real axis."""
    z = np.array([0.5 + 1j, -1.5 - 0.5j, 3.3 + 0.01j, 30 + 2j, -7.4 + 3j, 0.2 - 5j])
    h = 1e-5
    for n in (1, 2, 3):
        d = (rs.polygamma(n - 1, z + h) - rs.polygamma(n - 1, z - h)) / (2 * h)
        np.testing.assert_allclose(rs.polygamma(n, z), d, rtol=1e-7)
    x = np.array([0.3, 1.7, 25.0, -2.5, -0.3])
    for n in (1, 2, 4):
        np.testing.assert_allclose(rs.polygamma(n, x + 0j), sc.polygamma(n, x), rtol=1e-13)


# autograd's functions that take complex z (its own rules, unconjugated as rulegrad's);
# name -> (rulegrad's function, autograd's function, arguments, index differentiated)
SHARED = {
    "erf": (sc.erf, asp.erf, (Z,), 0),
    "erfc": (sc.erfc, asp.erfc, (Z,), 0),
    "gamma": (sc.gamma, asp.gamma, (Z,), 0),
    "rgamma": (sc.rgamma, asp.rgamma, (Z,), 0),
    "jv": (sc.jv, asp.jn, (2, Z), 1),  # autograd's jn: an integer order
    "iv": (sc.iv, asp.iv, (1.5, Z), 1),
    "logsumexp": (sc.logsumexp, asp.logsumexp, (Z,), 0),
}


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", sorted(SHARED))
def test_complex_gradient_matches_autograd(name: str, dtype: type) -> None:
    """rulegrad's gradient of sum |f(z)|^2 (and of a weighted real part) equals autograd's;
    complex64 stays complex64."""
    ours_f, theirs_f, args, i = SHARED[name]
    z = args[i].astype(dtype)
    u = np.random.default_rng(3).standard_normal(np.shape(ours_f(*args))) * (1 + 0.5j)
    u = u.astype(dtype)

    def partial(f, m):  # type: ignore[no-untyped-def]
        def loss(z):  # type: ignore[no-untyped-def]
            y = f(*args[:i], z, *args[i + 1 :])
            return m.sum(m.abs(y) ** 2) + m.sum(m.real(y * u))

        return loss

    ours = rg.grad(partial(ours_f, np))(z)
    theirs = ag.grad(partial(theirs_f, anp))(z)
    assert ours.dtype == dtype
    tol = 2e-3 if dtype == np.complex64 else 1e-8
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * np.max(np.abs(theirs)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["wofz", "hankel1", "hankel2", "hankel1e", "hankel2e"])
def test_real_argument_of_a_complex_valued_function(name: str, dtype: type) -> None:
    """A real x of a function complex for real x (wofz, hankel) gets a real gradient,
    dL/dx, in its own dtype."""
    args, i = CASES[name]
    x = np.asarray(np.abs(np.real(args[i])) + 0.2, dtype)
    f = getattr(sc, name)

    def loss(x):  # type: ignore[no-untyped-def]
        y = f(*args[:i], x, *args[i + 1 :])
        return np.sum(np.real(y) * np.imag(y))

    g = rg.grad(loss)(x)
    assert g.dtype == dtype
    assert rg.checkgrad(loss, x.astype(np.float64), order=2) < 1e-5


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_forward_mode_matches_central_differences(name: str) -> None:
    """rg.jvp of each function at complex z, along a complex tangent, is J t as central
    differences give it (for ive, jve, yve, which are not holomorphic, too)."""
    g, z = _partial(name)
    rng = np.random.default_rng(4)
    t = rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)
    _, jt = rg.jvp(g, (z,), (t,))
    h = 1e-6
    numeric = (g(z + h * t) - g(z - h * t)) / (2 * h)
    np.testing.assert_allclose(jt, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["wofz", "hankel1", "hankel2", "hankel1e", "hankel2e"])
def test_forward_mode_at_real_x_is_complex(name: str) -> None:
    """rg.jvp of a function complex for real x (wofz, hankel) along a real tangent is the
    complex J t, not its real part."""
    args, i = CASES[name]
    x = np.abs(np.real(args[i])) + 0.2
    t = np.random.default_rng(6).standard_normal(x.shape)
    f = getattr(sc, name)

    def g(x):  # type: ignore[no-untyped-def]
        return f(*args[:i], x, *args[i + 1 :])

    _, jt = rg.jvp(g, (x,), (t,))
    h = 1e-6
    np.testing.assert_allclose(jt, (g(x + h * t) - g(x - h * t)) / (2 * h), rtol=1e-6, atol=1e-8)


X = np.array([0.3, 0.55, 0.8]) + 0.2j
# scipy's ufuncs (and Python functions) that take real arguments only: name -> (arguments,
# index of the complex one)
REAL_ONLY = {
    "beta": ((X, X), 0), "betaln": ((X, X), 1), "betainc": ((1.5, 2.5, X), 2),
    "betaincc": ((1.5, 2.5, X), 2), "betaincinv": ((1.5, 2.5, X), 2), "cbrt": ((X,), 0),
    "entr": ((X,), 0), "erfinv": ((X,), 0), "erfcinv": ((X,), 0), "exp2": ((X,), 0),
    "exp10": ((X,), 0), "expit": ((X,), 0), "log_expit": ((X,), 0), "logit": ((X,), 0),
    "gammainc": ((1.5, X), 1), "gammaincc": ((1.5, X), 1), "gammaincinv": ((1.5, X), 1),
    "gammaln": ((X,), 0), "multigammaln": ((X + 2, 2), 0), "i0": ((X,), 0),
    "i0e": ((X,), 0), "i1": ((X,), 0), "i1e": ((X,), 0), "j0": ((X,), 0), "j1": ((X,), 0),
    "y0": ((X,), 0), "y1": ((X,), 0), "k0": ((X,), 0), "k0e": ((X,), 0), "k1": ((X,), 0),
    "k1e": ((X,), 0), "yn": ((2, X), 1), "kl_div": ((X, X), 0), "rel_entr": ((X, X), 1),
    "ndtri": ((X,), 0), "poch": ((X, X), 0),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REAL_ONLY))
def test_real_only_function_refuses_a_complex_argument(name: str) -> None:
    """A function scipy defines for real arguments only raises scipy's TypeError on a
    tracked complex argument: no answer from its real part."""
    args, i = REAL_ONLY[name]
    f = getattr(sc, name)
    with pytest.raises(TypeError, match="not supported for the input types"):
        rg.grad(lambda z: np.sum(np.abs(f(*args[:i], z, *args[i + 1 :]))))(args[i])


def test_every_special_rule_is_classified_for_complex_arguments() -> None:
    """Each scipy.special primitive rulegrad registers is either checked on complex
    arguments here or listed as real only: a new rule must say which."""
    from rulegrad.core import PRIMITIVES
    from rulegrad.scipy.catalog import label

    names = {
        label(key).removeprefix("scipy.special.")
        for key, prim in PRIMITIVES.items()
        if not prim.zero and any(m.origin == "rulegrad.scipy.special" for m in prim.methods)
    }
    checked = {_base(name) for name in CASES} | set(REAL_ONLY)
    # rulegrad's own shape derivatives of the incomplete functions: reached only through
    # gammainc/betainc, which scipy defines for real arguments only
    checked |= {"gammainc_da", "betainc_da", "betainc_db"}
    assert names - checked == set(), "classify these for complex arguments"
