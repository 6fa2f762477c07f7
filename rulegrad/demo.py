"""``rulegrad demo``: train a small MLP and print the loss falling and the test accuracy.

The README's first job. It trains a 784-64-10 ReLU network on MNIST when the files are in
the data folder (``rulegrad.data.mnist``: $RULEGRAD_DATA, ``shared/data`` or the cache, and
downloading when the network allows); otherwise, or with ``--synthetic``, on ten noisy
spiral arms generated in code. The model is plain numpy code and ``rg.diff``/``rg.grad``.

Also home to `progress`, the text progress bar the examples use (Knet's ``progress``).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import numpy as np

__all__ = [
    # helpers the examples share
    "progress", "to_device", "save_plot",
    # the demo itself
    "main", "add_arguments", "run", "spirals", "mlp", "predict", "loss", "mean_loss",
    "accuracy", "train",
]  # fmt: skip


# ---- a progress bar: plain text, no dependency ----
class progress:  # noqa: N801  (used like a function, as Knet's progress and tqdm)
    """Wrap an iterable in a text progress bar.

    On a terminal the bar is redrawn in place (``\\r``) at most ten times a second; elsewhere
    (a log file, a pipe, a test) only the finished bar is printed, one line per loop.
    ``bar.set(loss=...)`` adds numbers after the bar.

    Args:
        iterable: what to loop over.
        desc: a label printed before the bar.
        total: the number of items when ``len(iterable)`` does not work.
        file: where to write (default ``sys.stdout``).
        width: the bar's width in characters.
        close: print the finished line when the loop ends; with False, call `close`
            yourself (after adding numbers computed after the loop, say).

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = progress(range(4), desc="epoch 1", file=out)
        >>> for i in bar:
        ...     bar.set(loss=1.0 / (i + 1))
        >>> print(out.getvalue().replace(bar.elapsed_text(), "0.0s"), end="")
        epoch 1 [##############################] 4/4 0.0s loss 0.2500
    """

    def __init__(
        self,
        iterable: Iterable[Any],
        desc: str = "",
        *,
        total: int | None = None,
        file: TextIO | None = None,
        width: int = 30,
        close: bool = True,
    ) -> None:
        self.iterable = iterable
        self.desc = desc
        self.total = total if total is not None else _length(iterable)
        self.file = file if file is not None else sys.stdout
        self.width = width
        self.count = 0
        self.metrics: dict[str, Any] = {}
        self.start = time.perf_counter()
        self.live = bool(getattr(self.file, "isatty", lambda: False)())
        self._drawn = 0.0
        self._close = close

    def set(self, **metrics: Any) -> None:
        """Show these numbers (``name value``) after the bar."""
        self.metrics.update(metrics)

    def elapsed_text(self) -> str:
        """Seconds since the loop started, as the bar prints them."""
        return f"{time.perf_counter() - self.start:.1f}s"

    def line(self) -> str:
        """The bar as one line of text."""
        if self.total:
            done = min(self.count, self.total) * self.width // self.total
            bar = f"[{'#' * done}{'.' * (self.width - done)}] {self.count}/{self.total}"
        else:
            bar = f"{self.count} it"
        extra = "".join(f" {k} {_fmt(v)}" for k, v in self.metrics.items())
        return f"{self.desc + ' ' if self.desc else ''}{bar} {self.elapsed_text()}{extra}"

    def __iter__(self) -> Iterator[Any]:
        self.start = time.perf_counter()
        for item in self.iterable:
            yield item
            self.count += 1
            if self.live and time.perf_counter() - self._drawn > 0.1:
                self._drawn = time.perf_counter()
                self.file.write("\r" + self.line())
                self.file.flush()
        if self._close:
            self.close()

    def close(self) -> None:
        """Print the finished line (ending it with a newline)."""
        self.file.write(("\r" if self.live else "") + self.line() + "\n")
        self.file.flush()


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)


# ---- the examples' --gpu and --plot ----
def to_device(obj: Any, gpu: bool) -> Any:
    """``obj`` (an array, a Param, or a list/tuple/dict of them) on the GPU if ``gpu``.

    Moving is ``rg.to(obj, "gpu")``; without it or without cupy this exits with a message.

    Examples:
        >>> to_device([np.ones(2)], gpu=False)
        [array([1., 1.])]
    """
    if not gpu:
        return obj
    import importlib.util

    import rulegrad as rg

    if importlib.util.find_spec("cupy") is None or not hasattr(rg, "to"):
        raise SystemExit(
            "--gpu: cupy not available. On a machine with a CUDA device, install the GPU "
            "extra for its CUDA version (pip install 'rulegrad[cuda12]' or "
            "'rulegrad[cuda13]'), or run without --gpu."
        )
    return rg.to(obj, "gpu")


def save_plot(
    curves: dict[str, list[float]], path: str, *, xlabel: str = "epoch", start: int = 1
) -> bool:
    """Plot named curves against whole epochs from ``start`` and save a PNG (`rulegrad.plot`).

    Curves whose name has "accuracy" in it go on an axis of their own, below the others.
    Returns False, saying why, when matplotlib is missing; call
    `rulegrad.plot.require_matplotlib` before training to say it first.

    Examples:
        >>> import contextlib, io, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
        >>> with contextlib.redirect_stdout(io.StringIO()):
        ...     written = save_plot({"loss": [3.0, 2.0, 1.5]}, path)
        >>> written == os.path.isfile(path)
        True
    """
    import importlib.util

    from .plot import INSTALL, plot_history

    if importlib.util.find_spec("matplotlib") is None:
        print(f"--plot: matplotlib is not installed ({INSTALL}), so {path} was not written")
        return False
    accuracies = {k: v for k, v in curves.items() if "accuracy" in k}
    losses = {k: v for k, v in curves.items() if k not in accuracies}
    title = ", ".join(curves)
    plot_history(path, losses, accuracies or None, title=title, xlabel=xlabel, start=start)
    print(f"saved {path}")
    return True


# ---- data ----
def spirals(
    n: int = 6000, classes: int = 10, *, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Points on ``classes`` interleaved spiral arms in the plane, with Gaussian noise.

    Args:
        n: number of points (``n // classes`` per arm).
        classes: number of arms, one class each.
        noise: standard deviation of the noise added to the angle (radians).
        seed: random seed.

    Returns:
        ``x`` of shape (n, 2) float32 and integer labels ``y`` of shape (n,).

    Examples:
        >>> x, y = spirals(100, 10)
        >>> x.shape, x.dtype, np.bincount(y).tolist() == [10] * 10
        ((100, 2), dtype('float32'), True)
    """
    rng = np.random.default_rng(seed)
    per = n // classes
    r = np.tile(np.linspace(0.1, 1.0, per), classes)
    y = np.repeat(np.arange(classes), per)
    theta = 2 * np.pi * y / classes + 3.0 * r + noise * rng.standard_normal(per * classes)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1).astype(np.float32)
    order = rng.permutation(len(y))
    return x[order], y[order]


