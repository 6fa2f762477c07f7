"""Reduction rules: axis (None, int, negative, tuple), keepdims, ddof, ties, zeros, NaNs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from ruletools import ORDERS, check_complex, family_tests

import rulegrad as rg

rng = np.random.default_rng(3)
A = rng.standard_normal((3, 4))
T = rng.standard_normal((2, 3, 4))
NANS = np.where(A > 1.0, np.nan, A)
ZERO = np.array([False, True, False, False])  # np.where(ZERO, 0, a) puts zeros in a column
Z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))

CASES = {
    "sum": (np.sum, A),
    "sum_axis": (lambda a: np.sum(a, axis=1), A),
    "sum_negative_axis": (lambda a: np.sum(a, axis=-2), T),
    "sum_axes_keepdims": (lambda a: np.sum(a, axis=(0, 2), keepdims=True), T),
    "sum_method": (lambda a: a.sum(0) * a.sum(), A),
    "sum_where": (lambda a: np.sum(a, axis=0, where=A > 0), A),
    "mean": (np.mean, A),
    "mean_axis_keepdims": (lambda a: np.mean(a, axis=-1, keepdims=True), T),
    "mean_where": (lambda a: np.mean(a, axis=1, where=A > -1), A),
    "prod": (lambda a: np.prod(a, axis=1), A),
    "prod_all": (np.prod, A),
    "prod_axes": (lambda a: np.prod(a, axis=(0, 2), keepdims=True), T),
    "prod_with_zero": (lambda a: np.prod(np.where(ZERO, 0, a), axis=1), A),
    "prod_two_zeros": (lambda a: np.prod(np.where(ZERO | ZERO[::-1], 0, a)), A),
    "var": (np.var, A),
    "var_axis_ddof": (lambda a: np.var(a, axis=0, ddof=1), A),
    "var_keepdims": (lambda a: np.var(a, axis=(1, 2), keepdims=True), T),
    "std": (lambda a: np.std(a, axis=1), A),
    "std_ddof": (lambda a: np.std(a, axis=-1, ddof=1, keepdims=True), T),
    "max": (np.max, A),
    "max_axis": (lambda a: np.max(a, axis=1), A),
    "max_method": (lambda a: a.max(axis=0, keepdims=True), A),
    "amax": (lambda a: np.amax(a, axis=(0, 1)), T),
    "min": (lambda a: np.min(a, axis=-1), T),
    "amin": (np.amin, A),
    "cumsum": (np.cumsum, A),
    "cumsum_axis": (lambda a: np.cumsum(a, axis=1), A),
    "cumsum_negative_axis": (lambda a: np.cumsum(a, axis=-3), T),
    "cumprod": (np.cumprod, A),
    "cumprod_axis": (lambda a: np.cumprod(a, axis=0), A),
    "cumprod_with_zero": (lambda a: np.cumprod(np.where(ZERO, 0, a), axis=1), A),
    "median": (np.median, A),
    "median_axis": (lambda a: np.median(a, axis=1), A),
    "median_even_keepdims": (lambda a: np.median(a, axis=-1, keepdims=True), T),
    "average": (lambda a: np.average(a, axis=1), A),
    "average_weights": (lambda a, w: np.average(a, axis=1, weights=w), A, rng.uniform(0.5, 1, 4)),
    "average_weights_full": (lambda a, w: np.average(a, weights=w), A, rng.uniform(0.5, 1, (3, 4))),
    "nansum": (lambda a: np.nansum(np.where(np.isnan(NANS), np.nan, a), axis=0), A),
    "nanmean": (lambda a: np.nanmean(np.where(np.isnan(NANS), np.nan, a), axis=1), A),
    "nanmax": (lambda a: np.nanmax(np.where(np.isnan(NANS), np.nan, a)), A),
    "nanvar": (lambda a: np.nanvar(np.where(np.isnan(NANS), np.nan, a), axis=0), A),
    "ptp": (lambda a: np.ptp(a, axis=0), A),
    "linspace": (lambda s, e: np.linspace(s, e, 5), A[0], A[1]),
    "linspace_axis_open": (lambda s: np.linspace(s, 3.0, 4, endpoint=False, axis=-1), A),
    "add_reduce": (np.add.reduce, A),
    "multiply_reduce": (lambda a: np.multiply.reduce(a, axis=1), A),
    "maximum_reduce": (lambda a: np.maximum.reduce(a, axis=None), A),
    "add_accumulate": (np.add.accumulate, A),
}


test_gradient, test_float32 = family_tests(CASES, rtol=5e-3)


def test_max_ties_share_equally() -> None:
    """Tied maxima split the gradient equally: np.max([1, 3, 3]) gives each 3 one half."""
    g = rg.grad(np.max)(np.array([1.0, 3.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5])
    g = rg.grad(lambda a: np.sum(np.min(a, axis=1)))(np.array([[2.0, 2.0, 2.0], [0.0, 1.0, 5.0]]))
    np.testing.assert_allclose(g, [[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])


def test_max_and_min_of_tracked_values_equal_numpys() -> None:
    """np.max/np.min of a tracked value reduce short rows down the transposed copy and skip
    numpy's Python wrapper: the values must be numpy's, NaN included, for every axis form."""
    rng = np.random.default_rng(3)
    short = rng.standard_normal((7, 10)).astype(np.float32)
    short[2, 4] = np.nan
    cases = [
        (short, {"axis": 1, "keepdims": True}),
        (short, {"axis": -1}),
        (short, {"axis": 0}),
        (short, {}),
        (rng.standard_normal((3, 40)), {"axis": 1}),
        (rng.standard_normal((2, 3, 4)), {"axis": (0, 2), "keepdims": True}),
        (rng.standard_normal((4, 5)), {"axis": 1, "initial": 10.0}),  # numpy's own path
    ]
    for a, kw in cases:
        for f in (np.max, np.min, np.amax, np.amin):
            out = rg.value(rg.diff(lambda a=a, f=f, kw=kw: f(rg.Param(a), **kw)))
            np.testing.assert_array_equal(out, f(a, **kw))
            assert out.dtype == a.dtype and np.shape(out) == np.shape(f(a, **kw))


def test_prod_gradient_with_zeros_is_exact() -> None:
    """prod's gradient at a zero is the product of the others, not 0/0."""
    g = rg.grad(np.prod)(np.array([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 6.0, 0.0])
    g = rg.grad(lambda a: np.sum(np.cumprod(a)))(np.array([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 2.0 + 6.0, 0.0])


def test_nan_reductions_skip_nans() -> None:
    """nansum and nanmean give NaN entries no gradient, and finite gradients elsewhere."""
    g = rg.grad(lambda a: np.nanmean(a))(np.array([1.0, np.nan, 3.0]))
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.5])
    g = rg.grad(lambda a: np.nansum(a))(np.array([np.nan, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


def test_keepdims_and_negative_axes_agree() -> None:
    """keepdims and a negative axis reach the same gradient as their plain forms."""
    g1 = rg.grad(lambda a: np.sum(np.var(a, axis=-1, keepdims=True) ** 2))(T)
    g2 = rg.grad(lambda a: np.sum(np.var(a, axis=2) ** 2))(T)
    np.testing.assert_allclose(g1, g2)


def test_median_gradient_goes_to_the_middle() -> None:
    """The median's gradient is 1 on the middle element, 1/2 on each of the middle two."""
    np.testing.assert_array_equal(rg.grad(np.median)(np.array([3.0, 1.0, 2.0])), [0, 0, 1])
    np.testing.assert_array_equal(
        rg.grad(np.median)(np.array([4.0, 1.0, 3.0, 2.0])), [0, 0, 0.5, 0.5]
    )


def _long_with_zeros() -> np.ndarray:
    """Rows of 40 (past cumprod's exact table) with zeros: none, one, at the start, three."""
    a = rng.uniform(0.8, 1.25, (4, 40)) * rng.choice([-1.0, 1.0], (4, 40))
    a[1, 7] = 0.0
    a[2, 0] = 0.0
    a[3, [5, 17, 30]] = 0.0
    return a


@ORDERS
def test_cumprod_of_long_axes_with_zeros(order: int) -> None:
    """cumprod's O(n) rule for long axes holding zeros matches central differences, first
    and second order, along either axis and flattened."""
    a = _long_with_zeros()
    rg.checkgrad(lambda a: np.cumprod(a, axis=1), a, order=order)
    rg.checkgrad(lambda a: np.cumprod(a.T, axis=0), a, order=order)
    rg.checkgrad(lambda a: np.cumprod(a[1:3]), a, order=order)


def test_cumprod_gradient_memory_is_linear() -> None:
    """cumprod's gradient at n = 4000 with a zero stays within a few copies of the input
    (the n x n table took 412 MiB)."""
    a = rng.uniform(0.99, 1.01, 4000)
    a[1234] = 0.0
    tracemalloc.start()
    try:
        g = rg.grad(lambda a: np.sum(np.cumprod(a)))(a)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * a.nbytes, f"peak {peak} bytes for a {a.nbytes}-byte input"
    assert g[1235] == 0.0
    np.testing.assert_allclose(g[1234], np.sum(np.cumprod(np.r_[a[:1234], 1.0, a[1235:]])[1234:]))


def test_nanmax_and_nanmin_of_all_nan_slices_are_nan() -> None:
    """An all-NaN slice gives NaN (and numpy's RuntimeWarning), not -inf/inf, and no gradient."""
    a = np.array([[np.nan, np.nan], [1.0, np.nan]])
    for f in (np.nanmax, np.nanmin):
        with pytest.warns(RuntimeWarning, match="All-NaN"):
            out = rg.value(rg.diff(lambda f=f: f(rg.Param(a), axis=1)))
        np.testing.assert_array_equal(out, [np.nan, 1.0])
        with pytest.warns(RuntimeWarning, match="All-NaN"):
            g = rg.grad(lambda a, f=f: np.nansum(f(a, axis=1)))(a)
        np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])


def test_average_with_1d_weights_needs_an_axis() -> None:
    """1-d weights on a 2-d input without axis raise numpy's TypeError, and a wrong length
    numpy's ValueError."""
    with pytest.raises(TypeError, match="Axis must be specified"):
        rg.grad(lambda a: np.average(a, weights=np.ones(4)))(A)
    with pytest.raises(ValueError, match="consistent"):
        rg.grad(lambda a: np.average(a, axis=0, weights=np.ones(4)))(A)


def test_var_and_std_with_a_given_mean() -> None:
    """numpy 2's mean= keyword: the value is numpy's and the gradient that of
    sum(|a - mean|^2) / (n - ddof), through the mean too."""
    m = np.mean(A, axis=1, keepdims=True) + 0.1
    for f in (np.var, np.std):
        out = rg.value(rg.diff(lambda f=f: f(rg.Param(A), axis=1, mean=m, ddof=1)))
        np.testing.assert_allclose(out, f(A, axis=1, mean=m, ddof=1))
        rg.checkgrad(lambda a, m, f=f: f(a, axis=1, mean=m), A, m, order=2)
        rg.checkgrad(lambda a, f=f: f(a, axis=1, mean=np.mean(a, axis=1, keepdims=True)), A)


def test_var_and_std_of_too_few_elements_give_nan_gradients() -> None:
    """var/std with n - ddof <= 0: numpy gives NaN (and a warning); the gradient is NaN too,
    not a ZeroDivisionError."""
    one, two = np.array([2.0]), np.array([1.0, 3.0])
    for f, x, ddof in ((np.var, one, 1), (np.std, one, 1), (np.var, two, 2), (np.std, two, 3)):
        with pytest.warns(RuntimeWarning):
            g = rg.grad(lambda x, f=f, d=ddof: f(x, ddof=d))(x)
        assert np.all(np.isnan(g)), (f, x, ddof, g)


def test_std_of_one_complex_element_keeps_its_dtype() -> None:
    """std of a single complex element (a constant): a zero gradient, complex like the input."""
    z = np.array([1.0 + 2.0j, 3.0 - 1.0j])
    for f in (lambda z: np.std(z[:1]), lambda z: np.std(z[1:], axis=0, keepdims=True)):
        g = rg.grad(lambda z, f=f: np.sum(f(z)))(z)
        assert g.dtype == np.complex128
        np.testing.assert_array_equal(g, 0.0)
    check_complex(lambda z: np.std(z, axis=0, ddof=1), Z)


OUT_CALLS = {
    "median": lambda a, buf: np.median(a, axis=0, out=buf),
    "ptp": lambda a, buf: np.ptp(a, axis=0, out=buf),
    "nansum": lambda a, buf: np.nansum(a, axis=0, out=buf),
    "nanmean": lambda a, buf: np.nanmean(a, axis=0, out=buf),
    "nanmax": lambda a, buf: np.nanmax(a, axis=0, out=buf),
    "nanvar": lambda a, buf: np.nanvar(a, axis=0, out=buf),
    "var_about": lambda a, buf: np.var(a, axis=0, out=buf, mean=np.zeros((1, 4))),
}


@pytest.mark.parametrize("call", OUT_CALLS.values(), ids=OUT_CALLS.keys())
def test_out_buffer_of_tracked_values_is_refused(call) -> None:
    """Reductions built from primitives refuse out= with tracked values (InPlaceError saying
    to drop it) instead of leaving the buffer unwritten."""
    buf = np.zeros(4)
    with pytest.raises(rg.InPlaceError, match="out="):
        rg.grad(lambda a: np.sum(call(a, buf)))(A)
    np.testing.assert_array_equal(buf, 0.0)


DTYPE_CALLS = {
    "nansum": lambda a, d: np.nansum(a, axis=0, dtype=d),
    "nanmean": lambda a, d: np.nanmean(a, axis=1, dtype=d),
    "nanprod": lambda a, d: np.nanprod(a, dtype=d),
    "nanvar": lambda a, d: np.nanvar(a, axis=0, dtype=d),
    "nanstd": lambda a, d: np.nanstd(a, dtype=d),
    "nancumsum": lambda a, d: np.nancumsum(a, axis=1, dtype=d),
    "add_reduce": lambda a, d: np.add.reduce(a, axis=1, dtype=d),
    "multiply_accumulate": lambda a, d: np.multiply.accumulate(a, dtype=d),
}


@pytest.mark.parametrize("call", DTYPE_CALLS.values(), ids=DTYPE_CALLS.keys())
def test_dtype_gives_the_result_dtype_and_the_gradient_keeps_the_input_dtype(call) -> None:
    """dtype= of the reductions built from primitives is honoured (numpy's value and dtype);
    the gradient stays in the input's dtype."""
    out = rg.value(rg.diff(lambda: call(rg.Param(NANS), np.float32)))
    want = call(NANS, np.float32)
    assert out.dtype == want.dtype == np.float32
    np.testing.assert_allclose(out, want, rtol=1e-6)
    g = rg.grad(lambda a: np.nansum(call(a, np.float32)))(NANS)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, rg.grad(lambda a: np.nansum(call(a, None)))(NANS), rtol=1e-5)
