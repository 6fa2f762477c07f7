"""Linear regression on Boston Housing: the first model of the Knet tutorial.

The 13 standardized features of 506 houses predict the median price (in $1000s) with
``w @ x + b``; ten full-batch gradient steps with learning rate 0.1 take the mean squared
error from about 366 to about 30 (the loss printed after each step, as Knet prints it).

    python examples/housing.py [--steps 10] [--lr 0.1] [--seed 0] [--gpu] [--plot loss.png]
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

import numpy as np
from _common import parse_args, plot_history

import rulegrad as rg
from rulegrad.data import housing
from rulegrad.demo import to_device


def predict(w: Any, b: Any, x: Any) -> Any:
    """Predicted prices, shape (1, N), for features ``x`` of shape (13, N)."""
    return w @ x + b


def loss(w: Any, b: Any, x: Any, y: Any) -> Any:
    """Mean squared error of the predictions (Knet's ``mean(abs2, predict(w, x) - y)``)."""
    return np.mean((predict(w, b, x) - y) ** 2)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train and print the loss after each step; returns ``{"losses": [...], ...}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="full-batch gradient steps")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the weights")
    parser.add_argument("--gpu", action="store_true", help="train on the GPU (needs cupy)")
    parser.add_argument("--jit", action="store_true", help="record the step once, then replay it")
    parser.add_argument("--plot", metavar="PNG", help="save the loss curve to this file")
    args = parse_args(parser, argv)  # checks --gpu and --plot before loading data
    record = rg.jit(loss) if args.jit else partial(rg.diff, loss)  # J = record(...)

    x, y = to_device(housing(), args.gpu)  # x: (13, 506) features, y: (1, 506) prices
    rng = np.random.default_rng(args.seed)
    w = rg.Param(0.1 * rng.standard_normal((1, 13)))  # Knet: Any[0.1*randn(1,13), 0.0]
    b = rg.Param(np.zeros((1, 1)))
    w, b = to_device([w, b], args.gpu)

    start = float(loss(w, b, x, y))
    print(f"step  0 loss {start:8.3f}")
    losses = []
    for step in range(1, args.steps + 1):
        J = record(w, b, x, y)
        for p in (w, b):
            p.value -= args.lr * rg.grad(J, p)
        losses.append(float(loss(w, b, x, y)))
        print(f"step {step:2d} loss {losses[-1]:8.3f}")
    figure = None
    if args.plot:
        figure = plot_history(
            args.plot,
            title="Linear regression on Boston Housing",
            losses={"training loss (mean squared error)": [start, *losses]},
            xlabel="step",
        )
    return {"start": start, "losses": losses, "figure": figure}


if __name__ == "__main__":
    main()
