"""Hypothesis strategies: shapes, kinds, avoid points, keyword arguments, samplers, labels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulegrad as rg
from rulegrad.testing.strategies import (
    AVOID_MARGIN,
    KINDS,
    arrays,
    draw_case,
    inputs,
    kwarg_values,
    shapes,
)

fast = settings(max_examples=30, deadline=None, derandomize=True, database=None)


@fast
@given(shapes("broadcast", 3))
def test_broadcast_shapes_broadcast(s: tuple) -> None:
    """Three mutually broadcastable shapes of at most 4 axes, of at most 27 elements."""
    np.broadcast_shapes(*s)
    assert all(len(x) <= 4 and all(1 <= n <= 3 for n in x) for x in s)
    assert all(np.prod(x) <= 27 for x in s)


@fast
@given(shapes("matmul", 2))
def test_matmul_shapes_multiply(s: tuple) -> None:
    """matmul shapes are accepted by np.matmul (1-d operands and batches included)."""
    np.matmul(np.ones(s[0]), np.ones(s[1]))


def test_shape_modes_reach_the_edge_cases() -> None:
    """0-d, size-1 axes, 1-d matmul operands and batched matmul are all drawn."""
    from hypothesis import find

    find(shapes("broadcast", 2), lambda s: s[0] == () and len(s[1]) == 2)
    find(shapes("broadcast", 2), lambda s: 1 in s[0] and len(s[0]) == len(s[1]))
    find(shapes("matmul", 2), lambda s: len(s[0]) == 1)
    find(shapes("matmul", 2), lambda s: len(s[0]) == 3 and len(s[1]) == 2)


@fast
@given(shapes("square", 2), shapes("same", 3), shapes("scalar", 2))
def test_square_same_scalar(square: tuple, same: tuple, scalar: tuple) -> None:
    """square: (..., n, n) twice; same: one shape thrice; scalar: 0-d."""
    assert square[0] == square[1] and square[0][-1] == square[0][-2]
    assert len(set(same)) == 1 and len(same) == 3
    assert scalar == ((), ())


def test_unknown_shape_mode_is_an_error() -> None:
    """A typo in Domain.shapes says which modes exist."""
    with pytest.raises(ValueError, match="broadcast"):
        shapes("brodcast", 2)


@fast
@given(st.data())
def test_float_kinds_stay_in_their_domain(data: st.DataObject) -> None:
    """Each float kind's values lie in its interval, distinct, in the dtype asked for."""
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shape = data.draw(shapes("same", 1))[0]
    bounds = {"real": (-20.1, 20.1), "positive": (0.19, 30.1), "unit": (0.09, 0.91)}
    for kind, (lo, hi) in bounds.items():
        x = data.draw(arrays(kind, shape, dtype))
        assert x.shape == shape and x.dtype == dtype
        assert np.all((lo <= x) & (x <= hi)), (kind, x)
        assert len(np.unique(x)) == x.size
    x = data.draw(arrays("nonzero", shape))
    assert np.all(np.abs(x) >= 0.25)


@fast
@given(st.data())
def test_avoid_points_are_kept_away(data: st.DataObject) -> None:
    """Declared kinks are at least AVOID_MARGIN from every drawn value."""
    x = data.draw(arrays("real", (3, 3), avoid=(0.0, 1.0)))
    assert np.all(np.abs(x) >= AVOID_MARGIN - 1e-12)
    assert np.all(np.abs(x - 1.0) >= AVOID_MARGIN - 1e-12)


def test_arguments_never_tie() -> None:
    """Two real arguments drawn from the same integers still differ (their offsets differ)."""
    from hypothesis import find

    case = find(inputs(rg.Domain(args=("real", "real"), shapes="same")),
                lambda c: c.args[0].size >= 4)  # fmt: skip
    assert not np.any(case.args[0] == case.args[1])


@fast
@given(st.data())
def test_matrix_kinds(data: st.DataObject) -> None:
    """spd matrices are symmetric positive definite; invertible ones well conditioned."""
    s = data.draw(shapes("square", 1))[0]
    a = data.draw(arrays("spd", s))
    assert np.allclose(a, np.swapaxes(a, -1, -2)) and np.all(np.linalg.eigvalsh(a) > 0.4)
    b = data.draw(arrays("invertible", s))
    assert np.all(np.linalg.cond(b) < 10)


