"""``rulegrad check PKG...``: run the generated gradient checks for the rules packages register.

Each package is imported (which registers its rules); every method whose ``origin`` is
in one of the packages gets its Hypothesis check (`autotests.method_test`), and every
primitive they touch the registry-hygiene check. A table lists each method with the
examples it ran; failures follow with their shrunk inputs. A method registered without
a ``domain=`` is checked on the default one (`autotests.default_domain`), and the report
says which. The exit code is 0 when all pass, 1 when any fails, 2 when a package cannot
be imported or Hypothesis is not installed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from typing import TextIO

__all__ = ["main"]


def _failure_text(e: BaseException) -> str:
    """The message of a failure with Hypothesis's notes (the shrunk draws), no traceback."""
    subs = getattr(e, "exceptions", None)  # an ExceptionGroup: several distinct failures
    if isinstance(subs, (list, tuple)):
        return "\n".join(_failure_text(sub) for sub in subs)
    text = "".join(traceback.format_exception_only(type(e), e)).rstrip()
    if sys.version_info < (3, 11):  # notes are part of the message from 3.11 on
        text = "\n".join([text, *getattr(e, "__notes__", [])])
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rulegrad check",
        description="Run the generated gradient checks for the rules that packages register.",
    )
    parser.add_argument("packages", nargs="+", metavar="PKG", help="packages to import and check")
    parser.add_argument("-k", dest="match", help="only the methods whose id contains this")
    parser.add_argument("--max-examples", type=int, default=None, help="examples per method")
    parser.add_argument("--profile", default=None, help="Hypothesis profile: ci or dev")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``rulegrad check``; returns the exit code.

    Examples:
        >>> main(["rulegrad", "-k", "np.exp[", "--max-examples", "3"])  # doctest: +ELLIPSIS
        primitive  method          examples  rejected   time  result
        np.exp     np.exp[object]         3         0  ...s  ok
        <BLANKLINE>
        1 method(s) of rulegrad checked: all passed (3 examples in ...s); signatures unambiguous.
        0
    """
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    import rulegrad  # noqa: F401  (the built-in rules)

    try:
        from .autotests import STATS, Counts, ambiguities, load_plugins, method_test, methods
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in ("hypothesis", "pytest"):
            raise
        print(
            f"rulegrad check: the generated checks need {e.name.split('.')[0]}, which is not "
            f"installed. Install it with: pip install 'rulegrad[check]'",
            file=sys.stderr,
        )
        return 2

    load_plugins()
    for name in args.packages:
        try:
            importlib.import_module(name)
        except Exception as e:
            print(f"rulegrad check: cannot import {name}: {type(e).__name__}: {e}", file=out)
            return 2
    found = [m for m in methods(*args.packages) if not args.match or args.match in repr(m)]
    if not found:
        names = ", ".join(args.packages)
        print(f"rulegrad check: no checkable rules registered by {names}", file=out)
        return 1

    width = max(len(repr(m)) for m in found)
    pwidth = max(9, *(len(m.name) for m in found))
    header = f"{'primitive':{pwidth}}  {'method':{width}}  examples  rejected   time  result"
    print(header, file=out)
    failures = []
    start = time.perf_counter()
    for m in found:
        t0 = time.perf_counter()
        try:
            method_test(m, max_examples=args.max_examples, profile_name=args.profile)()
            result = "ok"
        except Exception as e:
            failures.append((m, e))
            result = f"FAIL ({type(e).__name__})"
        c = STATS.get(m, Counts())
        if m.domain is None:
            result += " (default domain)"
        took = time.perf_counter() - t0
        print(
            f"{m.name:{pwidth}}  {m!r:{width}}  {c.examples:8d}  {c.rejected:8d}  {took:5.1f}s  "
            f"{result}",
            file=out,
            flush=True,
        )
        if failures and args.exitfirst:
            break

    prims = list({id(m.primitive): m.primitive for m in found}.values())
    problems = [p for prim in prims for p in ambiguities(prim, args.packages)]
    for m, e in failures:
        print(f"\n---- {m!r} (primitive {m.name}, registered by {m.origin}) ----", file=out)
        print(_failure_text(e), file=out)
    for p in problems:
        print(f"\nambiguous signatures: {p}", file=out)
    undeclared = [repr(m) for m in found if m.domain is None]
    if undeclared:
        print(
            f"\n{len(undeclared)} method(s) declare no Domain and were checked on the default "
            f"one (a real float array per argument, broadcasting shapes; inputs where the "
            f"function is undefined rejected): {', '.join(undeclared)}. Declare "
            f"domain=rg.Domain(...) where they are registered to check their own domain.",
            file=out,
        )
    total = sum(STATS.get(m, Counts()).examples for m in found)
    took = time.perf_counter() - start
    verdict = f"{len(failures)} failed" if failures else "all passed"
    hygiene = (
        f"{len(problems)} ambiguous signature pair(s)" if problems else "signatures unambiguous"
    )
    print(
        f"\n{len(found)} method(s) of {', '.join(args.packages)} checked: {verdict} "
        f"({total} examples in {took:.1f}s); {hygiene}.",
        file=out,
    )
    return 1 if failures or problems else 0
