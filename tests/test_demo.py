"""rulegrad demo: the progress bar, the synthetic data, and training on either data set."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rulegrad import cli, demo
from rulegrad.data import DataNotFoundError, find_shared_data


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_prints_one_line_when_not_a_terminal() -> None:
    """Off a terminal the bar writes only its finished line, with the numbers set."""
    out = io.StringIO()
    bar = demo.progress(range(5), desc="epoch", file=out)
    for i in bar:
        bar.set(loss=float(i))
    text = out.getvalue()
    assert text.count("\n") == 1 and "\r" not in text
    assert text.startswith("epoch [" + "#" * 30 + "] 5/5 ") and text.endswith("loss 4.0000\n")


def test_progress_redraws_in_place_on_a_terminal() -> None:
    """On a terminal the bar is redrawn with carriage returns and ends with a newline."""
    out = _Terminal()
    bar = demo.progress(range(3), file=out)
    bar._drawn = -1e9  # draw at the first item
    list(bar)
    assert out.getvalue().startswith("\r") and out.getvalue().endswith(
        "3/3 " + bar.elapsed_text() + "\n"
    )


def test_progress_close_false_waits_for_close() -> None:
    """With close=False nothing is printed until close(), so numbers can be added after the loop."""
    out = io.StringIO()
    bar = demo.progress([1, 2], file=out, close=False)
    list(bar)
    assert out.getvalue() == ""
    bar.set(acc=0.5)
    bar.close()
    assert out.getvalue().endswith("acc 0.5000\n")


def test_progress_without_length() -> None:
    """An iterator without len counts items instead of drawing a bar."""
    out = io.StringIO()
    list(demo.progress(iter(range(4)), file=out))
    assert "4 it" in out.getvalue()


def test_spirals_are_balanced_and_seeded() -> None:
    """spirals gives float32 points, equal class counts, and the same data for the same seed."""
    x, y = demo.spirals(1000, 10, seed=3)
    assert x.shape == (1000, 2) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [100] * 10
    assert np.array_equal(x, demo.spirals(1000, 10, seed=3)[0])


def test_demo_learns_the_spirals(capsys: pytest.CaptureFixture[str]) -> None:
    """Thirty epochs on the synthetic spirals reach 0.9 test accuracy, the loss falling."""
    assert demo.main(["--synthetic"]) == 0
    lines = capsys.readouterr().out.splitlines()
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) == 30
    losses = [float(line.split(" loss ")[1].split()[0]) for line in epochs]
    assert losses[-1] < 0.5 * losses[0]
    assert float(lines[-1].split()[2]) >= 0.9


def test_demo_with_jit_learns_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    """--jit replays the recorded step: the same losses and accuracy as recording each step."""
    outputs = []
    for flags in ([], ["--jit"]):
        assert demo.main(["--synthetic", "--epochs", "5", *flags]) == 0
        lines = capsys.readouterr().out.splitlines()
        outputs.append([line.split(" loss ")[1] for line in lines if line.startswith("epoch")])
        outputs[-1].append(lines[-1].split("(")[0])  # the final accuracy, without the time
    assert outputs[0] == outputs[1]


def test_rulegrad_demo_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`rulegrad demo --synthetic --epochs 1` runs through the command line."""
    assert cli.main(["demo", "--synthetic", "--epochs", "1", "--seed", "2"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_demo_falls_back_to_synthetic_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When MNIST cannot be had the demo says so and trains on the spirals."""

    def missing(*args: object, **kwargs: object) -> None:
        raise DataNotFoundError("MNIST files missing (offline)")

    monkeypatch.setattr("rulegrad.data.mnist", missing)
    assert demo.main(["--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "MNIST is not available" in out and "synthetic" in out


@pytest.mark.slow
@pytest.mark.skipif(
    find_shared_data() is None or not (find_shared_data() / "mnist").is_dir(),
    reason="MNIST not found in ../shared/data (see its README)",
)
def test_demo_on_mnist_one_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    """One epoch of the MNIST MLP reaches 0.9 test accuracy."""
    assert demo.main(["--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "MNIST" in out
    assert float(out.splitlines()[-1].split()[2]) >= 0.9


def test_demo_plot_without_matplotlib_fails_before_training(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--plot without matplotlib exits 2 saying so, before any training is done."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    assert cli.main(["demo", "--synthetic", "--epochs", "1", "--plot", "x.png"]) == 2
    out, err = capsys.readouterr()
    assert "matplotlib is not installed" in err and "Training" not in out


def test_demo_plot_has_loss_and_accuracy_from_epoch_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--plot saves a PNG of the loss and the test accuracy, from before training (epoch 0)."""
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (the plot extra)")
    from rulegrad import plot

    drawn = {}
    monkeypatch.setattr(plot, "history_figure", _spy(plot.history_figure, drawn))
    path = tmp_path / "demo.png"
    assert demo.main(["--synthetic", "--epochs", "2", "--plot", str(path)]) == 0
    assert path.stat().st_size > 0 and f"saved {path}" in capsys.readouterr().out
    (losses,), (accs,) = drawn["args"][0].values(), drawn["args"][1].values()
    assert len(losses) == len(accs) == 3 and losses[0] > losses[-1] and accs[0] < accs[-1]


def test_epochs_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    """One epoch is reported as "1 epoch", not "1 epochs"."""
    assert demo.main(["--synthetic", "--epochs", "1"]) == 0
    assert "after 1 epoch (" in capsys.readouterr().out


def _spy(func: Any, record: dict) -> Any:
    def spy(*args: Any, **kwargs: Any) -> Any:
        record["args"] = args
        return func(*args, **kwargs)

    return spy
