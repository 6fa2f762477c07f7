"""Gradient rules by family. Importing this package registers them all.

Each module reads as a table: one `primitive` per line where the rule is one expression,
a named function where it needs more, and one `zerograd` list for what has no gradient.
Rules are written with numpy calls on possibly tracked values, so they differentiate
again; the core reduces broadcast axes, so rules never do.
"""

from . import arithmetic, math, nondiff, reductions, shape  # noqa: F401  (registration)
