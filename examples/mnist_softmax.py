"""Softmax regression on MNIST: the second model of the Knet tutorial.

Scores ``x @ w + b`` for the ten digits, trained with the negative log likelihood of the
softmax (``nn.nll``), SGD with learning rate 0.5 on batches of 100. Ten epochs reach
about 0.92 test accuracy.

    python examples/mnist_softmax.py [--epochs 10] [--lr 0.5] [--batch 100] [--gpu] [--plot PNG]
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

import numpy as np
from _common import parse_args, plot_history

import rulegrad as rg
from rulegrad import nn
from rulegrad.data import minibatch, mnist
from rulegrad.demo import progress, to_device


def predict(w: Any, b: Any, x: Any) -> Any:
    """Class scores, shape (N, 10), for images ``x`` of shape (N, 784)."""
    return x @ w + b


def loss(w: Any, b: Any, x: Any, labels: Any) -> Any:
    """Mean negative log likelihood of the labels under the softmax of the scores."""
    return nn.nll(predict(w, b, x), labels)


def accuracy(w: Any, b: Any, x: Any, labels: Any) -> float:
    """The fraction of images classified correctly."""
    return float(np.mean(np.argmax(predict(w, b, x), axis=1) == labels))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, printing loss and test accuracy per epoch; returns the history."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument("--batch", type=int, default=100, help="minibatch size")
    parser.add_argument("--train-size", type=int, default=60000, help="use the first N images")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--gpu", action="store_true", help="train on the GPU (needs cupy)")
    parser.add_argument("--jit", action="store_true", help="record the step once, then replay it")
    parser.add_argument("--plot", metavar="PNG", help="save the loss curve to this file")
    args = parse_args(parser, argv)  # checks --gpu and --plot before loading data
    record = rg.jit(loss) if args.jit else partial(rg.diff, loss)  # J = record(...)

    xtrn, ytrn, xtst, ytst = mnist()
    xtrn, ytrn = xtrn[: args.train_size], ytrn[: args.train_size]
    rng = np.random.default_rng(args.seed)
    w = rg.Param(0.01 * rng.standard_normal((784, 10)).astype(np.float32))
    b = rg.Param(np.zeros(10, np.float32))
    w, b = to_device([w, b], args.gpu)
    xtst, ytst = to_device([xtst, ytst], args.gpu)

    start, start_acc = float(loss(w, b, xtst, ytst)), accuracy(w, b, xtst, ytst)
    print(f"before training: test loss {start:.4f}, test accuracy {start_acc:.4f}")
    losses, accs, tests = [], [], []
    batches = minibatch(xtrn, ytrn, args.batch, shuffle=True, rng=args.seed)
    for epoch in range(1, args.epochs + 1):
        bar = progress(batches, desc=f"epoch {epoch:2d}/{args.epochs}", close=False)
        total = 0.0
        for xb, yb in bar:
            xb, yb = to_device([xb, yb], args.gpu)
            J = record(w, b, xb, yb)
            for p in (w, b):
                p.value -= args.lr * rg.grad(J, p)
            total += float(J)
            bar.set(loss=total / (bar.count + 1))
        losses.append(total / len(batches))
        accs.append(accuracy(w, b, xtst, ytst))
        tests.append(float(loss(w, b, xtst, ytst)))
        bar.set(**{"test acc": accs[-1]})
        bar.close()
    if args.plot:
        plot_history(
            args.plot,
            title="Softmax regression on MNIST",
            losses={"training loss (epoch mean)": [None, *losses], "test loss": [start, *tests]},
            accuracies={"test accuracy": [start_acc, *accs]},
        )
    return {"start": start, "losses": losses, "test_loss": tests, "test_acc": accs}


if __name__ == "__main__":
    main()
