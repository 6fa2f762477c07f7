"""Knet's neural-network functions: activations, logp/softmax, nll, accuracy, dropout, mat."""

from __future__ import annotations

import re

import numpy as np
import pytest
from ruletools import family_tests

import rulegrad as rg
from rulegrad import nn

rng = np.random.default_rng(6)
X = rng.standard_normal((4, 5)) * 2
LABELS = np.array([0, 4, 2, 2])
FEATURES = rng.standard_normal((3, 2, 2, 2))

CASES = {
    "sigm": (nn.sigm, X),
    "sigm_large": (nn.sigm, X * 20),
    "sigmback": (nn.sigmback, X, nn.sigm(X)),
    "relu": (nn.relu, X),
    "elu": (nn.elu, X),
    "elu_alpha": (lambda x: nn.elu(x, alpha=0.5), X),
    "selu": (nn.selu, X),
    "softplus": (nn.softplus, X),
    "logsumexp": (nn.logsumexp, X),
    "logsumexp_axis": (lambda x: nn.logsumexp(x, axis=0, keepdims=True), X),
    "logp": (nn.logp, X),
    "logp_axis0": (lambda x: nn.logp(x, axis=0), X),
    "logp_all": (lambda x: nn.logp(x, axis=None), X),
    "softmax": (nn.softmax, X),
    "softmax_axis0": (lambda x: nn.softmax(x, axis=0), X),
    "nll": (lambda x: nn.nll(x, LABELS), X),
    "nll_sum": (lambda x: nn.nll(x, LABELS, average=False), X),
    "nll_axis0": (lambda x: nn.nll(x.T, LABELS, axis=0), X),
    "nll_ignored": (lambda x: nn.nll(x, np.array([0, -1, 2, -1])), X),
    "nll_sequence": (lambda x: nn.nll(x, np.array([[0, 1], [2, 3]])), X.reshape(2, 2, 5)),
    "bce": (lambda x: nn.bce(x, (X > 0).astype(X.dtype)), X),
    "logistic": (lambda x: nn.logistic(x, np.sign(X)), X),
    "mat": (lambda x: nn.mat(x) * 1, FEATURES),
    "dropout": (lambda x: nn.dropout(x, 0.5, training=True, rng=np.random.default_rng(0)), X),
    "dropout_all": (lambda x: nn.dropout(x, 1.0, training=True) + x, X),
    "nll_list_labels": (lambda x: nn.nll(x, [0, 4, 2, 2]), X),
    "nll_tuple_labels_ignored": (lambda x: nn.nll(x, (0, -1, 2, 2)), X),
    "mlp": (lambda w, x: nn.nll(nn.relu(x @ w) @ w.T, LABELS), rng.standard_normal((5, 5)), X),
}


test_gradient, test_float32 = family_tests(CASES)


def test_activations_match_their_definitions() -> None:
    """The stable forms equal the textbook formulas where those do not overflow."""
    np.testing.assert_allclose(nn.sigm(X), 1 / (1 + np.exp(-X)))
    np.testing.assert_allclose(nn.softplus(X), np.log1p(np.exp(X)))
    np.testing.assert_allclose(nn.elu(X), np.where(X > 0, X, np.exp(X) - 1))
    np.testing.assert_allclose(nn.logsumexp(X, axis=1), np.log(np.exp(X).sum(axis=1)))
    np.testing.assert_allclose(np.exp(nn.logp(X)).sum(axis=-1), 1.0)
    np.testing.assert_allclose(nn.softmax(X), np.exp(nn.logp(X)))
    assert nn.sigm(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
    assert np.isfinite(nn.logsumexp(np.array([1000.0, 1000.0])))


def test_relu_gradient_at_zero_is_zero() -> None:
    """relu's kink: the gradient at exactly 0 is 0."""
    assert rg.grad(lambda x: np.sum(nn.relu(x)))(np.array([-1.0, 0.0, 2.0])).tolist() == [0, 0, 1]


def test_nll_gradient_is_softmax_minus_onehot() -> None:
    """nll's gradient is (softmax - onehot) / n, and its value is cross-entropy."""
    onehot = np.eye(5)[LABELS]
    np.testing.assert_allclose(nn.nll(X, LABELS), -np.mean(np.sum(nn.logp(X) * onehot, axis=1)))
    g = rg.grad(lambda x: nn.nll(x, LABELS))(X)
    np.testing.assert_allclose(g, (nn.softmax(X) - onehot) / 4)


def test_nll_ignores_negative_labels() -> None:
    """Examples labelled -1 (padding) add nothing to the loss or its gradient."""
    labels = np.array([0, -1, 2, -1])
    np.testing.assert_allclose(nn.nll(X, labels), nn.nll(X[[0, 2]], labels[[0, 2]]))
    g = rg.grad(lambda x: nn.nll(x, labels))(X)
    np.testing.assert_array_equal(g[[1, 3]], 0.0)


def test_nll_fortran_ordered_scores_get_the_same_gradient() -> None:
    """The fast path's flat label indices assume C order; F-ordered scores (a transposed
    product, say) must give the same loss and gradient."""
    g = rg.grad(lambda x: nn.nll(x, LABELS))(X)
    xf = np.asfortranarray(X)
    np.testing.assert_allclose(nn.nll(xf, LABELS), nn.nll(X, LABELS))
    np.testing.assert_allclose(rg.grad(lambda x: nn.nll(x, LABELS))(xf), g)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.uint64, np.int64])
