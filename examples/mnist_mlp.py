"""A multi-layer perceptron on MNIST: the third model of the Knet tutorial.

One hidden layer of 64 ReLUs (``--hidden 64``; give several sizes for more layers) between
the 784 pixels and the 10 scores, trained with ``nn.nll`` and SGD (learning rate 0.5,
batches of 100). Ten epochs reach about 0.973 test accuracy. The model is a list of
Params, ``[w1, b1, w2, b2, ...]``; ``predict`` is a plain Python loop over its layers.

    python examples/mnist_mlp.py [--epochs 10] [--hidden 64] [--lr 0.5] [--gpu] [--plot PNG]
    mpiexec -n 2 python examples/mnist_mlp.py --distributed
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


def init(sizes: list[int], rng: np.random.Generator) -> list[rg.Param]:
    """Weights (He initialisation) and zero biases for layers of these sizes."""
    model = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)
        model += [rg.Param(w.astype(np.float32)), rg.Param(np.zeros(n_out, np.float32))]
    return model


def predict(model: list[Any], x: Any) -> Any:
    """Class scores: ReLU hidden layers, then a linear output layer."""
    for w, b in zip(model[:-2:2], model[1:-2:2]):
        x = nn.relu(x @ w + b)
    return x @ model[-2] + model[-1]


def loss(model: list[Any], x: Any, labels: Any) -> Any:
    """Mean negative log likelihood of the labels."""
    return nn.nll(predict(model, x), labels)


def accuracy(model: list[Any], x: Any, labels: Any) -> float:
    """The fraction of images classified correctly."""
    return float(np.mean(np.argmax(predict(model, x), axis=1) == labels))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, printing loss and test accuracy per epoch; returns the history."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64], help="hidden layer sizes")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument("--batch", type=int, default=100, help="minibatch size")
    parser.add_argument("--train-size", type=int, default=60000, help="use the first N images")
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

    xtrn, ytrn, xtst, ytst = mnist()
    xtrn, ytrn = xtrn[: args.train_size], ytrn[: args.train_size]
    model = to_device(init([784, *args.hidden, 10], np.random.default_rng(args.seed)), args.gpu)
    dp = None
    if args.distributed:  # every rank runs this script: same batches, each its rows of them
        from rulegrad import distributed as dist

        dist.main_prints()
        dp = dist.DataParallel(model).activate()  # rank 0's model; gradients reduced
    xtst, ytst = to_device([xtst, ytst], args.gpu)

    start, start_acc = float(loss(model, xtst, ytst)), accuracy(model, xtst, ytst)
    print(f"before training: test loss {start:.4f}, test accuracy {start_acc:.4f}")
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
        tests.append(float(loss(model, xtst, ytst)))
        bar.set(**{"test acc": accs[-1]})
        bar.close()
    if args.plot:
        plot_history(
            args.plot,
            title="MLP on MNIST",
            losses={"training loss (epoch mean)": [None, *losses], "test loss": [start, *tests]},
            accuracies={"test accuracy": [start_acc, *accs]},
        )
    return {"start": start, "losses": losses, "test_loss": tests, "test_acc": accs}


if __name__ == "__main__":
    main()
