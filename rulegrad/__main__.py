"""``python -m rulegrad ...`` is the ``rulegrad`` command."""

from __future__ import annotations

import importlib
import os
import sys


def _import_installed_package() -> None:
    """Import the installed rulegrad where a folder named ``rulegrad`` was taken for it.

    ``python -m`` puts the working directory first on the path. Run from the folder above a
    checkout named ``rulegrad``, that checkout (which has no ``__init__.py`` at its top) is
    imported as an empty namespace package, ahead of an editable install, whose finder
    Python asks last. Without those folders on the path the real package is imported once;
    the path is then put back as it was.
    """
    package = sys.modules.get("rulegrad")
    if package is None or getattr(package, "__file__", None) is not None:
        return
    shadows = {os.path.dirname(os.path.abspath(p)) for p in package.__path__}
    saved = sys.path[:]
    sys.path[:] = [p for p in saved if os.path.abspath(p or os.curdir) not in shadows]
    for name in [n for n in sys.modules if n.split(".")[0] == "rulegrad"]:
        del sys.modules[name]
    try:
        importlib.import_module("rulegrad")
    finally:
        sys.path[:] = saved


if __name__ == "__main__":
    _import_installed_package()

    from rulegrad.cli import main  # after the package is the installed one

    sys.exit(main())
