"""rg.jit on device arrays: the replay makes its output gradient and reductions with the
result's own array library, so a step on cupy arrays stays on the device.

Runs everywhere on the stand-in `DeviceArray` (devices.py), which refuses to mix with
numpy arrays as cupy does.
"""

from __future__ import annotations

import numpy as np
from devices import DeviceArray, unwrap, wrap

import rulegrad as rg
from rulegrad import nn


def test_a_jitted_mlp_step_on_device_arrays_matches_diff() -> None:
    rng = np.random.default_rng(0)
    ps = [
        rg.Param(wrap(rng.standard_normal((4, 5)).astype(np.float32))),
        rg.Param(wrap(np.zeros((4, 1), np.float32))),
        rg.Param(wrap(rng.standard_normal((1, 4)).astype(np.float32))),
    ]

    def loss(x, y):  # Knet's layout, tracked values on the left (device arrays do not defer)
        h = nn.relu(ps[0] @ x + ps[1])
        return np.mean((ps[2] @ h - y) ** 2)

    step = rg.jit(loss)
    for _ in range(3):
        x = wrap(rng.standard_normal((5, 6)).astype(np.float32))
        y = wrap(rng.standard_normal((1, 6)).astype(np.float32))
        J1, J2 = step(x, y), rg.diff(loss, x, y)
        assert isinstance(rg.value(J1), DeviceArray)
        np.testing.assert_allclose(unwrap(rg.value(J1)), unwrap(rg.value(J2)), rtol=1e-6)
        for p in ps:
            g1, g2 = rg.grad(J1, p), rg.grad(J2, p)
            assert isinstance(g1, DeviceArray) and g1.dtype == np.float32
            np.testing.assert_allclose(unwrap(g1), unwrap(g2), rtol=1e-5)
    assert sum(p is not None for p in step.programs.values()) == 1
