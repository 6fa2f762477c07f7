"""rg.jit: a step recorded once and replayed gives what rg.diff gives, call after call.

Each test compares the replayed values and gradients with ``rg.diff`` on the same inputs,
over several calls (the first records, the later ones replay), and checks which
signatures were replayed and which fell back to ``diff`` (``Jit.programs``).
"""

from __future__ import annotations

import collections
import importlib
import warnings

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import nn


def _grads(J, ps):
    return [rg.grad(J, p) for p in ps]


def _same(step, f, batches, ps, rtol=1e-6):
    """step(*batch) and rg.diff(f, *batch) agree on every batch, values and gradients."""
    for batch in batches:
        J1, J2 = step(*batch), rg.diff(f, *batch)
        np.testing.assert_allclose(rg.value(J1), rg.value(J2), rtol=rtol)
        for g1, g2 in zip(_grads(J1, ps), _grads(J2, ps)):
            assert (g1 is None) == (g2 is None)
            if g1 is not None:
                assert g1.dtype == g2.dtype and g1.shape == g2.shape
                np.testing.assert_allclose(g1, g2, rtol=rtol, atol=1e-7)


def _replayed(step) -> int:
    return sum(p is not None for p in step.programs.values())


@pytest.fixture
def mlp():
    rng = np.random.default_rng(0)
    ps = [
        rg.Param(rng.standard_normal((5, 4)).astype(np.float32)),
        rg.Param(np.zeros(4, np.float32)),
        rg.Param(rng.standard_normal((4, 3)).astype(np.float32)),
        rg.Param(np.zeros(3, np.float32)),
    ]

    def loss(x, labels):
        h = nn.relu(x @ ps[0] + ps[1])
        return nn.nll(h @ ps[2] + ps[3], labels)

    batches = [
        (rng.standard_normal((6, 5)).astype(np.float32), rng.integers(0, 3, 6)) for _ in range(4)
    ]
    return loss, ps, batches


def test_replay_matches_diff_over_batches_and_training(mlp) -> None:
    loss, ps, batches = mlp
    step = rg.jit(loss)
    _same(step, loss, batches, ps)
    assert _replayed(step) == 1 and len(step.programs) == 1
    for x, labels in batches * 3:  # train: replays read the Params' updated values
        J = step(x, labels)
        for p in ps:
            p.value -= 0.1 * rg.grad(J, p)
    _same(step, loss, batches, ps)
    assert isinstance(rg.value(step(*batches[0])), np.float32)
    assert rg.grad(step(*batches[0]), ps[0]).dtype == np.float32


def test_each_signature_is_recorded_once(mlp) -> None:
    loss, ps, batches = mlp
    step = rg.jit(loss)
    rng = np.random.default_rng(1)
    small = (rng.standard_normal((2, 5)).astype(np.float32), np.array([0, 2]))
    _same(step, loss, [batches[0], small, batches[1], small], ps)
    assert _replayed(step) == 2
    ps[0].value = ps[0].value[:, :4].astype(np.float64)  # another dtype: recorded again
    _same(step, loss, batches[:2], ps)
    ps[0].value.shape = (4, 5)  # the same array, reshaped in place: checked, recorded again

    def flat(x, labels):  # code that depends on the weights' shape
        w = ps[0] if ps[0].shape[0] == 5 else ps[0].T
        return nn.nll(nn.relu(x @ w + ps[1]) @ ps[2] + ps[3], labels)

    step = rg.jit(flat)
    _same(step, flat, batches[:1], ps)
    ps[0].value.shape = (5, 4)
    _same(step, flat, batches[:2], ps)
    assert "recorded signature" in repr(step)