def test_nll_takes_labels_of_every_integer_dtype(dtype) -> None:
    """Labels of any integer dtype give the same loss and gradient (MNIST's are uint8; the
    fast path's flat indices must stay integers, which uint64 plus int64 is not)."""
    labels = LABELS.astype(dtype)
    np.testing.assert_allclose(nn.nll(X, labels), nn.nll(X, LABELS))
    g = rg.grad(lambda x: nn.nll(x, labels))(X)
    np.testing.assert_allclose(g, rg.grad(lambda x: nn.nll(x, LABELS))(X))


def test_nll_label_out_of_range_is_an_index_error() -> None:
    """A label past the last class names itself and the class count, instead of reading
    the next row's score."""
    with pytest.raises(IndexError, match="label 5 is out of range for scores of 5 classes"):
        nn.nll(X, np.array([0, 1, 5, 2]))


@pytest.mark.parametrize("labels", [[0, -1, 7, 2], np.array([0, 1, 7, 2], np.uint64)])
def test_nll_label_out_of_range_is_an_index_error_off_the_fast_path(labels) -> None:
    """Beside an ignored (negative) label, or in uint64, a label past the last class is the
    same IndexError, not numpy's message about an index nor a wrapped, wrong loss."""
    with pytest.raises(IndexError, match="label 7 is out of range for scores of 5 classes"):
        nn.nll(X, labels)


def test_nll_gradient_follows_each_batchs_labels_under_jit() -> None:
    """A replayed step whose next batch has ignored (negative) labels, or a label out of range,
    takes nll's general path: the same gradients as rg.diff, and the same IndexError. (The
    fast path's vjp trusts the check its own forward made, not one from an earlier batch.)"""
    w = rg.Param(np.linspace(-1.0, 1.0, 15).reshape(3, 5))
    x = np.arange(12.0).reshape(4, 3) / 10
    step = rg.jit(lambda labels: nn.nll(x @ w, labels))
    for labels in ([0, 1, 2, 3], [0, -1, 2, -1], [4, 3, 2, 1], [-1, -1, -1, 0]):
        labels = np.array(labels)
        s = x @ w.value
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        valid = labels >= 0
        ds = (p - np.eye(5)[np.where(valid, labels, 0)]) * valid[:, None] / valid.sum()
        np.testing.assert_allclose(rg.grad(step(labels), w), x.T @ ds, rtol=1e-10)
        J = rg.diff(lambda labels=labels: nn.nll(x @ w, labels))
        np.testing.assert_allclose(rg.grad(J, w), x.T @ ds)
    with pytest.raises(IndexError, match="label 5 is out of range for scores of 5 classes"):
        step(np.array([0, 5, 1, 1]))


def test_accuracy_is_a_plain_value() -> None:
    """accuracy counts argmax hits and returns a plain number, even on tracked scores."""
    scores = rg.Param(np.eye(5)[[0, 1, 2, 3]])
    J = rg.diff(lambda: nn.accuracy(scores, LABELS))
    assert rg.value(J) == 0.5
    assert nn.accuracy(scores.value, np.array([0, -1, 2, 9]), average=False) == 2


def test_dropout_drops_only_while_differentiating() -> None:
    """By default dropout acts inside diff (Knet's training()) and is the identity outside."""
    x = rg.Param(np.ones((100, 10)))
    assert nn.dropout(x.value, 0.5) is x.value
    J = rg.diff(lambda: np.sum(nn.dropout(x, 0.5, rng=np.random.default_rng(1))))
    g = rg.grad(J, x)
    assert set(np.unique(g)) == {0.0, 2.0}  # dropped units get no gradient; kept ones 1/(1-p)
    assert rg.value(J) == np.sum(g)
    assert nn.dropout(x.value, 0.5, training=False) is x.value


