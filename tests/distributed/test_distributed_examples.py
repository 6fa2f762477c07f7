"""The examples' ``--distributed`` flag under ``mpiexec -n 2``: they train, and only rank 0
prints (skipped without the mpi extra, or without the MNIST/text data in shared/data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_parallel import MPIEXEC, needs_mpi

from rulegrad.data import find_shared_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHARED = find_shared_data()

RUNS = {
    "mnist_mlp": ("mnist", ["--epochs", "1", "--train-size", "1000"]),
    "lenet": ("mnist", ["--epochs", "1", "--train-size", "400", "--test-size", "100"]),
    "charlm": ("text", ["--epochs", "1", "--windows", "3", "--hidden", "32", "--embed", "16",
                        "--batch", "8", "--seqlen", "10", "--generate", "20"]),
}  # fmt: skip


@needs_mpi
@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_trains_on_two_ranks_printing_once(name: str) -> None:
    """``mpiexec -n 2 python examples/NAME.py --distributed`` ends well, with rank 0's
    output alone (each line once) and a finite loss."""
    folder, args = RUNS[name]
    if SHARED is None or not (SHARED / folder).is_dir():
        pytest.skip(f"real data not found: no {folder}/ in ../shared/data")
    env = dict(os.environ, RULEGRAD_DATA=str(SHARED), OMP_NUM_THREADS="1")
    cmd = [MPIEXEC, "-n", "2", sys.executable, str(EXAMPLES / f"{name}.py"), "--distributed"]
    run = subprocess.run(cmd + args, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(set(lines)) > 0  # no line printed by both ranks
    epoch = [line for line in lines if "epoch  1/1" in line]
    assert len(epoch) == 1 and "loss" in epoch[0] and "nan" not in epoch[0]