def test_computation_on_array_arguments_is_replayed() -> None:
    """One-hot targets built inside the step from the labels change with each batch."""
    w = rg.Param(np.arange(6.0).reshape(2, 3) / 10)

    def loss(x, labels):
        onehot = labels[:, None] == np.arange(3)
        return -np.sum(onehot * np.log(nn.softmax(x @ w)))

    def indexed(x, labels):  # a plain array indexed by a traced one: numpy reads its data
        return -np.sum(np.eye(3)[labels] * np.log(nn.softmax(x @ w)))

    x = np.ones((2, 2))
    batches = [(x, np.array([0, 1])), (x, np.array([2, 2])), (x, np.array([1, 0]))]
    step, fallback = rg.jit(loss), rg.jit(indexed)
    _same(step, loss, batches, [w])
    _same(fallback, indexed, batches, [w])
    assert _replayed(step) == 1 and list(fallback.programs.values()) == [None]


def test_zero_gradient_calls_are_replayed() -> None:
    """Masks and argmax computed from tracked values are recomputed on every replay."""
    w = rg.Param(np.array([0.5, -1.0, 2.0]))

    def loss(x):
        mask = (x * w > 0).astype(np.float64)
        top = np.argmax(x * w)
        return np.sum(mask * w * x) + (x * w)[top] + np.sum(np.zeros_like(w) + w)

    step = rg.jit(loss)
    batches = [(np.array([1.0, 1.0, 1.0]),), (np.array([-1.0, -2.0, 1.0]),), (np.ones(3) * -1,)]
    _same(step, loss, batches, [w])
    assert _replayed(step) == 1


def test_control_flow_on_traced_values_runs_eagerly() -> None:
    """A branch on the data cannot be replayed: that signature runs with diff, correctly."""
    w = rg.Param(np.array([1.0, -2.0]))

    def loss(x):
        s = np.sum(w * x)
        if s > 0:
            return s**2
        return -s

    step = rg.jit(loss)
    _same(step, loss, [(np.array([1.0, 0.0]),), (np.array([0.0, 1.0]),)], [w])
    assert list(step.programs.values()) == [None]
    assert "1 run with diff" in repr(step)


@pytest.mark.parametrize(
    "read",
    [
        lambda s: float(s),
        lambda s: s.item(),
        lambda s: rg.value(s),
        lambda s: s.tolist(),
        lambda s: bool(np.allclose(s, 0)),
    ],
    ids=["float", "item", "value", "tolist", "allclose"],
)
def test_reading_plain_data_runs_eagerly(read) -> None:
    w = rg.Param(np.array([1.0, 2.0]))

    def loss(x):
        s = np.sum(w * x)
        try:  # a model's own handler does not hide the read from jit
            c = read(s)
        except Exception:  # pragma: no cover (would be the bug)
            c = 0.0
        return s * c

    step = rg.jit(loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rg.ConstantWarning)
        _same(step, loss, [(np.array([1.0, 1.0]),), (np.array([3.0, -1.0]),)], [w])
    assert list(step.programs.values()) == [None]


def test_a_swallowed_escape_still_runs_eagerly() -> None:
    """Even a bare except around the read cannot make jit replay a data-dependent step."""
    w = rg.Param(np.array([1.0, 2.0]))

    def loss(x):
        s = np.sum(w * x)
        try:
            scale = 2.0 if float(s) > 0 else -1.0
        except BaseException:  # noqa: BLE001 (the point of the test)
            scale = 1.0
        return s * scale

    step = rg.jit(loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rg.ConstantWarning)
        _same(step, loss, [(np.array([1.0, 1.0]),), (np.array([-3.0, 1.0]),)], [w])
    assert list(step.programs.values()) == [None]


def test_shape_queries_do_not_stop_replay() -> None:
    w = rg.Param(np.ones((3, 2)))

    def loss(x):
        n, k = np.shape(x)
        flat = np.reshape(x @ w, (x.shape[0], -1))
        return np.sum(flat) / (n * np.size(w) * np.ndim(x) * len(x) * k)

    step = rg.jit(loss)
    _same(step, loss, [(np.ones((4, 3)),), (np.arange(12.0).reshape(4, 3),)], [w])
    assert _replayed(step) == 1


def test_results_that_are_not_real_scalars_run_eagerly() -> None:
    w = rg.Param(np.array([1.0, 2.0]))
    step = rg.jit(lambda x: w * x)
    J = step(np.array([3.0, 4.0]))
    np.testing.assert_allclose(rg.grad(J, w, np.ones(2)), [3.0, 4.0])
    with pytest.raises(rg.NonScalarError):
        rg.grad(step(np.array([3.0, 4.0])), w)
    assert list(step.programs.values()) == [None]