def _data(
    synthetic: bool, seed: int
) -> tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The data set to train on: MNIST if it can be had, else spirals; and its description."""
    if not synthetic:
        from rulegrad.data import DataNotFoundError, mnist

        try:
            return "MNIST (60000 train, 10000 test images)", mnist()
        except (DataNotFoundError, ValueError) as e:
            print(f"MNIST is not available ({e}); using a synthetic data set instead.\n")
    name = "synthetic: 10 spiral arms in the plane (6000 train, 2000 test points)"
    return name, (*spirals(6000, seed=seed), *spirals(2000, seed=seed + 1))


# ---- the model: a list of (weight, bias) Params ----
def mlp(sizes: Iterable[int], *, seed: int = 0, dtype: Any = np.float32) -> list[Any]:
    """A multi-layer perceptron's Params, ``[w1, b1, w2, b2, ...]`` (He initialisation).

    Examples:
        >>> [p.shape for p in mlp([784, 64, 10])]
        [(784, 64), (64,), (64, 10), (10,)]
    """
    import rulegrad as rg

    rng = np.random.default_rng(seed)
    sizes = list(sizes)
    model = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
        model += [rg.Param(w.astype(dtype)), rg.Param(np.zeros(n_out, dtype))]
    return model


def predict(model: list[Any], x: Any) -> Any:
    """Class scores: ReLU hidden layers, a linear output layer."""
    from rulegrad import nn

    for i in range(0, len(model) - 2, 2):
        x = nn.relu(x @ model[i] + model[i + 1])
    return x @ model[-2] + model[-1]


def loss(model: list[Any], x: Any, y: np.ndarray) -> Any:
    """Mean negative log likelihood of the labels ``y`` under the softmax of the scores."""
    from rulegrad import nn

    return nn.nll(predict(model, x), y)


def mean_loss(model: list[Any], x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    """The mean of `loss` over all of ``x`` (computed in batches, without recording)."""
    total = sum(
        float(loss(model, x[i : i + batch], y[i : i + batch])) * len(y[i : i + batch])
        for i in range(0, len(x), batch)
    )
    return total / max(len(x), 1)


def accuracy(model: list[Any], x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    """The fraction of ``x`` classified as ``y`` (predicting in batches)."""
    right = sum(
        int(np.sum(np.argmax(predict(model, x[i : i + batch]), axis=1) == y[i : i + batch]))
        for i in range(0, len(x), batch)
    )
    return right / max(len(x), 1)


def train(
    model: list[Any],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    epochs: int,
    lr: float,
    batch: int = 100,
    seed: int = 0,
    file: TextIO | None = None,
    jit: bool = False,
) -> list[tuple[float, float]]:
    """Train with SGD, one progress line per epoch; return ``(mean loss, test accuracy)``s.

    With ``jit``, the step is recorded once and replayed (``rg.jit``); the results are the
    same."""
    import rulegrad as rg
    from rulegrad.data import minibatch

    record = rg.jit(loss) if jit else functools.partial(rg.diff, loss)
    xtrn, ytrn, xtst, ytst = data
    batches = minibatch(xtrn, ytrn, batch, shuffle=True, rng=seed)
    history = []
    for epoch in range(1, epochs + 1):
        bar = progress(batches, desc=f"epoch {epoch:>2}/{epochs}", file=file, close=False)
        total = 0.0
        for xb, yb in bar:
            J = record(model, xb, yb)
            for p in model:
                p.value -= lr * rg.grad(J, p)
            total += float(rg.value(J))
            bar.set(loss=total / (bar.count + 1))
        acc = accuracy(model, xtst, ytst)
        history.append((total / max(len(batches), 1), acc))
        bar.set(**{"test acc": acc})
        bar.close()
    return history


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``rulegrad demo``."""
    from .cli import positive_int

    parser.add_argument(
        "--epochs", type=positive_int, default=None,
        help="passes over the training data (default: 10 on MNIST, 30 on the spirals)",
    )  # fmt: skip
    parser.add_argument("--synthetic", action="store_true", help="use generated data, not MNIST")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--jit", action="store_true", help="record the step once, replay it")
    parser.add_argument(
        "--plot", metavar="FILE.png", default=None,
        help="save the loss and accuracy per epoch as a PNG (needs matplotlib)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Train as the parsed ``args`` say; returns the exit code (0)."""
    from .cli import plural

    if args.plot:
        from .plot import require_matplotlib

        require_matplotlib()
    name, data = _data(args.synthetic, args.seed)
    is_mnist = name.startswith("MNIST")
    epochs = args.epochs if args.epochs is not None else (10 if is_mnist else 30)
    lr = 0.5 if is_mnist else 1.0
    sizes = [data[0].shape[1], 64, 10]
    model = mlp(sizes, seed=args.seed)
    print(f"Training a {'-'.join(map(str, sizes))} MLP on {name}, SGD lr {lr}, batch 100.")
    before = (mean_loss(model, data[0], data[1]), accuracy(model, data[2], data[3]))
    start = time.perf_counter()
    history = train(model, data, epochs=epochs, lr=lr, seed=args.seed, jit=args.jit)
    took = time.perf_counter() - start
    acc = history[-1][1]
    print(f"test accuracy {acc:.4f} after {plural(epochs, 'epoch')} ({took:.1f}s)")
    if args.plot:
        from .plot import plot_history

        losses, accs = zip(before, *history)
        title = f"rulegrad demo: {'-'.join(map(str, sizes))} MLP, {name.split()[0].strip(':')}"
        plot_history(args.plot, {"training loss": losses}, {"test accuracy": accs}, title=title)
        print(f"saved {args.plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``rulegrad demo`` with these arguments; returns the exit code.

    Examples:
        >>> main(["--synthetic", "--epochs", "1"])  # doctest: +ELLIPSIS
        Training a 2-64-10 MLP on synthetic: ...
        epoch  1/1 [##...##] 60/60 ...
        test accuracy ... after 1 epoch (...s)
        0
    """
    from .cli import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="rulegrad demo",
        description="Train a small MLP with rulegrad and print the loss and test accuracy.",
        formatter_class=HelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
