"""A sigmoid autoencoder on MNIST: the seeds' model, trained with Adam.

Each image (a column of 784 pixels, Knet's features x samples layout) is encoded twice and
decoded once, every layer ``sigm(w @ h + b)``: 784 -> 256 -> 32 -> 784. The loss is the
squared reconstruction error per image. The Params are updated by ``rulegrad.optim``
(``update`` with one ``Adam`` per array), Knet's ``update!``.

    python examples/autoencoder.py [--epochs 5] [--sizes 256 32] [--lr 0.002] [--gpu] [--plot PNG]
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
from rulegrad.optim import Adam, optimizers, update


def init(sizes: list[int], rng: np.random.Generator) -> list[rg.Param]:
    """``[w1, b1, w2, b2, ...]`` with ``w`` of shape (out, in) and column biases."""
    model = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        model += [rg.Param(w.astype(np.float32)), rg.Param(np.zeros((n_out, 1), np.float32))]
    return model


def reconstruct(model: list[Any], x: Any) -> Any:
    """Encode and decode the columns of ``x``: ``h = sigm(w @ h + b)`` layer by layer."""
    h = x
    for w, b in zip(model[::2], model[1::2]):
        h = nn.sigm(w @ h + b)
    return h


def loss(model: list[Any], x: Any) -> Any:
    """Squared reconstruction error per image (the seeds' ``sum((h - x)**2) / N``)."""
    return np.sum((reconstruct(model, x) - x) ** 2) / x.shape[1]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, printing training and test reconstruction error per epoch; returns the history."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 32], help="code sizes")
    parser.add_argument("--lr", type=float, default=0.002, help="Adam's learning rate")
    parser.add_argument("--batch", type=int, default=100, help="minibatch size")
    parser.add_argument("--train-size", type=int, default=60000, help="use the first N images")
    parser.add_argument("--test-size", type=int, default=10000, help="test on the first N images")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--gpu", action="store_true", help="train on the GPU (needs cupy)")
    parser.add_argument("--jit", action="store_true", help="record the step once, then replay it")
    parser.add_argument("--plot", metavar="PNG", help="save the loss curves to this file")
    args = parse_args(parser, argv)  # checks --gpu and --plot before loading data
    record = rg.jit(loss) if args.jit else partial(rg.diff, loss)  # J = record(...)

    xtrn, _, xtst, _ = mnist()
    xtrn, xtst = xtrn[: args.train_size].T, xtst[: args.test_size].T  # columns are images
    sizes = [784, *args.sizes, 784]
    model = to_device(init(sizes, np.random.default_rng(args.seed)), args.gpu)
    opts = optimizers(model, Adam, lr=args.lr)
    xtst = to_device(xtst, args.gpu)

    start = float(loss(model, xtst))
    print(f"{'-'.join(map(str, sizes))} autoencoder; before training: test error {start:.3f}")
    losses, tests = [], []
    batches = minibatch(xtrn, xtrn[:1], args.batch, shuffle=True, rng=args.seed, axis=1)
    for epoch in range(1, args.epochs + 1):
        bar = progress(batches, desc=f"epoch {epoch:2d}/{args.epochs}", close=False)
        total = 0.0
        for xb, _ in bar:
            xb = to_device(xb, args.gpu)
            J = record(model, xb)
            update(model, [rg.grad(J, p) for p in model], opts)
            total += float(J)
            bar.set(error=total / (bar.count + 1))
        losses.append(total / len(batches))
        tests.append(float(loss(model, xtst)))
        bar.set(**{"test error": tests[-1]})
        bar.close()
    if args.plot:
        plot_history(
            args.plot,
            title=f"{'-'.join(map(str, sizes))} autoencoder on MNIST",
            losses={"training error (epoch mean)": [None, *losses], "test error": [start, *tests]},
            loss_label="squared error per image",
        )
    return {"start": start, "losses": losses, "test": tests}


if __name__ == "__main__":
    main()
