"""Gradient rules by family. Importing this package registers them all.

Each module reads as a table: one `primitive` per line where the rule is one expression,
a named function where it needs more, and one `zerograd` list for what has no gradient.
Rules are written with numpy calls on possibly tracked values, so they differentiate
again; the core reduces broadcast axes, so rules never do. ``python -m
rulegrad.rules.catalog`` prints the table of everything registered (docs/primitives.md).
"""

from importlib.util import find_spec

from . import arithmetic, complex, fft, linalg, math, nn, nondiff, reductions, shape, signal  # noqa: F401

if find_spec(f"{__name__}.conv") is not None:  # conv4/pool/unpool (rules/conv.py)
    from . import conv  # noqa: F401
