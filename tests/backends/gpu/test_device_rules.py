"""Which rules run on device arrays unchanged, and which need a device-specific method.

Runs everywhere: the stand-in `DeviceArray` (devices.py) behaves like cupy where it
matters here. Every primitive's declared (generic) method is run forward and backward
on it and on numpy, and the gradients are compared. The rules that fail are listed in
devices.py (NEEDS_DEVICE_METHOD) with the reason; a GPU backend must give each of them a
cupy method. The same comparison runs on cupy arrays in test_gpu_rules.py on a GPU.
"""

from __future__ import annotations

import numpy as np
from devices import NEEDS_DEVICE_METHOD, RULE_LIBRARY, draw, gradients_on, unwrap, wrap

from rulegrad.core.primitive import PRIMITIVES


def _declared(prim):
    """The method registered first: the generic one every array type falls back on."""
    return prim.methods[0] if prim.methods else None


def _survey() -> tuple[dict, list]:
    rng = np.random.default_rng(0)
    failures, checked = {}, []
    for prim in list(PRIMITIVES.values()):
        method = _declared(prim)
        if prim.zero or method is None or method.domain is None:
            continue
        if not method.origin.startswith(RULE_LIBRARY):
            continue  # plugins', benchmarks' and tests' primitives: theirs to check
        drawn = draw(method.domain, rng)
        if drawn is None:
            continue
        args, kwargs = drawn
        try:
            want = gradients_on(prim, args, kwargs, lambda a: a, lambda a: a)
        except Exception:
            continue  # not differentiable at these inputs on numpy either: not our question
        checked.append(prim.name)
        try:
            got = gradients_on(prim, args, kwargs, wrap, unwrap)
        except Exception as e:
            failures[prim.name] = f"{type(e).__name__}: {e}"
            continue
        for g, w in zip(got, want):
            if (g is None) != (w is None) or (g is not None and not np.allclose(g, w)):
                failures[prim.name] = "different gradient"
    return failures, checked


def test_rules_that_need_a_device_method() -> None:
    """Exactly the rules in NEEDS_DEVICE_METHOD (devices.py) fail on device arrays."""
    failures, checked = _survey()
    assert len(checked) > 20
    unexpected = {k: v for k, v in failures.items() if k not in NEEDS_DEVICE_METHOD}
    assert not unexpected, (
        "these generic rules do not run on device arrays; write them with functions that "
        "dispatch on the array type (np.zeros_like rather than np.zeros(shape), no np.asarray), "
        f"or list them in NEEDS_DEVICE_METHOD with the reason: {unexpected}"
    )
    fixed = sorted(set(NEEDS_DEVICE_METHOD) & set(checked) - set(failures))
    assert not fixed, (
        f"these now run on device arrays: remove them from NEEDS_DEVICE_METHOD: {fixed}"
    )