def test_unused_params_and_param_values_read_as_constants() -> None:
    w, unused = rg.Param(np.array([1.0, 2.0])), rg.Param(np.array(3.0))
    c = rg.Param(np.array([10.0, 20.0]))
    step = rg.jit(lambda x: np.sum(w * x))
    J = step(np.ones(2))
    assert rg.grad(J, unused) is None and rg.params(J) == [w]

    def loss(x):
        return np.sum(w * x * c.value)  # c read as plain data: no gradient, current value

    step = rg.jit(loss)
    _same(step, loss, [(np.ones(2),)], [w, c])
    c.value = np.array([-1.0, 1.0])  # rebound, not updated in place: seen on the next call
    np.testing.assert_allclose(rg.grad(step(np.ones(2)), w), [-1.0, 1.0])
    assert list(step.programs.values()) == [None]


def test_containers_numbers_and_keywords_are_arguments() -> None:
    w = rg.Param(np.array([1.0, 2.0]))

    def loss(batch, scale, *, power=2):
        return scale * np.sum((w * batch["x"] - batch["y"][0]) ** power)

    step = rg.jit(loss)
    b1 = {"x": np.array([1.0, 2.0]), "y": [np.array([0.5, 0.5])]}
    b2 = {"x": np.array([3.0, 1.0]), "y": [np.array([1.0, -1.0])]}
    for batch, scale, power in [(b1, 2.0, 2), (b2, 2.0, 2), (b2, 0.5, 2), (b1, 2.0, 3)]:
        J1 = step(batch, scale, power=power)
        J2 = rg.diff(loss, batch, scale, power=power)
        np.testing.assert_allclose(rg.grad(J1, w), rg.grad(J2, w))
    assert _replayed(step) == 3  # scale and power are part of the signature

    def f(x, options=None, **kwargs):  # the same values positionally or by keyword
        return np.sum(w * x) * (2.0 if options is None else 3.0)

    step = rg.jit(f)
    x = np.ones(2)
    assert rg.value(step(x, {"k": 1.0})) == 9.0 and rg.value(step(x, k=1.0)) == 6.0

    batch = collections.OrderedDict(x=np.ones(2), y=[np.zeros(2)])  # a dict subclass: diff
    step = rg.jit(loss)
    for x in (np.ones(2), np.array([2.0, -1.0])):
        batch["x"] = x  # the same object with new arrays in it
        np.testing.assert_allclose(
            rg.grad(step(batch, 1.0), w), rg.grad(rg.diff(loss, batch, 1.0), w)
        )
    assert list(step.programs.values()) == []  # never recorded: it runs with diff


def test_tuple_outputs_replay() -> None:
    """A primitive with several outputs (the fused LSTM cell) replays, both outputs used."""
    rng = np.random.default_rng(2)
    h0, x0 = 3, 2
    w = rg.Param(rng.standard_normal((x0 + h0, 4 * h0)) * 0.3)
    b = rg.Param(np.zeros(4 * h0))

    def loss(xs):
        hs, cs, _ = nn.lstm(w, b, xs, np.zeros((2, h0)), np.zeros((2, h0)))
        return np.sum(hs * hs) + np.sum(cs[-1])

    step = rg.jit(loss)
    batches = [(rng.standard_normal((4, 2, x0)),) for _ in range(3)]
    _same(step, loss, batches, [w, b])
    assert _replayed(step) == 1


def test_dropout_draws_a_new_mask_on_each_replay() -> None:
    w = rg.Param(np.ones(200))
    step = rg.jit(lambda x: np.sum(nn.dropout(w * x, 0.5)))
    grads = [rg.grad(step(np.ones(200)), w) for _ in range(3)]
    assert _replayed(step) == 1
    for g in grads:
        assert set(np.unique(g)) <= {0.0, 2.0} and 50 < np.count_nonzero(g) < 150
    assert not np.array_equal(grads[1], grads[2])


