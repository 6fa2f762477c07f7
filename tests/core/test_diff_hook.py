"""The backward walk's gradient hook (`rulegrad.core.diff.GRAD_HOOK`)."""

from __future__ import annotations

import numpy as np

import rulegrad as rg
from rulegrad.core.diff import GRAD_HOOK


class Recorder:
    """A hook noting which leaf gradients were finished, and in what order."""

    def __init__(self, scale: float = 1.0) -> None:
        self.events: list = []
        self.scale = scale

    def leaf(self, tape, node) -> None:
        owner = {id(n): p for p, n in tape.leaves.values()}.get(id(node))
        self.events.append(("leaf", owner, None if node.grad is None else node.grad.copy()))
        if node.grad is not None:
            node.grad = node.grad * self.scale

    def done(self, tape) -> None:
        self.events.append(("done", None, None))


def test_hook_sees_each_leaf_once_with_its_final_gradient_last_layer_first() -> None:
    """Each Param's leaf is handed over once, with its whole gradient, in reverse first-use
    order, then done; what the hook writes to node.grad is what grad(J, p) returns."""
    w1, w2, unused = rg.Param(np.array([1.0, 2.0])), rg.Param(np.array([3.0])), rg.Param(0.0)
    rec = Recorder(scale=10.0)
    token = GRAD_HOOK.set(rec)
    try:
        J = rg.diff(lambda: np.sum(w1 * w1) * w2[0] + np.sum(w1) + 0.0 * unused)
        g1 = rg.grad(J, w1)
    finally:
        GRAD_HOOK.reset(token)
    kinds = [(k, p) for k, p, _ in rec.events]
    assert kinds == [("leaf", unused), ("leaf", w2), ("leaf", w1), ("done", None)]
    np.testing.assert_allclose(rec.events[2][2], 2 * np.array([1.0, 2.0]) * 3.0 + 1.0)
    np.testing.assert_allclose(g1, 10 * rec.events[2][2])
    np.testing.assert_allclose(rg.grad(J, w2), [50.0])


def test_no_hook_outside_its_context() -> None:
    """A walk run without the hook set leaves gradients alone."""
    w = rg.Param(np.array([1.0, 2.0]))
    rec = Recorder(scale=10.0)
    token = GRAD_HOOK.set(rec)
    GRAD_HOOK.reset(token)
    J = rg.diff(lambda: np.sum(w * w))
    np.testing.assert_allclose(rg.grad(J, w), [2.0, 4.0])
    assert rec.events == []