def test_dropout_evaluates_under_forward_mode_alone() -> None:
    """A jvp, or a Jacobian by columns, outside any diff is an evaluation: no mask, so every
    column is the derivative of one function; inside a diff, forward over reverse drops."""
    f = lambda x: nn.dropout(2.0 * x, 0.5)  # noqa: E731
    x = np.ones(6)
    np.testing.assert_array_equal(rg.jacobian(f, mode="fwd")(x), 2.0 * np.eye(6))
    assert rg.jvp(f, (x,), (x,))[1].tolist() == [2.0] * 6
    w = rg.Param(np.ones(200))
    J = rg.diff(lambda: rg.jvp(lambda v: np.sum(nn.dropout(w * v, 0.5)), (x[:1],), (x[:1],))[1])
    assert set(np.unique(rg.grad(J, w))) == {0.0, 2.0}  # dropped inside the diff


def test_mat_keeps_the_batch_axis() -> None:
    """mat flattens every axis but the first."""
    assert nn.mat(FEATURES).shape == (3, 8)
    assert nn.mat(np.zeros(4)).shape == (4, 1)


def test_sigm_second_derivative_uses_sigmback() -> None:
    """sigm's backward is a primitive: its second derivative is s (1 - s) (1 - 2 s)."""
    d2 = rg.grad(lambda x: np.sum(rg.grad(lambda z: np.sum(nn.sigm(z)))(x)))(X)
    s = nn.sigm(X)
    np.testing.assert_allclose(d2, s * (1 - s) * (1 - 2 * s))


def test_axis_can_be_passed_positionally() -> None:
    """logp(x, 0) means logp(x, axis=0), as for any Python function."""
    np.testing.assert_array_equal(nn.logp(X, 0), nn.logp(X, axis=0))


@pytest.mark.parametrize("p", [1.0, 1])
def test_dropout_with_p_one_drops_everything(p) -> None:
    """p=1 drops every element (torch's convention): zeros out, zero gradient, no division."""
    x = rg.Param(np.ones((3, 4)))
    J = rg.diff(lambda: np.sum(nn.dropout(x, p, rng=np.random.default_rng(0)) + 2 * x))
    assert rg.value(J) == 24.0
    np.testing.assert_array_equal(rg.grad(J, x), 2.0)
    np.testing.assert_array_equal(nn.dropout(x.value, p, training=True), 0.0)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_probability_outside_unit_interval_is_refused(p) -> None:
    """A probability outside [0, 1] raises a ValueError naming the range, in training or not."""
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.dropout(X, p, training=True)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.dropout(X, p, training=False)


@pytest.mark.parametrize("labels", [[0, 4, 2, 2], (0, 4, 2, 2)], ids=["list", "tuple"])
def test_nll_accepts_label_lists(labels) -> None:
    """Labels given as a list or tuple mean the same as the integer array."""
    np.testing.assert_allclose(nn.nll(X, labels), nn.nll(X, LABELS))
    g = rg.grad(lambda x: nn.nll(x, labels))(X)
    np.testing.assert_allclose(g, rg.grad(lambda x: nn.nll(x, LABELS))(X))


@pytest.mark.parametrize(
    "labels",
    [np.array([0.0, 4.0, 2.0, 2.0]), [0.0, 4.0, 2.0, 2.0], np.array([True, False, True, True])],
    ids=["float_array", "float_list", "bool_array"],
)
def test_nll_non_integer_labels_raise_type_error(labels) -> None:
    """Labels that are not integer class indices get a TypeError saying what is expected."""
    with pytest.raises(TypeError, match="integer class indices"):
        nn.nll(X, labels)
    with pytest.raises(TypeError, match="integer class indices"):
        rg.grad(lambda x: nn.nll(x, labels))(X)


@pytest.mark.parametrize(
    ("labels", "axis"),
    [(np.array([0, 1, 2]), -1), (LABELS, 0), (LABELS[:, None], -1), (np.array(1), -1)],
    ids=["too_few", "wrong_axis", "extra_axis", "scalar"],
)
def test_nll_label_shape_mismatch_names_both_shapes(labels, axis) -> None:
    """Labels not shaped like the scores without the class axis get a ValueError with both."""
    message = f"labels of shape {np.shape(labels)} do not fit scores of shape (4, 5)"
    with pytest.raises(ValueError, match=re.escape(message)):
        nn.nll(X, labels, axis=axis)
    with pytest.raises(ValueError, match=re.escape(message)):
        rg.grad(lambda x: nn.nll(x, labels, axis=axis))(X)


def test_accuracy_accepts_label_lists() -> None:
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert nn.accuracy(scores, [0, 0, 1]) == nn.accuracy(scores, np.array([0, 0, 1]))
    assert nn.accuracy(scores, [0, -1, 1], average=False) == 2
