"""Gaussian-process regression: fit the kernel's hyperparameters by the marginal likelihood.

Forty noisy observations of ``sin(3 x)`` on [-2, 2] (noise standard deviation 0.1). The
model: a GP with the kernel ``s^2 exp(-(x - x')^2 / (2 l^2))`` plus noise variance
``n^2``. The loss is the negative log marginal likelihood, written the way a scientist
writes it with scipy (``scipy.linalg.cholesky`` and ``cho_solve``), plus a weak normal
prior on the log hyperparameters (``scipy.stats.norm.logpdf``); rulegrad differentiates
through all three. 200 Adam steps (lr 0.05) from ``l = s = n = 1`` take the loss from
52.3 to -3.26 and recover the noise level (``n = 0.113``, true 0.1), with length scale
``l = 0.65`` and signal scale ``s = 1.19`` (``sin(3 x)`` varies on that scale).

    python examples/gp_marginal_likelihood.py [--steps 200] [--lr 0.05] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np
import scipy.linalg
import scipy.stats

import rulegrad as rg


def kernel(x: Any, log_l: Any, log_s: Any) -> Any:
    """The squared-exponential kernel matrix of points ``x`` (shape (N,))."""
    d = x[:, None] - x[None, :]
    return np.exp(2 * log_s) * np.exp(-(d * d) / (2 * np.exp(2 * log_l)))


def loss(theta: Any, x: Any, y: Any) -> Any:
    """Negative log marginal likelihood of ``y``, minus a N(0, 2^2) log prior on theta.

    ``theta = (log l, log s, log n)``: ``K + n^2 I = L L^T`` and
    ``-log p(y) = y^T (K + n^2 I)^-1 y / 2 + sum(log diag L) + N log(2 pi) / 2``.
    """
    log_l, log_s, log_n = theta[0], theta[1], theta[2]
    cov = kernel(x, log_l, log_s) + np.exp(2 * log_n) * np.eye(len(x))
    low = scipy.linalg.cholesky(cov, lower=True)
    alpha = scipy.linalg.cho_solve((low, True), y)
    nll = y @ alpha / 2 + np.sum(np.log(np.diagonal(low))) + len(x) * math.log(2 * math.pi) / 2
    return nll - np.sum(scipy.stats.norm.logpdf(theta, loc=0.0, scale=2.0))


def data(seed: int = 0, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points on [-2, 2] and noisy ``sin(3 x)`` (noise sd 0.1)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2.0, 2.0, n))
    return x, np.sin(3 * x) + 0.1 * rng.standard_normal(n)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Fit and print the loss and hyperparameters; returns them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="Adam steps")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the data")
    args = parser.parse_args(argv)

    x, y = data(args.seed)
    theta = rg.Param(np.zeros(3))  # l = s = n = 1
    opt = rg.optim.Adam(lr=args.lr)
    start = float(loss(theta, x, y))
    losses = []
    for step in range(1, args.steps + 1):
        J = rg.diff(loss, theta, x, y)
        opt.step(theta.value, rg.grad(J, theta))
        losses.append(float(rg.value(J)))
        if step % 50 == 0 or step == args.steps:
            ell, s, n = np.exp(theta.value)
            print(f"step {step:3d} loss {losses[-1]:8.3f}  l {ell:.3f}  s {s:.3f}  n {n:.3f}")
    ell, s, n = (float(v) for v in np.exp(theta.value))
    return {"start": start, "losses": losses, "l": ell, "s": s, "n": n}


if __name__ == "__main__":
    main()