def test_inside_another_diff_it_is_diff() -> None:
    """Second order: a jitted function called while a diff records is recorded there."""
    w = rg.Param(np.array([0.3, -0.4]))
    step = rg.jit(lambda x: np.sum(np.sin(w * x)))
    x = np.array([1.0, 2.0])
    step(x)  # recorded and replayed once outside
    outer = rg.diff(lambda: np.sum(rg.grad(step(x), w) ** 2))
    g = rg.grad(outer, w)  # d/dw sum((x cos(wx))^2) = -2 x^3 cos sin
    np.testing.assert_allclose(g, -2 * x**3 * np.cos(w.value * x) * np.sin(w.value * x))


def test_errors_are_the_errors_of_diff() -> None:
    w = rg.Param(np.ones((2, 3)))
    step = rg.jit(lambda x: np.sum(x @ w))
    with pytest.raises(ValueError, match="matmul"):
        step(np.ones((2, 4)))
    with pytest.raises(rg.OutputError):
        rg.jit(lambda x: None)(np.ones(2))
    assert rg.value(step(np.ones((1, 2)))) == 6.0


def test_a_vjp_with_the_wrong_count_is_a_rule_error(scratch_registry) -> None:
    """A vjp returning one gradient for two arguments is named, in the replay as in diff."""

    @rg.primitive(vjp=lambda dy, y, a, b: (dy * b,))
    def scaled(a, b):
        return a * b

    w = rg.Param(np.ones(3))
    with pytest.raises(rg.RuleError, match="returned 1 gradients for 2 arguments"):
        rg.grad(rg.diff(lambda x: np.sum(scaled(w, x)), np.ones(3)), w)
    step = rg.jit(lambda x: np.sum(scaled(w, x)))
    for _ in range(2):  # the call that records, then a replay
        with pytest.raises(rg.RuleError, match="returned 1 gradients for 2 arguments"):
            step(np.ones(3))


def test_arrays_are_writable_after_replay() -> None:
    w = rg.Param(np.ones(3))
    x = np.ones(3)
    step = rg.jit(lambda x: np.sum(w * x))
    for _ in range(2):
        step(x)
        x[0] = 2.0  # neither tracing nor replay leaves write protection behind
        w.value[0] = 2.0


def test_too_many_signatures_warn_and_run_eagerly(monkeypatch) -> None:
    monkeypatch.setattr(importlib.import_module("rulegrad.jit"), "MAX_SIGNATURES", 2)
    w = rg.Param(np.ones(2))
    step = rg.jit(lambda x, lr: lr * np.sum(w * x))
    step(np.ones(2), 0.1)
    step(np.ones(2), 0.2)
    with pytest.warns(RuntimeWarning, match="signatures"):
        J = step(np.ones(2), 0.3)
    np.testing.assert_allclose(rg.grad(J, w), [0.3, 0.3])
    assert len(step.programs) == 2


def test_stop_gradient_is_replayed() -> None:
    """rg.stop_gradient holds a value constant and, unlike rg.value, keeps a step replayable."""
    w = rg.Param(np.array([[1.0, 3.0], [2.0, -1.0]]))

    def loss(x):
        s = x @ w
        s = s - rg.stop_gradient(np.max(s, axis=1, keepdims=True))
        return np.sum(np.log(np.sum(np.exp(s), axis=1)) - s[:, 0])

    step = rg.jit(loss)
    _same(step, loss, [(np.eye(2),), (np.array([[0.5, -1.0], [3.0, 1.0]]),)], [w])
    assert _replayed(step) == 1
    x = rg.Param(np.array([1.0, 2.0]))
    J = rg.diff(lambda: np.sum(x * rg.stop_gradient(x)))
    np.testing.assert_allclose(rg.grad(J, x), [1.0, 2.0])  # not 2x: one factor is constant


