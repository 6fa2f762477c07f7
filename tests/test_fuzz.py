"""Differential fuzzing: random programs of registered primitives, checked four ways.

Each seed builds a random program (`Program`): a chain of 2 to 8 steps over an input
batch ``x`` and three Params (a matrix ``W``, a vector ``v``, a scalar ``s``), each step
one numpy or ``rg.nn`` function applied to earlier values whose shapes fit: elementwise
functions, broadcasting binary ones, reductions along random axes, matmul and einsum,
and shape functions (transpose, reshape, slices, concatenate, stack, take). The loss is
a weighted sum of the last value and one other. Then:

* ``test_fuzz_gradients``: rulegrad's gradient with respect to all four matches central
  differences (`rulegrad.testing.checkgrad`); every third seed also at second order;
* ``test_fuzz_jit``: ``rg.jit``'s value and Param gradients equal ``rg.diff``'s on three
  batches of the same shape (the first call records, the others replay).
* ``test_fuzz_forward``: ``rg.jvp`` along a random tangent gives the program's value and
  reverse mode's ``<grad, t>``, keeps float32, and (every third seed) its
  forward-over-reverse Hessian-vector product equals reverse-over-reverse.

A point where the program has a kink within the finite-difference step (relu, max, a
tie) is skipped, not failed. A failure prints the program, which `Program.source`
renders as Python to paste into a reproducer.

CI runs 30 seeds (a few seconds). Set ``RULEGRAD_FUZZ=N`` to run N; seeds are
0..N-1, so a failing seed reproduces with ``-k "fuzz and [seed]"``:

    RULEGRAD_FUZZ=2000 python -m pytest tests/test_fuzz.py -q -x
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.testing import NotSmoothError, checkgrad

#: How many seeds to run: ``RULEGRAD_FUZZ`` (default 30, a few seconds).
SEEDS = int(os.environ.get("RULEGRAD_FUZZ", "30"))

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Op:
    """One kind of step: ``fn(*values, **kw)`` for ``arity`` values of fitting shapes.

    ``plan(rng, shapes)`` returns the keyword arguments for values of those shapes, or
    None when they do not fit.
    """

    name: str
    arity: int
    fn: Callable[..., Any]
    plan: Callable[[np.random.Generator, Sequence[Shape]], dict | None]


def _any(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict:
    return {}


def _broadcasts(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return None
    return {}


def _axis(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    """A reduction's axis (None or one valid axis, maybe negative) and keepdims."""
    ndim = len(shapes[0])
    axis = None if ndim == 0 or rng.random() < 0.3 else int(rng.integers(-ndim, ndim))
    return {"axis": axis, "keepdims": bool(rng.random() < 0.3)}


