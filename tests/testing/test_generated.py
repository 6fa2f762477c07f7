"""The generated gradient checks of every built-in rule (see rulegrad.testing.autotests).

One test per registered method, with ids such as ``np.log[object]``; the list is built
when this module is collected, from the methods rulegrad's own modules registered, after
loading the plugins (so the cpu backend's ``conv4[ndarray,ndarray]`` and friends are in).
Run more examples with ``RULEGRAD_HYPOTHESIS_PROFILE=dev``.
"""

from __future__ import annotations

import rulegrad  # noqa: F401  (registers the built-in rules)
from rulegrad.testing import gradient_tests, methods, signature_tests

#: Built-in rules the widened draws (issue 18) found wrong, while they are being fixed: none.
KNOWN: dict[str, str] = {}

test_builtin_rules = gradient_tests("rulegrad", known=KNOWN)
test_builtin_signatures = signature_tests("rulegrad")


def test_backend_methods_are_covered() -> None:
    """The numpy backend's kernels are among the checked methods."""
    ids = [repr(m) for m in methods("rulegrad")]
    assert "conv4[ndarray,ndarray]" in ids and "pool[ndarray]" in ids