def test_broadcast_gradients_are_reduced_and_cast_on_every_replay() -> None:
    """A float32 row broadcast against float64 data: summed over the rows, float32 again."""
    b = rg.Param(np.array([[0.5, -0.5, 1.0]], np.float32))
    s = rg.Param(np.float32(2.0))

    def loss(x):
        return np.sum(np.tanh(x * b + s))

    step = rg.jit(loss)
    rng = np.random.default_rng(3)
    _same(step, loss, [(rng.standard_normal((4, 1, 3)),) for _ in range(3)], [b, s])
    assert rg.grad(step(np.ones((4, 1, 3))), b).dtype == np.float32


def test_profile_times_the_replayed_methods_and_rules() -> None:
    w = rg.Param(np.ones((3, 2)))
    step = rg.jit(lambda x: np.sum(np.tanh(x @ w)))
    x = np.ones((4, 3))
    step(x)  # recorded outside the profile
    with rg.profile() as p:
        for _ in range(5):
            rg.grad(step(x), w)
    assert p.stats["np.tanh"].calls == 5 and p.stats["np.tanh"].rule_calls == 5
    assert p.stats["np.matmul"].rule_calls == 5  # only w's rule: x needs no gradient
    assert p.engine["jit replay"].calls == 5 and "(engine) jit replay" in p.table()
    assert p.engine["record"].calls == 0  # nothing was recorded: the step was replayed


def test_arrays_passed_by_keyword_are_inputs_too() -> None:
    w = rg.Param(np.array([1.0, -1.0]))

    def loss(x, *, target):
        return np.sum((w * x - target) ** 2)

    step = rg.jit(loss)
    for x, t in [(np.ones(2), np.zeros(2)), (np.array([2.0, 3.0]), np.array([1.0, 1.0]))]:
        np.testing.assert_allclose(
            rg.grad(step(x, target=t), w), rg.grad(rg.diff(loss, x, target=t), w)
        )
    assert _replayed(step) == 1


def test_each_replayed_result_keeps_its_own_gradients() -> None:
    """A replay returns a new finished Result each call: an earlier one keeps its value and
    gradients, takes the output gradient it ran with (and refuses another, as diff's do),
    and prints like a finished diff result."""
    w = rg.Param(np.array([1.0, 2.0]))
    step = rg.jit(lambda x: np.sum(w * w * x))
    J0 = step(np.array([1.0, 1.0]))  # recorded
    J1 = step(np.array([1.0, 1.0]))  # replayed
    J2 = step(np.array([3.0, 0.0]))  # replayed on another batch
    assert _replayed(step) == 1
    np.testing.assert_allclose(rg.grad(J1, w), [2.0, 4.0])
    np.testing.assert_allclose(rg.grad(J2, w), [6.0, 0.0])
    assert float(J1) == 5.0 and float(J2) == 3.0
    np.testing.assert_allclose(rg.grad(J1, w, 1.0), rg.grad(J0, w))
    with pytest.raises(rg.OutputError, match="another output gradient"):
        rg.grad(J1, w, 2.0)
    assert "the backward pass has run" in str(J2)
    assert rg.params(J2) == [w]


def test_gradients_with_many_sources_are_summed_right() -> None:
    """A Param used at every step of a loop, and values whose gradient a rule hands on
    unchanged, are summed in place by the replay (from the third source on): still diff's
    gradients on every batch, and the Params' arrays are left alone."""
    rng = np.random.default_rng(3)
    w = rg.Param(rng.standard_normal((3, 3)))
    v = rg.Param(rng.standard_normal(3))

    def loss(x):
        h, total = x, 0.0
        for _ in range(5):
            h = np.tanh(h @ w + v) + h  # add hands h's gradient on unchanged
            total = total + np.sum(h * h)
        u, k = x @ w, x * v
        total = total + np.sum(u * u) + np.sum(u * 3.0)
        s = u + k  # u's first gradient (the walk is backwards) is k's very array
        return total + np.sum(s * s) + np.sum(w * w)

    step = rg.jit(loss)
    before = w.value.copy(), v.value.copy()
    _same(step, loss, [(rng.standard_normal((4, 3)),) for _ in range(4)], [w, v])
    assert _replayed(step) == 1
    assert "+= t" in next(iter(step.programs.values())).source
    np.testing.assert_array_equal(w.value, before[0])
    np.testing.assert_array_equal(v.value, before[1])


