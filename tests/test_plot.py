"""rulegrad.plot: the figure of a training history, and the early check for matplotlib."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rulegrad import plot

pytest.importorskip("matplotlib", reason="matplotlib is not installed (the plot extra)")


def test_losses_and_accuracies_on_separate_axes() -> None:
    """Loss and accuracy get an axis each, labelled, sharing whole-epoch ticks from 0."""
    import matplotlib.pyplot as plt

    fig = plot.history_figure(
        {"training loss": [2.3, 0.5, 0.3, 0.25]}, {"test accuracy": [0.1, 0.9, 0.92, 0.95]},
        title="MLP on MNIST",
    )  # fmt: skip
    loss_ax, acc_ax = fig.axes
    assert fig._suptitle.get_text() == "MLP on MNIST"
    assert loss_ax.get_ylabel() == "training loss" and acc_ax.get_ylabel() == "test accuracy"
    assert acc_ax.get_xlabel() == "epoch" and acc_ax.get_ylim() == (0, 1)
    assert list(loss_ax.lines[0].get_xdata()) == [0, 1, 2, 3]  # the step-0 point is there
    ticks = acc_ax.get_xticks()
    assert all(float(t).is_integer() for t in ticks)
    plt.close(fig)


def test_several_curves_share_an_axis_with_a_legend(tmp_path: Path) -> None:
    """Several loss curves go on one axis with a legend; the PNG is written."""
    path = tmp_path / "h.png"
    assert plot.plot_history(path, {"train": [3, 2, 1], "test": [3, 2.5, 2]}) == str(path)
    assert path.stat().st_size > 0
    fig = plot.history_figure({"train": [3, 2, 1], "test": [3, 2.5, 2]}, xlabel="step")
    (ax,) = fig.axes
    assert ax.get_legend() is not None and ax.get_xlabel() == "step"


def test_require_matplotlib_exits_2_when_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without matplotlib require_matplotlib exits with status 2 saying how to install it."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    with pytest.raises(SystemExit) as e:
        plot.require_matplotlib("--plot")
    err = capsys.readouterr().err
    assert e.value.code == 2 and "matplotlib is not installed" in err and "rulegrad[plot]" in err
