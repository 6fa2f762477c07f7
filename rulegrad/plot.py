"""Training curves as a PNG: the ``--plot FILE`` of ``rulegrad demo`` and the examples.

`require_matplotlib` is called while the arguments are read, so a missing matplotlib is
said before any training (exit code 2); `plot_history` draws the losses and, on a second
axis of their own, the accuracies, against whole epochs (or steps) from 0, the value before
training.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["plot_history", "history_figure", "require_matplotlib", "INSTALL"]

INSTALL = "pip install 'rulegrad[plot]'"


def require_matplotlib(option: str = "--plot") -> None:
    """Exit with status 2 and a message when matplotlib is not installed.

    Call it before training, where ``option`` was given, so that a run is not lost to a
    plot that cannot be drawn.

    Examples:
        >>> require_matplotlib()  # matplotlib is installed: nothing happens
    """
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        print(
            f"{option}: matplotlib is not installed, so the plot cannot be drawn. "
            f"Install it ({INSTALL}) or run without {option}.",
            file=sys.stderr,
        )
        raise SystemExit(2)


def plot_history(
    path: str | os.PathLike[str],
    losses: Mapping[str, Sequence[float]] | Sequence[float],
    accuracies: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
    *,
    title: str = "Training",
    xlabel: str = "epoch",
    ylabel: str = "loss",
    start: int = 0,
) -> str:
    """Draw loss curves (and accuracy curves on a second axis below) and save them as a PNG.

    Each curve is indexed by whole ``xlabel`` units from ``start``: with ``start=0`` (the
    default) the first value is the one before training. A single curve may be given as a
    plain sequence; several as a mapping from label to values.

    Args:
        path: the PNG to write.
        losses: the loss values (or ``{label: values}``).
        accuracies: accuracy values, drawn on their own axis from 0 to 1 (optional).
        title: the figure's title.
        xlabel: what one step on the x axis is (``"epoch"``, ``"step"``).
        ylabel: the loss axis's label.
        start: the x value of each curve's first point.

    Returns:
        ``path``, as a string.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "history.png")
        >>> plot_history(path, [2.3, 0.4, 0.3], [0.1, 0.9, 0.93], title="MLP") == path
        True
        >>> os.path.getsize(path) > 0
        True
    """
    import matplotlib.pyplot as plt

    fig = history_figure(losses, accuracies, title=title, xlabel=xlabel, ylabel=ylabel, start=start)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def history_figure(
    losses: Mapping[str, Sequence[float]] | Sequence[float],
    accuracies: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
    *,
    title: str = "Training",
    xlabel: str = "epoch",
    ylabel: str = "loss",
    start: int = 0,
) -> Any:
    """The matplotlib Figure `plot_history` saves (the same arguments, without the path)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panels: list[tuple[dict[str, Sequence[float]], str]] = [(_curves(losses, ylabel), ylabel)]
    if accuracies is not None:
        panels.append((_curves(accuracies, "accuracy"), "accuracy"))
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(6, 2.2 + 2.2 * len(panels)), sharex=True, squeeze=False
    )
    for ax, (curves, label) in zip(axes[:, 0], panels):
        for name, values in curves.items():
            xs = range(start, start + len(values))
            ax.plot(xs, list(values), marker="o", markersize=3, label=name)
        ax.set_ylabel(next(iter(curves)) if len(curves) == 1 else label)
        if label == "accuracy":
            ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend()
    bottom = axes[-1, 0]
    bottom.set_xlabel(xlabel)
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _curves(values: Any, label: str) -> dict[str, Sequence[float]]:
    """A mapping of label to values from either a mapping or one sequence."""
    return dict(values) if isinstance(values, Mapping) else {label: values}