_SIZES = {
    "len": lambda x: len(x[x > 0]),
    "shape": lambda x: x[x > 0].shape[0],
    "size": lambda x: (x * 2.0)[x > 0].size,
    "np.shape": lambda x: np.shape(x[x > 0])[0],
    "np.size": lambda x: np.size(x[x > 0]),
    "np.size axis": lambda x: np.size(x[x > 0], 0),
    "flatnonzero": lambda x: len(np.flatnonzero(x > 0)),
    "nonzero": lambda x: len(np.nonzero(x > 0)[0]),
    "argwhere": lambda x: len(np.argwhere(x > 0)),
    "iteration": lambda x: sum(1 for _ in x[x > 0]),
}


@pytest.mark.parametrize("size", list(_SIZES.values()), ids=list(_SIZES))
def test_sizes_that_depend_on_the_data_are_not_frozen(size) -> None:
    """A step reading the size of a value shaped by the data (x[x > 0]) gives diff's result
    on batches with another count: a replay checks the sizes its recording read."""
    w = rg.Param(np.array(2.0))

    def loss(x):
        return w * np.sum(x[x > 0]) / size(x)

    step = rg.jit(loss)
    two, three = np.array([1.0, 2, -1, -2]), np.array([1.0, 2, 3, -2])
    other_two = np.array([-5.0, 0.5, -1, 4])
    _same(step, loss, [(two,), (other_two,), (three,), (two,), (three,)], [w])


def test_a_size_read_that_stays_the_same_is_replayed() -> None:
    """The check costs nothing in replays: a step whose data-shaped sizes do not change is
    replayed; the first change runs diff for that signature from then on."""
    w = rg.Param(np.array([1.0, 2.0, 3.0]))

    def loss(x):
        picked = (w * x)[x > 0]
        return np.sum(picked) / len(picked) + np.sum(picked.reshape(picked.shape[0], 1))

    step = rg.jit(loss)
    _same(step, loss, [(np.array([1.0, -1.0, 2.0]),), (np.array([-3.0, 2.0, 1.0]),)], [w])
    assert _replayed(step) == 1
    assert "a size the recording read" in next(iter(step.programs.values())).source
    _same(step, loss, [(np.array([1.0, 1.0, 2.0]),), (np.array([1.0, -1.0, 2.0]),)], [w])
    assert list(step.programs.values()) == [None]


def test_the_shapes_of_inputs_and_params_are_not_checked_again() -> None:
    """Sizes the signature fixes (an input's, a Param's) need no check in the replay."""
    w = rg.Param(np.ones((3, 2)))

    def loss(x):
        h = np.tanh(x @ w)
        return np.sum(h) / (len(x) * w.shape[0] * np.size(w) * np.ndim(x) * x.size)

    step = rg.jit(loss)
    _same(step, loss, [(np.ones((4, 3)),), (np.arange(12.0).reshape(4, 3),)], [w])
    assert "a size the recording read" not in next(iter(step.programs.values())).source


@pytest.mark.parametrize(
    "zero", [0.0, np.float64(0.0), np.float32(0.0), 0j], ids=["float", "f64", "f32", "complex"]
)
def test_signed_zeros_are_two_signatures(zero) -> None:
    """0.0 == -0.0, yet arctan2(0.0, -1) is pi and arctan2(-0.0, -1) is -pi: numbers are
    keyed by their bits, so each zero gets its own recording and diff's result."""
    w = rg.Param(np.array([1.0, 2.0]))

    def loss(x, s):
        return np.sum(w * x) * np.arctan2(np.real(s), -1.0)

    step = rg.jit(loss)
    x = np.ones(2)
    for s in (zero, -zero, zero, -zero):
        J1, J2 = step(x, s), rg.diff(loss, x, s)
        assert rg.value(J1) == rg.value(J2)
        np.testing.assert_allclose(rg.value(J1), np.copysign(3 * np.pi, np.real(s)), rtol=1e-6)
        np.testing.assert_array_equal(rg.grad(J1, w), rg.grad(J2, w))
    assert _replayed(step) == 2


