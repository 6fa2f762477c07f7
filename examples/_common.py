"""What the examples share: checking their options up front, and plotting training curves.

The examples import it as ``from _common import ...`` (run as scripts, their own folder is on
``sys.path``). Moving data and models to the GPU and the progress bar come from
``rulegrad.demo``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from rulegrad import RulegradError
from rulegrad.demo import to_device


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``, then check what ``--gpu`` and ``--plot`` need, before any data is loaded.

    A missing cupy (or GPU) or matplotlib ends the program at once with usage and exit
    status 2, as argparse does for a bad option, rather than after loading and training.

    Examples:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--gpu", action="store_true")
        >>> parse_args(parser, [])
        Namespace(gpu=False)
    """
    args = parser.parse_args(argv)
    if getattr(args, "gpu", False):
        try:
            to_device(np.zeros(1, np.float32), True)  # cupy there, and a device it can use
        except SystemExit as e:
            parser.error(str(e.code))
        except RulegradError as e:
            parser.error(f"--gpu: {e}")
    if getattr(args, "plot", None):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error(
                "--plot needs matplotlib, which is not installed: pip install matplotlib "
                "(or run without --plot)"
            )
    return args


def plot_history(
    path: str | os.PathLike[str],
    *,
    title: str,
    losses: dict[str, list[float | None]],
    accuracies: dict[str, list[float | None]] | None = None,
    xlabel: str = "epoch",
    loss_label: str = "loss",
) -> Any:
    """Save a PNG of training curves: losses on one axis, accuracies on a second one below.

    Every curve is indexed from 0, the value before training; ``None`` marks a point not
    measured (a training loss averaged over an epoch has none at epoch 0). The x axis has
    integer ticks.

    Args:
        path: the PNG file to write.
        title: the figure's title.
        losses: curve label -> values at x = 0, 1, 2, ...
        accuracies: the same for accuracies (no second axis when None or empty).
        xlabel: what x counts (``"epoch"``, ``"step"``).
        loss_label: the loss axis' label.

    Returns:
        The matplotlib Figure (already saved and closed).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panels = [(losses, loss_label)] + ([(accuracies, "accuracy")] if accuracies else [])
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(6.4, 2.4 + 2.2 * len(panels)))
    axes = np.atleast_1d(axes)
    for ax, (curves, ylabel) in zip(axes, panels):
        for label, values in curves.items():
            xs = [x for x, v in enumerate(values) if v is not None]
            ax.plot(xs, [values[x] for x in xs], marker="o", label=label)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlabel(xlabel)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")
    return fig
