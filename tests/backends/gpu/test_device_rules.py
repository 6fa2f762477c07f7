"""Which rules run on device arrays unchanged, and which need a device-specific method.

Runs everywhere: the stand-in `DeviceArray` (devices.py) behaves like cupy where it
matters here. Every primitive's declared (generic) method is run forward and backward
on it and on numpy, and the gradients are compared. The rules that fail are listed in
devices.py (NEEDS_DEVICE_METHOD) with the reason; a GPU backend must give each of them a
cupy method. The same comparison runs on cupy arrays in test_gpu_rules.py on a GPU.
"""

from __future__ import annotations

from devices import NEEDS_DEVICE_METHOD, survey, unwrap, wrap


def test_rules_that_need_a_device_method() -> None:
    """Exactly the rules in NEEDS_DEVICE_METHOD (devices.py) fail on device arrays."""
    failures, checked = survey(wrap, unwrap)
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
