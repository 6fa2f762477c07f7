"""The generated gradient checks of every built-in rule (see rulegrad.testing.autotests).

One test per registered method, with ids such as ``np.log[object]``; the list is built
when this module is collected, from the methods rulegrad's own modules registered.
Run more examples with ``RULEGRAD_HYPOTHESIS_PROFILE=dev``.
"""

from __future__ import annotations

import rulegrad  # noqa: F401  (registers the built-in rules)
from rulegrad.testing import gradient_tests, signature_tests

test_builtin_rules = gradient_tests("rulegrad")
test_builtin_signatures = signature_tests("rulegrad")
