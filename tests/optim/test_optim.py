"""Tests for rulegrad.optim: Knet's formulas, state per parameter, structures, dtypes, errors."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from rulegrad.optim import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    Rmsprop,
    optimizers,
    update,
)

ALL = [SGD, Momentum, Nesterov, Adagrad, Rmsprop, Adadelta, Adam]
W0 = np.array([0.5, -1.0, 2.0])
GRADS = [np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, -1.0]), np.array([-1.5, 0.25, 2.0])]


class FakeParam:
    """Rulegrad's Param as optim sees it: an array in ``.value`` and an ``opt`` slot."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value
        self.opt = None


def reference(opt: Optimizer, w: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    """Knet's documented formulas, written out plainly (not in place) in float64."""
    o, w = opt, w.copy()
    v, G, delta, m = (np.zeros_like(w) for _ in range(4))
    for t, g in enumerate(grads, start=1):
        if isinstance(o, SGD):
            w = w - o.lr * g
        elif isinstance(o, Momentum):
            v = o.gamma * v - o.lr * g
            w = w + v
        elif isinstance(o, Nesterov):
            v_old, v = v, o.gamma * v - o.lr * g
            w = w - o.gamma * v_old + (1 + o.gamma) * v
        elif isinstance(o, Adagrad):
            G = G + g**2
            w = w - o.lr * g / np.sqrt(G + o.eps)
        elif isinstance(o, Rmsprop):
            G = o.rho * G + (1 - o.rho) * g**2
            w = w - o.lr * g / np.sqrt(G + o.eps)
        elif isinstance(o, Adadelta):
            G = o.rho * G + (1 - o.rho) * g**2
            dw = g * np.sqrt(delta + o.eps) / np.sqrt(G + o.eps)
            w = w - o.lr * dw
            delta = o.rho * delta + (1 - o.rho) * dw**2
        elif isinstance(o, Adam):
            m = o.beta1 * m + (1 - o.beta1) * g
            G = o.beta2 * G + (1 - o.beta2) * g**2
            mhat, Ghat = m / (1 - o.beta1**t), G / (1 - o.beta2**t)
            w = w - o.lr * mhat / (np.sqrt(Ghat) + o.eps)
    return w


# ---- formulas ----


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_three_steps_match_formula(cls: type[Optimizer]) -> None:
    """Three steps of each optimizer equal Knet's formula computed by hand."""
    opt, w = cls(lr=0.1), W0.copy()
    for g in GRADS:
        opt.step(w, g)
    np.testing.assert_allclose(w, reference(opt, W0, GRADS), rtol=1e-12)


def test_sgd_literal_values() -> None:
    """SGD's three steps give the literal numbers w - lr * sum(g)."""
    w = W0.copy()
    for g in GRADS:
        SGD(lr=0.1).step(w, g)
    np.testing.assert_allclose(w, [0.5, -0.925, 1.85])


def test_knet_defaults() -> None:
    """Default hyperparameters are Knet's (src/train20/update.jl)."""
    assert SGD().lr == 0.1
    assert (Momentum().lr, Momentum().gamma) == (0.05, 0.95)
    assert (Nesterov().lr, Nesterov().gamma) == (0.05, 0.95)
    assert (Adagrad().lr, Adagrad().eps) == (0.05, 1e-6)
    assert (Rmsprop().lr, Rmsprop().rho, Rmsprop().eps) == (0.01, 0.9, 1e-6)
    assert (Adadelta().lr, Adadelta().rho, Adadelta().eps) == (1.0, 0.9, 1e-6)
    assert (Adam().lr, Adam().beta1, Adam().beta2, Adam().eps) == (0.001, 0.9, 0.999, 1e-8)
    assert all(cls().gclip == 0.0 for cls in ALL)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_minimizes_quadratic(cls: type[Optimizer]) -> None:
    """Each optimizer drives sum((w - 3)**2) to w = 3 within a few hundred steps."""
    # Adadelta's first steps are about sqrt(eps) long, so it needs a larger eps to start quickly
    kw = {
        Adagrad: {"lr": 0.5},
        Adadelta: {"eps": 1e-4},
        Adam: {"lr": 0.1},
        Rmsprop: {"lr": 0.05},
    }.get(cls, {})
    opt, w = cls(**kw), np.array([0.0, 5.0, -2.0])
    for _ in range(500):
        opt.step(w, 2 * (w - 3))
    np.testing.assert_allclose(w, 3.0, atol=0.05)


# ---- dtypes, parameters and state ----


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_float32_preserved(cls: type[Optimizer]) -> None:
    """float32 weights and state stay float32, even with a float64 gradient."""
    opt, w = cls(lr=np.float64(0.1)), W0.astype(np.float32)
    for g in GRADS:
        opt.step(w, g)
    assert w.dtype == np.float32
    state = opt._states.get(id(w), (None, {}))[1]  # SGD keeps none
    assert all(s.dtype == np.float32 for s in state.values() if hasattr(s, "dtype"))
    np.testing.assert_allclose(w, reference(opt, W0, GRADS), rtol=1e-4)


def test_fake_param_updated_in_place() -> None:
    """A parameter-like object's .value array is updated in place, not rebound."""
    p = FakeParam(W0.copy())
    array = p.value
    Momentum(lr=0.1).step(p, GRADS[0])
    assert p.value is array
    np.testing.assert_allclose(p.value, W0 - 0.1 * GRADS[0])


def test_state_is_per_parameter() -> None:
    """One optimizer keeps separate state for each parameter, and drops it with the parameter."""
    opt, a, b = Adam(lr=0.1), FakeParam(W0.copy()), FakeParam(W0.copy())
    for g in GRADS:
        opt.step(a, g)
    opt.step(b, GRADS[0])
    np.testing.assert_allclose(a.value, reference(opt, W0, GRADS))
    np.testing.assert_allclose(b.value, reference(opt, W0, GRADS[:1]))
    del a, b
    gc.collect()
    assert opt._states == {}


def test_state_for_object_without_weakref() -> None:
    """A parameter that cannot be weakly referenced still gets state, held by the optimizer."""

    class Slotted:
        __slots__ = ("value",)

    p = Slotted()
    p.value = W0.copy()
    opt = Momentum(lr=0.1)
    for g in GRADS:
        opt.step(p, g)
    np.testing.assert_allclose(p.value, reference(opt, W0, GRADS))
    assert opt._states[id(p)][0] is p


def test_clone_has_no_state() -> None:
    """clone copies hyperparameters but not state."""
    opt = Momentum(lr=0.3, gamma=0.5, gclip=2.0)
    opt.step(np.zeros(2), np.ones(2))
    assert repr(opt.clone()) == "Momentum(lr=0.3, gclip=2.0, gamma=0.5)"
    assert opt.clone()._states == {}


def test_gclip_scales_to_norm() -> None:
    """A gradient with norm above gclip is scaled to norm gclip; the caller's g is untouched."""
    w, g = np.zeros(2), np.array([3.0, 4.0])
    SGD(lr=1.0, gclip=1.0).step(w, g)
    np.testing.assert_allclose(w, [-0.6, -0.8])
    np.testing.assert_array_equal(g, [3.0, 4.0])
    SGD(lr=1.0, gclip=10.0).step(w, g)  # below the clip: unchanged
    np.testing.assert_allclose(w, [-3.6, -4.8])


# ---- structures ----


def test_update_nested_structure_with_template() -> None:
    """update walks dicts, lists and tuples, skips None gradients and keeps state per leaf."""
    w = {"a": FakeParam(W0.copy()), "b": [W0.copy(), (W0.copy(),)], "c": W0.copy()}
    opt = Adam(lr=0.1)
    for g in GRADS:
        update(w, {"a": g, "b": [None, (g,)]}, opt)  # "c" left out: no gradient
    expected = reference(opt, W0, GRADS)
    np.testing.assert_allclose(w["a"].value, expected)
    np.testing.assert_allclose(w["b"][1][0], expected)
    np.testing.assert_array_equal(w["b"][0], W0)
    np.testing.assert_array_equal(w["c"], W0)
    assert len(opt._states) == 2


def test_update_with_optimizers_structure() -> None:
    """optimizers builds one optimizer per float leaf, and update pairs them with the leaves."""
    w = [W0.copy(), {"k": W0.copy(), "n": np.arange(3)}]
    opts = optimizers(w, Momentum, lr=0.1)
    assert isinstance(opts[0], Momentum) and opts[0] is not opts[1]["k"]
    assert opts[1]["n"] is None
    for g in GRADS:
        update(w, [g, {"k": g}], opts)
    np.testing.assert_allclose(w[0], reference(opts[0], W0, GRADS))
    np.testing.assert_allclose(w[1]["k"], w[0])


def test_attach_uses_param_opt() -> None:
    """attach=True stores optimizers in params' opt slots, and update uses them by default."""
    p, q = FakeParam(W0.copy()), FakeParam(W0.copy())
    q.opt = kept = SGD(lr=0.1)
    opts = optimizers((p, q), Nesterov, attach=True, lr=0.1)
    assert isinstance(p.opt, Nesterov) and opts == (p.opt, kept)
    for g in GRADS:
        update((p, q), (g, g))
    np.testing.assert_allclose(p.value, reference(p.opt, W0, GRADS))
    np.testing.assert_allclose(q.value, reference(kept, W0, GRADS))


def test_update_default_sgd_keywords() -> None:
    """Without an optimizer, update does SGD with the given lr."""
    w = W0.copy()
    update(w, GRADS[0], lr=0.5)
    np.testing.assert_allclose(w, W0 - 0.5 * GRADS[0])


# ---- errors ----


def test_shape_mismatch_names_both_shapes() -> None:
    """A gradient of the wrong shape is refused, naming the leaf and both shapes."""
    with pytest.raises(
        ValueError, match=r"w\['a'\] has shape \(2,\), but w\['a'\] has shape \(3,\)"
    ):
        update({"a": W0.copy()}, {"a": np.ones(2)}, SGD())


def test_structure_mismatch_names_place() -> None:
    """Mismatched lists, dicts and optimizer structures say where they differ."""
    with pytest.raises(ValueError, match=r"w\[1\] has 2 entries, but its gradient has 1 entries"):
        update([W0, [W0, W0]], [W0, [W0]])
    with pytest.raises(ValueError, match=r"gradient of w has keys \['z'\]"):
        update({"a": W0.copy()}, {"z": W0})
    with pytest.raises(TypeError, match=r"w\[0\] is a dict, but its gradient is a list"):
        update([{"a": W0}], [[W0]])
    with pytest.raises(ValueError, match=r"no optimizer for w: opt has no entry 1"):
        update([W0.copy(), W0.copy()], [W0, W0], [SGD()])


def test_integer_and_non_array_refused() -> None:
    """Integer arrays, numpy scalars and non-optimizers give clear errors."""
    with pytest.raises(TypeError, match="dtype is int64, and optimizers need a float array"):
        SGD().step(np.arange(3), np.ones(3))
    with pytest.raises(TypeError, match="float64 is not an array"):
        SGD().step(np.float64(1.0), 1.0)
    with pytest.raises(TypeError, match=r"cannot update w\[0\]: a str is not an array"):
        update(["x"], [1.0])
    with pytest.raises(TypeError, match=r"optimizer for w is a str, not an Optimizer"):
        update(W0.copy(), W0, "adam")
    with pytest.raises(TypeError, match="not both"):
        update(W0.copy(), W0, SGD(), lr=0.1)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_pickle_keeps_hyperparameters_and_state(cls: type[Optimizer]) -> None:
    """An optimizer pickled with its parameters continues exactly as the original would."""
    import pickle

    opt = cls(lr=0.01)
    w = rg_param(W0.copy())
    for g in GRADS[:2]:
        opt.step(w, g)
    opt2, w2 = pickle.loads(pickle.dumps((opt, w)))
    assert repr(opt2) == repr(opt) and len(opt2._states) == len(opt._states)
    opt.step(w, GRADS[2])
    opt2.step(w2, GRADS[2])
    np.testing.assert_array_equal(w2.value, w.value)


def test_pickle_of_stateless_optimizer_alone() -> None:
    """An optimizer with no state (or pickled without its parameters) unpickles and works."""
    import pickle

    opt = Adam(lr=0.5, gclip=1.0)
    fresh = pickle.loads(pickle.dumps(opt))
    assert repr(fresh) == repr(opt) and fresh._states == {}
    w = np.array([1.0])
    fresh.step(w, np.array([2.0]))
    np.testing.assert_allclose(w, [0.5])


def rg_param(value: np.ndarray):
    """A real rulegrad Param (picklable, weak-referenceable) holding ``value``."""
    import rulegrad as rg

    return rg.Param(value)