def _along(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    """One valid axis (softmax, cumsum)."""
    ndim = len(shapes[0])
    return {"axis": int(rng.integers(-ndim, ndim))} if ndim else None


def _matmul(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    a, b = shapes
    if not a or not b or a[-1] != (b[0] if len(b) == 1 else b[-2]) or len(b) > 2:
        return None
    return {}


def _einsum(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    a, b = shapes
    if len(a) != 2 or len(b) != 2 or a[1] != b[0]:
        return None
    return {"subscripts": "ij,jk->ik" if rng.random() < 0.5 else "ij,jk->ki"}


def _matrix(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    return {} if len(shapes[0]) == 2 else None


def _sliced(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    shape = shapes[0]
    if not shape or shape[0] < 2:
        return None
    return {"start": int(rng.integers(0, shape[0] - 1)), "step": int(rng.choice([1, -1]))}


def _joined(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    a, b = shapes
    if not a or len(a) != len(b) or a[1:] != b[1:]:
        return None
    return {}


def _same(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    return {} if shapes[0] == shapes[1] else None


def _taken(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    shape = shapes[0]
    if not shape:
        return None
    return {"indices": rng.integers(0, shape[0], size=int(rng.integers(1, 4)))}


def _name(f: Any) -> str:
    """``np.sin`` -> "np.sin"; a rulegrad primitive by its own name."""
    name = getattr(f, "__name__", None) or f.name
    return f"np.{name}" if getattr(f, "__module__", "").startswith("numpy") else name


def _slice(a: Any, start: int, step: int) -> Any:
    return a[start:] if step == 1 else a[::-1][start:]


def _spread(rng: np.random.Generator, shapes: Sequence[Shape]) -> dict | None:
    """An axis along which there are at least two elements (a variance of one is 0)."""
    plan = _axis(rng, shapes)
    n = int(np.prod(shapes[0])) if plan["axis"] is None else shapes[0][plan["axis"]]
    return plan if n >= 2 else None


def _divide(a: Any, b: Any) -> Any:
    return np.divide(a, 1.5 + np.square(b))  # a denominator that never nears 0


#: The steps programs are made of: registered primitives (and ``implements`` functions).
OPS = [
    *(Op(_name(f), 1, f, _any) for f in (np.sin, np.cos, np.tanh, np.arctan, np.square)),
    Op("exp_tanh", 1, lambda a: np.exp(np.tanh(a)), _any),
    Op("hyp", 1, lambda a: np.sqrt(a * a + 1.0), _any),
    Op("log1p_sq", 1, lambda a: np.log1p(np.square(a)), _any),
    Op("abs", 1, np.abs, _any),
    *(Op(_name(f), 1, f, _any) for f in (rg.nn.relu, rg.nn.softplus, rg.nn.sigm, rg.nn.elu)),
    *(Op(_name(f), 2, f, _broadcasts) for f in (np.add, np.subtract, np.multiply)),
    *(Op(_name(f), 2, f, _broadcasts) for f in (np.maximum, np.minimum)),
    Op("divide", 2, _divide, _broadcasts),
    Op("arctan2", 2, lambda a, b: np.arctan2(a, 0.5 + b * b), _broadcasts),  # never at (0, 0)
    Op("where", 2, lambda a, b: np.where(a > b, a, b * 0.5), _broadcasts),
    *(Op(_name(f), 1, f, _axis) for f in (np.sum, np.mean, np.max, np.min, np.prod)),
    Op("logsumexp", 1, rg.nn.logsumexp, _axis),
    Op("np.var", 1, np.var, _spread),  # (not std: not differentiable where a slice is flat)
    *(Op(_name(f), 1, f, _along) for f in (rg.nn.softmax, rg.nn.logp, np.cumsum)),
    Op("cumprod", 1, np.cumprod, _along),
    Op("matmul", 2, np.matmul, _matmul),
    Op("dot", 2, np.dot, _matmul),
    Op("einsum", 2, lambda a, b, subscripts: np.einsum(subscripts, a, b), _einsum),
    Op("transpose", 1, np.transpose, _matrix),
    Op("flatten", 1, lambda a: np.reshape(a, (-1,)), _any),
    Op("expand", 1, lambda a: np.expand_dims(a, 0), lambda rng, s: {} if len(s[0]) < 3 else None),
    Op("slice", 1, _slice, _sliced),
    Op("concatenate", 2, lambda a, b: np.concatenate([a, b]), _joined),
    Op("stack", 2, lambda a, b: np.stack([a, b], axis=-1), _same),
    Op("take", 1, lambda a, indices: a[indices], _taken),
]


@dataclass
class Program:
    """A random program: ``steps`` of ``(op, operand indices, keyword arguments)`` over the
    values ``x, W, v, s`` (indices 0-3) and the steps' results (4, 5, ...), and the loss's
    weights for the last value and one other."""

    shapes: list[Shape]
    steps: list[tuple[Op, tuple[int, ...], dict]] = field(default_factory=list)
    weights: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def __call__(self, x: Any, W: Any, v: Any, s: Any) -> Any:
        values = [x, W, v, s]
        for op, at, kw in self.steps:
            values.append(op.fn(*(values[i] for i in at), **kw))
        return sum(np.sum(c * values[i]) for i, c in self.weights)

    def source(self) -> str:
        """The program as Python (``t4 = np.sin(x)``, ...), for a failure report."""
        names = ["x", "W", "v", "s"] + [f"t{i}" for i in range(4, 4 + len(self.steps))]
        lines = [f"# shapes: x{self.shapes[0]} W{self.shapes[1]} v{self.shapes[2]} s()"]
        for k, (op, at, kw) in enumerate(self.steps):
            args = ", ".join([names[i] for i in at] + [f"{n}={v!r}" for n, v in kw.items()])
            lines.append(f"{names[4 + k]} = {op.name}({args})  # -> {self.shapes[4 + k]}")
        loss = " + ".join(f"sum(c{j} * {names[i]})" for j, (i, _) in enumerate(self.weights))
        lines.append(f"loss = {loss}")
        return "\n".join(lines)


def make(seed: int) -> tuple[Program, list[np.ndarray]]:
    """The program of ``seed`` and a point to run it at: ``x`` and the Params' values."""
    rng = np.random.default_rng(seed)
    B, D = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    point = [rng.standard_normal((B, D)), rng.standard_normal((D, D)) / D, rng.standard_normal(D)]
    point.append(np.array(rng.standard_normal()))
    program = Program([(B, D), (D, D), (D,), ()])
    probe = [np.zeros(s) for s in program.shapes]  # shapes of each value, by running numpy
    for _ in range(int(rng.integers(2, 9))):
        for _try in range(50):
            op = OPS[int(rng.integers(len(OPS)))]
            # mostly the newest value, so steps chain; otherwise any earlier one
            at = tuple(
                len(probe) - 1 if rng.random() < 0.5 else int(rng.integers(len(probe)))
                for _ in range(op.arity)
            )
            # distinct operands: a - a and friends make exact zeros, where arctan2, abs
            # and relu have no derivative
            if len(set(at)) < op.arity or max(np.size(probe[i]) for i in at) > 64:
                continue
            kw = op.plan(rng, [np.shape(probe[i]) for i in at])
            if kw is not None:
                break
        else:
            continue
        program.steps.append((op, at, kw))
        out = np.asarray(op.fn(*(probe[i] for i in at), **kw))
        probe.append(out)
        program.shapes.append(out.shape)
    others = range(len(probe) - 1)
    for i in (len(probe) - 1, int(rng.choice(others))):
        program.weights.append((i, rng.standard_normal(np.shape(probe[i]))))
    return program, point


def _finite(program: Program, point: list[np.ndarray]) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.isfinite(program(*point)))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_fuzz_gradients(seed: int) -> None:
    """A random program's gradient (second order for every third) matches central
    differences."""
    program, point = make(seed)
    if not _finite(program, point):
        pytest.skip("the program overflows at this point")
    order = 2 if seed % 3 == 0 else 1
    try:
        checkgrad(program, *point, order=order, seed=seed)
    except NotSmoothError:
        pytest.skip("a kink within the finite-difference step")
    except Exception as e:
        raise AssertionError(f"seed {seed}, order {order}:\n{program.source()}") from e


@pytest.mark.parametrize("seed", range(SEEDS))
def test_fuzz_jit(seed: int) -> None:
    """``rg.jit`` of a random program gives ``rg.diff``'s value and Param gradients on
    three batches (recorded once, replayed twice)."""
    program, point = make(seed)
    params = [rg.Param(p.copy()) for p in point[1:]]
    rng = np.random.default_rng(seed + 10**6)
    step = rg.jit(lambda x: program(x, *params))
    for batch in range(3):
        x = point[0] if batch == 0 else rng.standard_normal(point[0].shape)
        want = rg.diff(lambda x: program(x, *params), x)
        got = step(x)
        where = f"seed {seed}, batch {batch}:\n{program.source()}"
        np.testing.assert_allclose(rg.value(got), rg.value(want), rtol=1e-10, err_msg=where)
        for p, name in zip(params, "Wvs"):
            g, w = rg.grad(got, p), rg.grad(want, p)
            assert (g is None) == (w is None), f"{name}: {g} vs {w}; {where}"
            if w is not None:
                np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{name}; {where}")


def _dot(gradients: Sequence[Any], tangents: Sequence[np.ndarray]) -> Any:
    """``<g, t>`` summed over the arguments (a None gradient is a zero)."""
    return sum(np.sum(g * t) for g, t in zip(gradients, tangents) if g is not None)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_fuzz_forward(seed: int) -> None:
    """Forward mode on a random program: ``rg.jvp``'s value is the program's, its tangent
    is ``<grad, t>`` from reverse mode (whose gradient ``test_fuzz_gradients`` checks
    against central differences), float32 stays float32, and for every third seed the
    forward-over-reverse Hessian-vector product equals reverse-over-reverse."""
    program, point = make(seed)
    if not _finite(program, point):
        pytest.skip("the program overflows at this point")
    rng = np.random.default_rng(seed + 2 * 10**6)
    tangents = [rng.standard_normal(np.shape(p)) for p in point]
    where = f"seed {seed}:\n{program.source()}"

    value, tangent = rg.jvp(program, tuple(point), tuple(tangents))
    loss, back = rg.vjp(program, *point)
    np.testing.assert_allclose(value, loss, rtol=1e-12, err_msg=where)
    want = _dot(back(1.0), tangents)
    np.testing.assert_allclose(tangent, want, rtol=1e-9, atol=1e-12, err_msg=where)

    weights32 = [(i, c.astype(np.float32)) for i, c in program.weights]
    program32 = Program(program.shapes, program.steps, weights32)
    low = [p.astype(np.float32) for p in point]
    with np.errstate(all="ignore"):
        value32, tangent32 = rg.jvp(
            program32, tuple(low), tuple(t.astype(np.float32) for t in tangents)
        )
    assert np.asarray(value32).dtype == np.asarray(tangent32).dtype == np.float32, where

    if seed % 3 == 0:

        def gradient(*args: Any) -> Any:
            return rg.vjp(program, *args)[1](1.0)

        _, forward_over_reverse = rg.jvp(gradient, tuple(point), tuple(tangents))
        reverse_over_reverse = rg.vjp(lambda *a: _dot(gradient(*a), tangents), *point)[1](1.0)
        for name, a, b in zip("xWvs", forward_over_reverse, reverse_over_reverse):
            a, b = (0.0 if g is None else g for g in (a, b))
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"{name}; {where}")