@fast
@given(st.data())
def test_non_array_kinds_fit_argument_zero(data: st.DataObject) -> None:
    """axis, axes, perm, shape, broadcast_shape and index are valid for argument 0."""
    x = np.zeros(data.draw(shapes("same", 1, min_dims=1))[0])
    draw = lambda kind: data.draw(KINDS[kind].strategy(x.shape, x.dtype))  # noqa: E731
    np.sum(x, axis=draw("axis"))
    np.sum(x, axis=draw("axes"))
    np.transpose(x, draw("perm"))
    np.reshape(x, draw("shape"))
    np.broadcast_to(x, draw("broadcast_shape"))
    x[draw("index")]
    assert x.dtype.kind == "f" and data.draw(arrays("int", (2,))).dtype.kind == "i"
    assert data.draw(arrays("bool", (2,))).dtype == bool


@fast
@given(st.data())
def test_axis_keyword_is_none_or_valid(data: st.DataObject) -> None:
    """kwargs "axis" draws None or a valid axis; literal values are sampled as given."""
    shape = data.draw(shapes("same", 1))[0]
    axis = data.draw(kwarg_values(("axis",), shape))
    assert axis is None or -len(shape) <= axis < len(shape)
    assert data.draw(kwarg_values((False, True), shape)) in (False, True)


def test_domain_draws_every_argument_labelled() -> None:
    """draw_case labels every draw and returns arguments matching the kinds."""
    labels = []

    def draw(strategy: st.SearchStrategy, label: str) -> object:
        labels.append(label)
        return strategy.example()

    domain = rg.Domain(args=("bool", "real", "positive"), kwargs={"axis": ("axis",)})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .example() outside a test warns
        case = draw_case(draw, domain)
    assert labels == ["dtype", "seed", "shapes", "x0 (bool)", "x1 (real)", "x2 (positive)", "axis="]
    assert case.args[0].dtype == bool and case.args[1].dtype == case.dtype
    np.broadcast_shapes(*(a.shape for a in case.args))


@fast
@given(st.data())
def test_custom_sampler_gets_a_seeded_generator(data: st.DataObject) -> None:
    """Domain.sample(rng) supplies the arguments; float arrays take the drawn dtype."""
    domain = rg.Domain(sample=lambda rng: ((rng.standard_normal((2, 3)), 4), {"k": 1}))
    case = data.draw(inputs(domain))
    assert case.args[0].dtype == case.dtype and case.args[1] == 4 and case.kwargs == {"k": 1}
    assert case.kinds == ("real", None)


def test_unknown_kind_is_an_error() -> None:
    """A typo in Domain.args lists the known kinds."""
    from hypothesis import find

    with pytest.raises(ValueError, match="positive"):
        find(inputs(rg.Domain(args=("postive",))), lambda c: True)


def test_draws_reach_4d_large_tiny_and_near_kinks() -> None:
    """Ranks reach 4; magnitudes span decades; values come within 0.01 of a declared kink
    on either side but never onto it."""
    from hypothesis import find

    find(shapes("broadcast", 2), lambda s: len(s[0]) == 4)
    find(arrays("real", (3,)), lambda x: np.max(np.abs(x)) > 20)
    find(arrays("real", (3,)), lambda x: np.max(np.abs(x)) < 0.02)
    find(arrays("positive", (3,)), lambda x: np.max(x) > 20)
    for side in (1, -1):
        x = find(
            arrays("real", (2,), avoid=(1.0,)),
            lambda x, side=side: np.all(abs(x - 1 - side * 0.005) < 0.005),
        )
        assert np.all(np.abs(x - 1.0) >= AVOID_MARGIN)


def test_selection_domains_draw_two_way_ties() -> None:
    """Domain(ties=True) draws cases where maximum's arguments tie, and where each slice's
    two largest elements tie (exactly two: where central differences split them evenly)."""
    from hypothesis import find

    pair = find(inputs(rg.Domain(args=("real", "real"), ties=True)),
                lambda c: c.tied and c.args[0].size >= 2)  # fmt: skip
    a, b = np.broadcast_arrays(*pair.args)
    assert np.any(a == b)
    domain = rg.Domain(args=("real",), kwargs={"axis": ("axis",)}, ties=True)
    case = find(inputs(domain), lambda c: c.tied and c.kwargs["axis"] == 1
                and c.args[0].ndim == 2 and c.args[0].shape[1] == 3)  # fmt: skip
    rows = np.sort(case.args[0], axis=1)
    top = rows[:, 2] == rows[:, 1]
    assert np.all(top != (rows[:, 0] == rows[:, 1]))  # one pair per row, never three
