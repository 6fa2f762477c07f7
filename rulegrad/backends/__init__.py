"""Backends: the array libraries rulegrad runs on, each a plugin with the same file names.

``cpu`` (numpy) and ``gpu`` (cupy) are registered through rulegrad's own entry points,
like any third-party backend. Each folder has ``__init__.py`` (the hook implementations),
``arrays.py`` (the `Backend`: array types, namespace, moving arrays), ``conv.py`` (conv4
and pooling kernels) and ``random.py`` (random numbers and initializers). Nothing here is
imported by ``import rulegrad``; see docs/backends.md.
"""
