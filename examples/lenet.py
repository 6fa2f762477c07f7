"""LeNet on MNIST: the convolutional model of the Knet tutorial.

Two convolution layers (20 and 50 filters of 5x5, each followed by ReLU and 2x2 max
pooling) and two dense layers (500 ReLUs, 10 scores), on images in NCHW layout
(``mnist(flat=False)``: N x 1 x 28 x 28). ``nn.conv4`` and ``nn.pool`` are Knet's
functions, with their gradients; everything else is numpy. SGD with learning rate 0.1 on
batches of 100; three epochs reach about 0.988 test accuracy.

    python examples/lenet.py [--epochs 3] [--lr 0.1] [--batch 100] [--gpu] [--plot PNG]
    mpiexec -n 2 python examples/lenet.py --distributed
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


def init(rng: np.random.Generator) -> list[rg.Param]:
    """``[w1, b1, ..., w4, b4]``: conv filters (out, in, 5, 5), then dense weights (in, out)."""

    def he(*shape: int, fan_in: int) -> rg.Param:
        w = rng.standard_normal(shape) * np.sqrt(2 / fan_in)
        return rg.Param(w.astype(np.float32))

    def zeros(*shape: int) -> rg.Param:
        return rg.Param(np.zeros(shape, np.float32))

    return [
        he(20, 1, 5, 5, fan_in=25), zeros(20, 1, 1),
        he(50, 20, 5, 5, fan_in=500), zeros(50, 1, 1),
        he(800, 500, fan_in=800), zeros(500),
        he(500, 10, fan_in=500), zeros(10),
    ]  # fmt: skip


def predict(model: list[Any], x: Any) -> Any:
    """Class scores for images ``x`` (N, 1, 28, 28)."""
    w1, b1, w2, b2, w3, b3, w4, b4 = model
    h = nn.pool(nn.relu(nn.conv4(w1, x) + b1))  # (N, 20, 12, 12)
    h = nn.pool(nn.relu(nn.conv4(w2, h) + b2))  # (N, 50, 4, 4)
    h = nn.relu(h.reshape(len(x), -1) @ w3 + b3)  # (N, 500)
    return h @ w4 + b4


def loss(model: list[Any], x: Any, labels: Any) -> Any:
    """Mean negative log likelihood of the labels."""
    return nn.nll(predict(model, x), labels)


def accuracy(model: list[Any], x: Any, labels: Any, batch: int = 500) -> float:
    """The fraction of images classified correctly (predicting ``batch`` at a time)."""
    right = sum(
        int(np.sum(np.argmax(predict(model, x[i : i + batch]), axis=1) == labels[i : i + batch]))
        for i in range(0, len(x), batch)
    )
    return right / len(x)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, printing loss and test accuracy per epoch; returns the history."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--batch", type=int, default=100, help="minibatch size")
    parser.add_argument("--train-size", type=int, default=60000, help="use the first N images")
    parser.add_argument("--test-size", type=int, default=10000, help="test on the first N images")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--gpu", action="store_true", help="train on the GPU (needs cupy)")
    parser.add_argument("--jit", action="store_true", help="record the step once, then replay it")
    parser.add_argument("--plot", metavar="PNG", help="save the loss curve to this file")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel on the ranks of mpiexec (rank 0 prints; --batch is the global batch)",
    )
    args = parse_args(parser, argv)  # checks --gpu and --plot before loading data
    record = rg.jit(loss) if args.jit else partial(rg.diff, loss)  # J = record(...)

    xtrn, ytrn, xtst, ytst = mnist(flat=False)
    xtrn, ytrn = xtrn[: args.train_size], ytrn[: args.train_size]
    xtst, ytst = to_device([xtst[: args.test_size], ytst[: args.test_size]], args.gpu)
    model = to_device(init(np.random.default_rng(args.seed)), args.gpu)
    dp = None
    if args.distributed:  # every rank runs this script: same batches, each its rows of them
        from rulegrad import distributed as dist

        dist.main_prints()
        dp = dist.DataParallel(model).activate()  # rank 0's model; gradients reduced

    start, start_acc = float(loss(model, xtst[:500], ytst[:500])), accuracy(model, xtst, ytst)
    print(f"before training: test loss {start:.4f} (first 500 test images)")
    losses, accs, tests = [], [], []
    batches = minibatch(xtrn, ytrn, args.batch, shuffle=True, rng=args.seed)
    for epoch in range(1, args.epochs + 1):
        bar = progress(batches, desc=f"epoch {epoch:2d}/{args.epochs}", close=False)
        total = 0.0
        for xb, yb in bar:
            xb, yb = to_device([xb, yb], args.gpu)
            if dp is not None:
                xb, yb = dp.shard(xb, yb)  # this rank's rows of the global batch
            J = record(model, xb, yb)
            for p in model:
                p.value -= args.lr * rg.grad(J, p)
            total += float(J)
            bar.set(loss=total / (bar.count + 1))
        losses.append(total / len(batches))
        accs.append(accuracy(model, xtst, ytst))
        tests.append(float(loss(model, xtst[:500], ytst[:500])))
        bar.set(**{"test acc": accs[-1]})
        bar.close()
    if args.plot:
        plot_history(
            args.plot,
            title="LeNet on MNIST",
            losses={
                "training loss (epoch mean)": [None, *losses],
                "test loss (first 500 images)": [start, *tests],
            },
            accuracies={"test accuracy": [start_acc, *accs]},
        )
    return {"start": start, "losses": losses, "test_loss": tests, "test_acc": accs}


if __name__ == "__main__":
    main()
