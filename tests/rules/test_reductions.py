"""Reduction rules: axis (None, int, negative, tuple), keepdims, ddof, ties, zeros, NaNs."""

from __future__ import annotations

import numpy as np
from ruletools import family_tests

import rulegrad as rg

rng = np.random.default_rng(3)
A = rng.standard_normal((3, 4))
T = rng.standard_normal((2, 3, 4))
NANS = np.where(A > 1.0, np.nan, A)
ZERO = np.array([False, True, False, False])  # np.where(ZERO, 0, a) puts zeros in a column

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
