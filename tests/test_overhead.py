"""benchmarks/overhead.py: its columns compute the same step, and the script runs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import rulegrad as rg

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "overhead.py"


@pytest.fixture(scope="module")
def overhead():
    spec = importlib.util.spec_from_file_location("overhead", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("loss", ["mlp_loss", "mlp_loss_nll"])
@pytest.mark.parametrize("jit", [False, True], ids=["diff", "jit"])
def test_hand_written_step_matches_rulegrad(overhead, loss: str, jit: bool) -> None:
    """The hand-written MLP step reports the loss rulegrad computes and makes the same SGD
    update from the same targets, for the plain-ops loss (one-hot) and the relu and nll one
    (labels), so the timings compare one step."""
    rng = np.random.default_rng(0)
    x = rng.random((20, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 20)
    onehot = np.eye(10, dtype=np.float32)[labels]
    target = labels if loss == "mlp_loss_nll" else onehot
    init = overhead.init_mlp(rng)
    f = getattr(overhead, loss)
    record = rg.jit(f) if jit else partial(rg.diff, f)
    w = [rg.Param(a.copy()) for a in init]
    J = record(w, x, target)
    hand = [a.copy() for a in init]
    by_hand = (
        overhead.mlp_step_by_hand_labels if loss == "mlp_loss_nll" else overhead.mlp_step_by_hand
    )
    assert by_hand(hand, x, target) == pytest.approx(float(J), rel=1e-5)
    del J  # (its tape holds the Params' arrays read-only until dropped or differentiated)
    overhead.sgd_step(record, w, x, target)()
    for p, h in zip(w, hand):
        np.testing.assert_allclose(p.value, h, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fused", [False, True], ids=["plain_ops", "cross_entropy"])
def test_pytorch_column_makes_the_same_step(overhead, fused: bool) -> None:
    """PyTorch's MLP step reports the hand-written step's loss and makes the same update,
    and its chain has the hand-written gradient: its column times the same work."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.random((20, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 20)
    onehot = np.eye(10, dtype=np.float32)[labels]
    init = overhead.init_mlp(rng)
    hand = [a.copy() for a in init]
    loss = overhead.mlp_step_by_hand(hand, x, onehot)
    step = overhead.torch_mlp_step(torch, init, x, labels if fused else onehot, fused=fused)
    assert step() == pytest.approx(loss, rel=1e-5)
    for t, h in zip(step.weights, hand):
        np.testing.assert_allclose(t.detach().numpy(), h, rtol=1e-4, atol=1e-6)
    x3 = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(overhead.torch_chain(torch, x3), overhead.chain_by_hand(x3))


def test_script_prints_its_tables() -> None:
    """One quick run prints the per-primitive table and both MLP tables with ratios."""
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--repeat", "1"], capture_output=True, text=True, check=True
    ).stdout
    assert "Per-primitive forward+backward" in out
    assert "loss in plain numpy ops" in out and "loss in rg.nn.relu and rg.nn.nll" in out
    assert out.count("rulegrad jit") == 3
    assert out.count("hand-written numpy") == 3
    assert "rulegrad jvp" in out and "rulegrad f_jvp" in out
    ratios = out.split("Forward mode on the same chain")[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split("/")[0].strip() for line in ratios] == [
        "rulegrad jvp", "rulegrad jvp", "rulegrad jvp", "rulegrad f_jvp (linearize)"
    ]  # fmt: skip
    for line in ratios:  # a number, or a library that is not installed
        assert line.endswith("not installed") or float(line.split()[-1]) > 0


@pytest.mark.slow
def test_torch_func_jvp_column_gives_the_chains_derivative(overhead) -> None:
    """torch.func.jvp's chain pushes the tangent rg.jvp does: its column times the same work."""
    torch = pytest.importorskip("torch")
    x3 = np.array([0.1, -0.2, 0.3])
    want = rg.jvp(overhead.chain, (x3,), (np.ones(3),))[1]
    assert float(overhead.torch_jvp_chain(torch, x3)) == pytest.approx(want, rel=1e-12)
