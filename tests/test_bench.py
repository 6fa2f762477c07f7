"""rulegrad bench: every column computes the same gradients, and the table is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import bench
from rulegrad.data import find_shared_data
from rulegrad.rules.nn import _lstm_sample

SHARED = find_shared_data()


def needs(*folders: str) -> pytest.MarkDecorator:
    """Skip unless each ``shared/data/<folder>`` exists."""
    return pytest.mark.skipif(
        SHARED is None or not all((SHARED / f).is_dir() for f in folders),
        reason=f"real data not found: {', '.join(folders)} missing from ../shared/data",
    )


@pytest.fixture(autouse=True)
def _data_from_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    if SHARED is not None:
        monkeypatch.setenv("RULEGRAD_DATA", str(SHARED))


@needs("housing", "mnist", "text")
@pytest.mark.parametrize("name", ["LinReg", "Softmax", "MLP", "CharLM"])
def test_columns_agree_with_hand_written_gradients(name: str) -> None:
    """rulegrad's and autograd's gradients match the hand-written ones (checked in run_row)."""
    results = bench.run_row(bench.ROWS[name](quick=True), repeats=1)
    main = results[0]
    assert main.row == name and set(main.errors) >= {"rulegrad"}
    assert all(err < 1e-3 for err in main.errors.values())
    assert all(t is None or t > 0 for t in main.medians.values())
    if name == "CharLM":
        assert results[1].row == "CharLM, LSTM in plain ops"


@needs("mnist")
def test_lenet_columns_agree() -> None:
    """LeNet's columns agree too (needs conv4 and pool kernels)."""
    row = bench.ROWS["LeNet"](quick=True)
    row.batches = [(x[:20], y[:20]) for x, y in row.batches]
    assert bench.run_row(row, repeats=1)[0].errors["rulegrad"] < 1e-3


def test_a_wrong_gradient_is_caught() -> None:
    """The gradient check before timing fails loudly on a wrong column."""
    want = [np.ones(3)]
    assert bench._check("ok", [np.ones(3)], want) == 0.0
    with pytest.raises(AssertionError, match="differ from hand-written numpy"):
        bench._check("bad", [np.ones(3) * 1.01], want)


def test_fused_lstm_gradient_checks() -> None:
    """The fused lstm primitive's rule matches numeric differences for every argument."""
    args, _ = _lstm_sample(np.random.default_rng(0))
    r = [np.random.default_rng(1).standard_normal(a.shape) for a in rg.nn.lstm(*args)]

    def f(*xs: object) -> object:
        hs, cs, gates = rg.nn.lstm(*xs)
        return np.sum(hs * r[0]) + np.sum(cs * r[1]) + np.sum(gates * r[2])

    assert rg.checkgrad(f, *args) < 1e-5


def test_fused_lstm_matches_plain_ops() -> None:
    """The fused LSTM and the plain per-step one give the same states and gradients."""
    from types import SimpleNamespace

    from rulegrad import nn

    args, _ = _lstm_sample(np.random.default_rng(2))
    ops = SimpleNamespace(np=np, sigm=nn.sigm)
    hs = rg.nn.lstm(*args)[0]
    plain = bench._lstm_steps(ops, *args)
    assert np.allclose(hs.reshape(plain.shape), plain)
    g_fused = rg.grad(lambda w: np.sum(rg.nn.lstm(w, *args[1:])[0] ** 2))(args[0])
    g_plain = rg.grad(lambda w: np.sum(bench._lstm_steps(ops, w, *args[1:]) ** 2))(args[0])
    assert np.allclose(g_fused, g_plain)


def test_format_table() -> None:
    """The table shows ms and the ratio to numpy, n/a for missing columns, and the target."""
    res = bench.Result(
        "MLP", "6 batches", {"numpy": 0.010, "rulegrad": 0.012, "jit": 0.011}, {}, {}
    )
    table = bench.format_table([res])
    row = "| MLP | 6 batches | 12.0 ms (1.20) | 11.0 ms (1.10) | 10.0 ms (1.00) | n/a | n/a |"
    assert row + " <= 1.15 |" in table


@needs("housing")
def test_main_runs_one_row(capsys: pytest.CaptureFixture[str]) -> None:
    """`rulegrad bench --quick LinReg` prints the table."""
    assert bench.main(["--quick", "--repeats", "1", "LinReg"]) == 0
    out = capsys.readouterr().out
    assert "| LinReg |" in out and "numpy by hand" in out


def test_main_rejects_unknown_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown row name is a usage error (exit 2) naming the rows there are."""
    with pytest.raises(SystemExit) as e:
        bench.main(["Transformer"])
    assert e.value.code == 2 and "choose from LinReg" in capsys.readouterr().err


def test_no_row_could_run_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When every row fails (its data missing, say) bench exits 1 saying so, no empty table;
    the BLAS pools are limited to --threads in this process while the rows run."""
    from threadpoolctl import threadpool_info

    seen: list[list[int]] = []

    def missing(quick: bool) -> bench.Row:
        seen.append([pool["num_threads"] for pool in threadpool_info()])
        raise OSError("housing.data: not found and the download failed")

    monkeypatch.setattr(bench, "ROWS", {"LinReg": missing, "MLP": missing})
    assert bench.main(["--quick", "--threads", "1"]) == 1
    captured = capsys.readouterr()
    assert "no row could run (LinReg, MLP" in captured.err and "| row |" not in captured.out
    assert len(seen) == 2 and all(n == 1 for pools in seen for n in pools)


@needs("housing")
def test_bench_from_the_checkouts_parent_folder(tmp_path: Path) -> None:
    """`python -m rulegrad bench` runs from a folder holding a folder named rulegrad (a
    checkout seen from its parent), which must neither shadow the package nor be re-run."""
    (tmp_path / "rulegrad").mkdir()
    env = {**os.environ, "RULEGRAD_DATA": str(SHARED)}
    done = subprocess.run(
        [sys.executable, "-m", "rulegrad", "bench", "--quick", "--repeats", "1", "LinReg"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "| LinReg |" in done.stdout
