"""rg.jit replays every registered rule as rg.diff runs it.

For each method in the registry (rulegrad's own and its backends'), inputs are drawn from
the method's Domain, as the generated gradient checks draw them; a step that sums the
method's outputs against fixed random weights is run with ``rg.diff`` and through
``rg.jit`` (recorded, then replayed), and the two must give the same value and gradients.
This exercises the generated replay on every calling convention the rules library has:
keyword arguments, several outputs, vjp rules, arguments without a gradient.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import rulegrad as rg
from rulegrad.testing import autotests
from rulegrad.testing.strategies import draw_case

autotests.load_plugins()
#: rulegrad's methods, and those of the example rule package (sparse matrices) when installed
METHODS = [m for m in autotests.methods("rulegrad", "rulegrad_scipy") if m.domain is not None]
REPLAYED: dict[str, bool] = {}


def _dense(x: Any) -> Any:
    return x.toarray() if hasattr(x, "toarray") else x  # a scipy.sparse gradient


def _step(method: Any, args: tuple, kwargs: dict, params: dict[int, rg.Param]) -> Any:
    """``sum(u * output)`` over the method's float outputs, fixed random ``u`` per output."""
    full = [params.get(i, a) for i, a in enumerate(args)]
    out = method.primitive(*full, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    total = 0.0
    for k, y in enumerate(outs):
        kind = np.result_type(rg.core.plain(y)).kind
        if kind in "fc":
            u = np.random.default_rng(k).standard_normal(np.shape(rg.core.plain(y)))
            total = total + np.sum(np.real(y * u.astype(np.result_type(rg.core.plain(y)))))
    return total


@pytest.mark.parametrize("method", METHODS, ids=repr)
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_replay_matches_diff(method: Any, data: Any) -> None:
    case = draw_case(data.draw, method.domain)
    floats = [
        i
        for i, (a, k) in enumerate(zip(case.args, case.kinds))
        if k is not None
        and getattr(getattr(a, "dtype", None), "kind", None) == "f"
        and not getattr(method.rules[i] if i < len(method.rules) else None, "nondiff", False)
    ]  # a nondiff rule raises: no derivative w.r.t. that argument (jv's order)
    if not floats:
        pytest.skip(f"{method!r}: no float argument to differentiate")
    params = {i: rg.Param(case.args[i].copy()) for i in floats}
    plain = {i: a for i, a in enumerate(case.args) if i not in params}

    def f() -> Any:
        return _step(method, tuple(plain.get(i) for i in range(len(case.args))), case.kwargs,
                     params)  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's own warnings at drawn edge values
        try:
            want = rg.diff(f)
            grads = [rg.grad(want, p) for p in params.values()]
        except Exception:  # not defined at this input (a 0-d array for np.triu): another
            reject()
        step = rg.jit(f)
        for _ in range(2):  # the first call records, the second only replays
            got = step()
            np.testing.assert_allclose(rg.value(got), rg.value(want), rtol=1e-6, atol=1e-12)
            for p, g in zip(params.values(), grads):
                h = rg.grad(got, p)
                assert (h is None) == (g is None), method
                if g is not None:
                    assert type(h) is type(g) and np.shape(h) == np.shape(g)
                    assert h.dtype == g.dtype
                    np.testing.assert_allclose(_dense(h), _dense(g), rtol=1e-6, atol=1e-12)
    REPLAYED[repr(method)] = any(p is not None for p in step.programs.values())


def test_almost_every_rule_is_replayed() -> None:
    """The survey above ran, and only a handful of rules made their steps run with diff."""
    if len(REPLAYED) < len(METHODS) // 2:
        pytest.skip("run with the survey (the whole file) to count")
    fell_back = sorted(name for name, replayed in REPLAYED.items() if not replayed)
    assert len(fell_back) <= len(REPLAYED) // 10, fell_back