def test_nan_arguments_share_one_signature() -> None:
    """Every NaN (a new float object each time, never equal to itself) is one signature."""
    w = rg.Param(np.array([1.0, 2.0]))
    step = rg.jit(lambda x, s: np.sum(w * x) + np.nan_to_num(s))
    for s in (float("nan"), float("inf") - float("inf"), np.float64("nan"), np.float64("nan")):
        step(np.ones(2), s)
    assert len(step.programs) == 2  # a float's and a float64's


@pytest.mark.parametrize("how", ["keyword", "dict", "list in dict", "namedtuple"])
def test_arrays_by_keyword_or_in_containers_are_keyed_by_dtype(how) -> None:
    """The same shapes in float32 and float64, by keyword or inside a container, are two
    signatures, each replayed with diff's values, gradients and dtypes."""
    w = rg.Param(np.array([1.0, -2.0], np.float32))
    Pair = collections.namedtuple("Pair", "x y")

    def loss(*args, **kwargs):
        x = {
            "keyword": lambda: kwargs["x"],
            "dict": lambda: args[0]["x"],
            "list in dict": lambda: args[0]["xs"][0],
            "namedtuple": lambda: args[0].x,
        }[how]()
        return np.sum((w * x) ** 2)

    def call(f, x):
        if how == "keyword":
            return f(x=x)
        if how == "namedtuple":
            return f(Pair(x, 1.0))
        return f({"x": x} if how == "dict" else {"xs": [x]})

    step = rg.jit(loss)
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64, np.float32, np.float64):
        x = rng.standard_normal(2).astype(dtype)
        J1, J2 = call(step, x), call(lambda *a, **k: rg.diff(loss, *a, **k), x)
        assert rg.value(J1).dtype == rg.value(J2).dtype == np.result_type(np.float32, dtype)
        np.testing.assert_allclose(rg.value(J1), rg.value(J2), rtol=1e-6)
        g1, g2 = rg.grad(J1, w), rg.grad(J2, w)
        assert g1.dtype == g2.dtype == np.float32
        np.testing.assert_allclose(g1, g2, rtol=1e-6)
    assert _replayed(step) == 2


def test_a_recording_that_raises_is_tried_again_a_few_times(monkeypatch) -> None:
    """An exception while recording runs that call with diff; later calls record again, up
    to MAX_TRIES recordings, then the signature runs with diff for good."""
    w = rg.Param(np.array([1.0, 2.0]))
    calls = []

    def flaky(x):
        calls.append(isinstance(x, rg.Result))
        if calls == [True]:  # the first recording fails (a library hiccup, say)
            raise RuntimeError("failed once")
        return np.sum(w * x)

    step = rg.jit(flaky)
    np.testing.assert_array_equal(rg.grad(step(np.ones(2)), w), [1.0, 1.0])
    assert calls == [True, False] and step.programs == {}  # run with diff, not pinned
    np.testing.assert_array_equal(rg.grad(step(np.ones(2)), w), [1.0, 1.0])
    assert _replayed(step) == 1  # recorded on the second call, replayed from then on
    calls.clear()
    np.testing.assert_array_equal(rg.grad(step(np.array([2.0, 3.0])), w), [2.0, 3.0])
    assert calls == []

    def opaque(x):  # np.asarray refuses a traced input, not diff's plain array
        calls.append(None)
        return np.sum(w * np.asarray(x))

    monkeypatch.setattr(importlib.import_module("rulegrad.jit"), "MAX_TRIES", 2)
    step = rg.jit(opaque)
    calls.clear()
    for _ in range(4):
        np.testing.assert_array_equal(rg.grad(step(np.ones(2)), w), [1.0, 1.0])
    assert len(calls) == 2 * 2 + 2  # two recordings (each then diff), then diff alone
    assert list(step.programs.values()) == [None]


