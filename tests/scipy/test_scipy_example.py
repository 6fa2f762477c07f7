"""examples/gp_marginal_likelihood.py: the GP fit through scipy.linalg and scipy.stats learns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import rulegrad as rg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gp_marginal_likelihood.py"


def _example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("example_gp", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gradient_of_the_marginal_likelihood_is_right() -> None:
    """The loss's gradient (cholesky, cho_solve, norm.logpdf) agrees with central differences."""
    gp = _example()
    x, y = gp.data()
    assert rg.checkgrad(lambda t: gp.loss(t, x, y), np.array([-0.3, 0.2, -1.0]), order=2) < 1e-6


def test_fit_recovers_the_noise_level() -> None:
    """200 Adam steps: the loss falls from 52.3 to -3.26 and the noise sd is about 0.1."""
    out = _example().main([])
    assert round(out["start"], 1) == 52.3 and out["losses"][-1] < -3.2
    assert 0.09 < out["n"] < 0.13 and 0.5 < out["l"] < 0.8
