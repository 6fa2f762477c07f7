"""rg.profile: time per primitive forward and backward, call counts, tape memory."""

from __future__ import annotations

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.core.primitive import PRIMITIVES
from rulegrad.profile import Profile, profile


def _mlp_step(w: rg.Param, x: np.ndarray) -> None:
    J = rg.diff(lambda: np.sum(np.tanh(x @ w) ** 2))
    rg.grad(J, w)


def test_counts_calls_and_rules() -> None:
    """Each primitive's forward calls and rule calls are counted, for three steps."""
    w, x = rg.Param(np.ones((4, 3))), np.ones((5, 4))
    with profile() as p:
        for _ in range(3):
            _mlp_step(w, x)
    assert (p.stats["np.matmul"].calls, p.stats["np.matmul"].rule_calls) == (3, 3)
    assert (p.stats["np.tanh"].calls, p.stats["np.tanh"].rule_calls) == (3, 3)
    assert p.stats["np.sum"].recorded == 3
    assert all(s.forward >= 0 and s.backward >= 0 for s in p.stats.values())
    assert p.engine["backward walk"].rule_calls == 3


def test_taped_bytes_and_peak_memory() -> None:
    """Recorded outputs are counted in bytes; the peak is one step's tape, not the sum."""
    w, x = rg.Param(np.ones((4, 3))), np.ones((5, 4))
    with profile() as p:
        for _ in range(3):
            _mlp_step(w, x)
    step = 3 * 5 * 3 * 8 + 8  # matmul, tanh and power outputs (5, 3) float64, and the sum
    assert p.stats["np.matmul"].nbytes == 3 * 5 * 3 * 8
    assert p.peak_bytes == step


def test_unrecorded_calls_count_as_forward() -> None:
    """A primitive called on plain values outside diff is timed as a forward call."""
    from rulegrad import nn

    with profile() as p:
        nn.relu(np.ones(3))
    assert p.stats["relu"].calls == 1 and p.stats["relu"].recorded == 0


def test_methods_are_restored_even_after_an_error() -> None:
    """Leaving the block, by error or not, puts back every impl and rule."""
    before = {id(m): (m.impl, m.rules, m.vjp) for prim in PRIMITIVES.values() for m in prim.methods}
    with pytest.raises(ZeroDivisionError), profile():
        _mlp_step(rg.Param(np.ones((2, 2))), np.ones((2, 2)))
        1 / 0  # noqa: B018
    after = {id(m): (m.impl, m.rules, m.vjp) for prim in PRIMITIVES.values() for m in prim.methods}
    assert after == before


def test_profiles_do_not_nest() -> None:
    """A profile inside a profile is an error."""
    with profile(), pytest.raises(RuntimeError, match="already active"), profile():
        pass


def test_nested_primitive_time_is_exclusive() -> None:
    """A rule that calls another primitive (getitem's untake) is not charged for it."""
    x = rg.Param(np.arange(6.0))
    with profile() as p:
        rg.grad(rg.diff(lambda: np.sum(x[[0, 0, 2]])), x)
    getitem = next(s for name, s in p.stats.items() if "getitem" in name)
    untake = next(s for name, s in p.stats.items() if "untake" in name)
    assert getitem.rule_calls == 1 and untake.calls == 1


def test_old_interface_is_profiled_too() -> None:
    """rg.grad(f)(x) goes through the same backward walk."""
    with profile() as p:
        rg.grad(lambda x: np.sum(np.exp(x)))(np.ones(3))
    assert p.stats["np.exp"].rule_calls == 1


def test_table_lists_primitives_and_engine() -> None:
    """The table has a header, a line per primitive, the engine's rows; sort and limit work."""
    w, x = rg.Param(np.ones((4, 3))), np.ones((5, 4))
    with profile() as p:
        _mlp_step(w, x)
    text = p.table()
    assert text.startswith("rulegrad profile:") and "peak tape memory" in text
    assert "np.matmul" in text and "(engine) record" in text and "(engine) backward walk" in text
    assert str(p) == text and "Profile of" in repr(p)
    limited = p.table(sort="calls", limit=1).splitlines()
    assert sum(line.startswith("np.") for line in limited) == 1
    with pytest.raises(ValueError, match="sort must be"):
        p.table(sort="name")


def test_profile_class_is_the_context_manager() -> None:
    """profile() returns a Profile, usable once as a context manager."""
    p = profile()
    assert isinstance(p, Profile) and p.stats == {} and p.peak_bytes == 0