def test_writing_into_a_gradient_changes_no_other_step() -> None:
    """A replay computes each step's gradients anew: writing into one step's gradient (or
    into one that is the shared output gradient, s's here) leaves later steps' alone."""
    a, s = rg.Param(np.array([1.0, 2.0])), rg.Param(np.array(0.5))
    step = rg.jit(lambda x: np.sum((a + a) * x) + s)
    x = np.array([1.0, -1.0])
    J1, J2 = step(x), step(x)  # recorded, replayed
    for J in (J1, J2):
        ga, gs = rg.grad(J, a), rg.grad(J, s)
        ga *= 0.5
        gs *= 3.0
    for J in (step(x), step(x)):
        np.testing.assert_array_equal(rg.grad(J, a), 2 * x)
        assert rg.grad(J, s) == 1.0


@pytest.mark.parametrize("f", [lambda w: w, lambda w: +w], ids=["w", "+w"])
def test_a_param_returned_as_it_is_gives_what_diff_gives(f) -> None:
    """jit(lambda: w) returns what diff(lambda: w) returns, value and gradient."""
    w = rg.Param(np.array(3.0))
    step = rg.jit(lambda: f(w))
    for _ in range(2):
        J1, J2 = step(), rg.diff(lambda: f(w))
        assert rg.value(J1) == rg.value(J2) == 3.0
        g1, g2 = rg.grad(J1, w), rg.grad(J2, w)
        assert (g1 is None and g2 is None) or np.array_equal(g1, g2)


def test_a_tracked_value_where_a_rule_is_missing_is_diffs_error(scratch_registry: None) -> None:
    """Under rg.jit, as under diff, a tracked float past the end of a primitive's rules is a
    RuleError, not a replay that silently gives it no gradient (2.0 instead of 4.0)."""

    @rg.primitive(lambda dy, y, a, b: dy * b)
    def mul_one_rule(a, b):
        return a * b

    w = rg.Param(2.0)
    step = rg.jit(lambda: mul_one_rule(w, w))
    for _ in range(2):
        with pytest.raises(rg.RuleError, match=r"argument 1"):
            rg.grad(step(), w)


class _RecordingHook:
    """A gradient hook (`GRAD_HOOK`) noting what a replay hands it, and when."""

    def __init__(self) -> None:
        self.events: list = []

    def begin_replay(self, params: tuple) -> _RecordingHook:
        self.params = params
        self.events.append("begin")
        return self

    def give(self, k: int, g: np.ndarray) -> None:
        self.events.append((self.params[k], np.array(g)))  # (a copy: as it is when given)

    def close(self, tape: object) -> None:
        self.events.append(("close", tape))


def test_a_replay_hands_each_gradient_to_the_hook_once_it_is_finished() -> None:
    """In a context with a gradient hook, a replay hands each Param's gradient over once,
    already complete (a Param read twice: after its second use's rule), the last layer's
    first; a Param that is the result itself at the end; one that gets no gradient never;
    then it closes with the result's tape. Without a hook it calls nothing."""
    from rulegrad.core.diff import GRAD_HOOK

    w, b, s, z = (rg.Param(np.array([0.5, -1.0])), rg.Param(np.array(0.3)),
                  rg.Param(np.array(2.0)), rg.Param(np.array([1.0, 2.0])))  # fmt: skip

    def f(x, out_is_s):
        h = np.tanh(x @ w + b) * (x @ w)  # w read twice
        keep = np.zeros_like(z)  # z: read, no gradient
        return s if out_is_s else np.sum(h * s + keep)

    x = np.array([[1.0, 2.0], [0.5, -0.5]])
    for out_is_s in (False, True):
        step, hook = rg.jit(f), _RecordingHook()
        step(x, out_is_s)  # (records; no hook)
        token = GRAD_HOOK.set(hook)
        try:
            J = step(x, out_is_s)
        finally:
            GRAD_HOOK.reset(token)
        assert hook.events[0] == "begin" and hook.events[-1] == ("close", J.tape)
        given = hook.events[1:-1]
        want = rg.diff(f, x, out_is_s)
        order = [s] if out_is_s else [s, b, w]  # the last rule reaching each comes first
        assert [p for p, _ in given] == order
        for p, g in given:
            np.testing.assert_allclose(g, rg.grad(want, p))
        assert _replayed(step) == 1
        J = step(x, out_is_s)
        assert len(hook.events) == len(given) + 2  # no hook: nothing more
