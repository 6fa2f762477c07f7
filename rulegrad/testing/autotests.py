"""Generated gradient checks: one Hypothesis test per registered primitive method.

Nothing here is written per rule. The registry (`rulegrad.core.primitive.PRIMITIVES`) lists
every method with its rules and its declared `Domain`; `check_method` draws one input
from the domain (`strategies.draw_case`) and checks, for that input:

* the gradient matches central differences in float64 (first order, and second order
  when ``Domain.order >= 2``), within the tolerance of the drawn dtype;
* each gradient has its argument's shape and dtype (float32 stays float32);
* arguments that have no gradient (kinds ``int``, ``bool``, ``axis``, ...) get none;
* the rule is linear in the output gradient: ``rule(a * dy) == a * rule(dy)``;
* the inputs are not mutated.

Arguments and outputs that are not numpy arrays (a scipy.sparse matrix, say) are
checked through the vector space declared for their type (`rulegrad.testing.vspace`):
their flattened entries are perturbed and weighed, and their gradients must be values of
the same space with the same structure (a CSR gradient with the argument's pattern).

A method registered without a domain is checked on a default one (`default_domain`: a
real float array per required argument, broadcasting), and `STATS` says so.

`method_test` wraps that in a Hypothesis test (failures shrink to the smallest input);
`gradient_tests` and `signature_tests` make pytest tests for the methods of some packages,
with ids such as ``np.log[object]``. Zerograd primitives have no rules and are not checked.

Examples:
    >>> import rulegrad as rg
    >>> from rulegrad.core.primitive import PRIMITIVES
    >>> log = PRIMITIVES[np.log].methods[0]
    >>> method_test(log, max_examples=5)()  # passes: no exception
    >>> STATS[log].examples
    5
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import plum
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from ..core import Domain, Method, Primitive, grad, vjp
from ..core.box import Tracked, describe
from ..core.errors import InPlaceError, RuleError, RulegradError
from ..core.primitive import PRIMITIVES
from ..rules._util import is_complex
from .gradcheck import (
    STEPS,
    NotSmoothError,
    _f64,
    _is_zero,
    _show,
    _weigh,
    numeric_check,
    tolerance,
)  # fmt: skip
from .strategies import KINDS, Case, draw_case
from .vspace import VSpace, vspace_of

__all__ = [
    "DomainError", "Counts", "STATS", "PROFILES", "profile", "load_plugins", "methods",
    "default_domain", "domain_of",
    "check_method", "method_test", "ambiguities", "gradient_tests", "signature_tests",
]  # fmt: skip


class DomainError(RulegradError):
    """A method declares no `Domain`, or one that cannot produce valid inputs."""


# ---- Hypothesis profiles: ci is derandomized and bounded, dev explores more ----
#: Settings both profiles share: no deadline (second order is slow), one failure per
#: method, shrunk, without the costly "explain" phase. The parent is Hypothesis's own
#: default, not whatever is loaded (Hypothesis loads its "ci" profile on CI machines).
COMMON = dict(
    parent=settings.get_profile("default"),
    deadline=None,
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "rulegrad-ci", max_examples=20, derandomize=True, database=None, print_blob=False, **COMMON
)
settings.register_profile("rulegrad-dev", max_examples=40, **COMMON)
#: Short profile names -> the Hypothesis profiles registered above.
PROFILES = {"ci": "rulegrad-ci", "dev": "rulegrad-dev"}


def profile(name: str | None = None) -> settings:
    """The Hypothesis settings for generated checks.

    The name comes from the argument, else ``RULEGRAD_HYPOTHESIS_PROFILE``, else
    ``HYPOTHESIS_PROFILE``, else ``ci`` when the ``CI`` environment variable is true and
    ``dev`` otherwise. ``ci`` and ``dev`` are rulegrad's; other names are looked up
    among the registered Hypothesis profiles.

    Examples:
        >>> profile("ci").derandomize, profile("ci").max_examples
        (True, 20)
    """
    if name is None:
        env = os.environ
        name = env.get("RULEGRAD_HYPOTHESIS_PROFILE") or env.get("HYPOTHESIS_PROFILE")
        if not name:
            name = "ci" if env.get("CI", "").lower() in ("1", "true", "yes") else "dev"
    return settings.get_profile(PROFILES.get(name, name))


@dataclass
class Counts:
    """What the last run of a method's check did (the ``rulegrad check`` table)."""

    examples: int = 0
    rejected: int = 0
    last_rejection: str = ""
    default_domain: bool = False


#: Method -> `Counts` of its most recent `method_test` run.
STATS: dict[Method, Counts] = {}


# ---- which methods to check ----
def _in_file(f: Any) -> bool:
    """Whether a callable comes from a module file (not a doctest or an interactive prompt)."""
    code = getattr(f, "__code__", None)
    return code is None or not code.co_filename.startswith("<")


def _belongs(origin: str, packages: Sequence[str]) -> bool:
    return any(origin == p or origin.startswith(p + ".") for p in packages)


def load_plugins() -> None:
    """Load rulegrad's plugins (`rulegrad.plugins.load`): the backends register their
    methods (numpy's kernels of conv4 and pool, say) and rule packages their rules, so the
    checks see them. Nothing happens when the plugin machinery (pluggy) is missing."""
    try:
        plugins = importlib.import_module("rulegrad.plugins")
    except ImportError:
        return
    plugins.load()


def methods(*packages: str) -> list[Method]:
    """The methods to check: those registered by modules of ``packages`` (all if none).

    Zerograd primitives are left out (they have no rules), and so are methods whose
    functions were defined outside module files, such as in doctests.

    Examples:
        >>> "np.log[object]" in [repr(m) for m in methods("rulegrad")]
        True
    """
    found, seen = [], set()
    for prim in list(PRIMITIVES.values()):
        if prim.zero or id(prim) in seen:
            continue
        seen.add(id(prim))
        for m in prim.methods:
            if packages and not _belongs(m.origin, packages):
                continue
            if all(_in_file(f) for f in (m.impl, m.vjp, *m.rules) if f is not None):
                found.append(m)
    return found


def _missing(method: Method, why: str = "has no required argument to draw") -> str:
    name = method.name
    return (
        f"{method!r} (registered by {method.origin or '?'}) declares no Domain and {why}. "
        f"Declare how to draw its inputs where it is registered: "
        f"rg.primitive({name}, <rules>, domain=rg.Domain(args=(<a kind per positional "
        f'argument: "real", "positive", "nonzero", "unit", "int", "bool", "axis", ...>), '
        f'shapes="broadcast"|"same"|"matmul"|"square"|"scalar", kwargs={{...}}, '
        f"avoid=(<kinks>,))), or domain=rg.Domain(sample=lambda rng: ((x, ...), {{...}})) "
        f"for inputs those fields cannot describe. Kinds: rulegrad.testing.KINDS."
    )


def _kind_of(t: Any) -> str:
    """The `KINDS` name for an argument annotated ``t`` (``"real"`` unless it says otherwise)."""
    if not isinstance(t, type):
        return "real"
    if issubclass(t, (bool, np.bool_)):
        return "bool"
    if issubclass(t, (int, np.integer)):
        return "int"
    if issubclass(t, (complex, np.complexfloating)):
        return "complex"
    return "real"


def default_domain(method: Method) -> Domain:
    """The `Domain` a method that declares none is checked on: a real float array (of
    broadcasting shapes) per required argument, or the kind its annotation names
    (``int``, ``bool``, ``complex``). Inputs where the function is undefined (it raises,
    or returns inf or nan) are rejected, not failed.

    Examples:
        >>> import rulegrad as rg
        >>> @rg.primitive(lambda dy, y, x, n: dy * n, None)
        ... def scaled(x: np.ndarray, n: int):
        ...     return x * n
        >>> default_domain(scaled.methods[0]).args
        ('real', 'int')
    """
    types = method.types[:-1] if method.signature.has_varargs else method.types
    if not types:
        raise DomainError(_missing(method))
    return Domain(args=tuple(_kind_of(t) for t in types))


#: Annotations of arguments without a gradient that the default domain passes as Python
#: numbers (``n: int`` dispatches on an int, not on an array).
NUMBERS = (bool, int)


def _as_annotated(case: Case, types: tuple) -> Case:
    """The default domain's drawn int and bool arrays as Python numbers where the
    annotation says so: their first element."""
    args = list(case.args)
    for i, t in enumerate(types[: len(args)]):
        if t in NUMBERS and isinstance(args[i], np.ndarray):
            args[i] = t(args[i].flat[0]) if args[i].size else t()
    return dataclasses.replace(case, args=tuple(args))


def _default_note(method: Method) -> str:
    if method.domain is not None:
        return ""
    return " " + _missing(method, "was checked on the default one (real float arrays)")


def domain_of(method: Method) -> Domain:
    """The method's declared `Domain`, else its `default_domain`."""
    return method.domain if method.domain is not None else default_domain(method)


# ---- one example ----
def _dot(w: Any, g: Any) -> Any:
    """``Re(sum(w * g))``, with numpy calls so it is recorded (complex: autograd's convention,
    see `gradcheck._inner`). For a vector space's values ``g`` may be tracked: the product
    is then recorded by the type's rules of np.multiply and np.sum."""
    if _is_zero(g) and vspace_of(w) is not None:
        return 0.0  # the core's zero for an unused argument it cannot make zeros like
    if vspace_of(g) is not None:
        return _weigh(g, w)
    if is_complex(w) or is_complex(g):
        return np.real(np.sum(w * g))
    return np.sum(w * g)


def _random_like(rng: np.random.Generator, x: Any) -> Any:
    """A standard normal array with the shape and dtype of ``x`` (None if not floating);
    for a value of a vector space, a value like it with standard normal entries."""
    space = vspace_of(x)
    if space is not None:
        entries = space.vector(x)
        if entries.dtype.kind not in "fc":
            return None
        r = rng.standard_normal(entries.shape)
        if entries.dtype.kind == "c":
            r = r + 1j * rng.standard_normal(entries.shape)
        return space.build(x, r.astype(entries.dtype))
    dtype = np.result_type(x)
    if dtype.kind not in "fc":
        return None
    r = rng.standard_normal(np.shape(x))
    if dtype.kind == "c":
        r = r + 1j * rng.standard_normal(np.shape(x))
    return np.asarray(r, dtype=dtype)


def _smooth(kind: str | None, arg: Any) -> bool:
    """Whether an argument of this kind and value has a gradient to check: a differentiable
    `KINDS` kind, or a name outside `KINDS` (``"sparse"``) for a value of a vector space."""
    if kind in KINDS:
        return KINDS[kind].differentiable
    return vspace_of(arg) is not None


def _differentiable(method: Method, kinds: Sequence[str | None], args: Sequence[Any]) -> list[int]:
    """Positions whose gradient is checked; raises if a non-differentiable one has a rule."""
    diff = []
    for i, kind in enumerate(kinds):
        rule = method.rules[i] if i < len(method.rules) else None
        arg = args[i] if i < len(args) else None
        smooth = _smooth(kind, arg)
        if getattr(rule, "nondiff", False):
            continue  # a rule that raises: no derivative w.r.t. this argument (jv's order)
        if smooth and (method.vjp is not None or rule is not None):
            diff.append(i)
        elif not smooth and rule is not None:
            unknown = kind not in KINDS and kind is not None
            raise RuleError(
                f"{method!r} has a rule for argument {i}, whose kind {kind!r} has no "
                f"gradient; make that rule None (or declare a float kind for the argument)"
                + (
                    f". {kind!r} is no KINDS name, and its value ({describe(arg)}) has no vector "
                    f"space: declare one with rulegrad.testing.register_vspace (or a plugin's "
                    f"rulegrad_register_vspaces hook) to check its gradient"
                    if unknown
                    else ""
                )
            )
    if not diff:
        raise DomainError(
            f"{method!r} has no differentiable argument in its Domain(args={tuple(kinds)}): "
            f"give a float kind to the arguments with rules, or make it rg.zerograd"
        )
    return diff


def _check_like(g: Any, x: Any, method: Method, i: int, what: str) -> None:
    """A gradient must have the shape and dtype of its argument (for a value of a vector
    space: be a value of the space with the argument's structure and entry dtype)."""
    if g is None:
        return
    space = vspace_of(x)
    if space is not None:
        _check_space_like(space, g, x, method, i, what)
        return
    if not np.all(np.isfinite(np.asarray(g))):
        raise RuleError(
            f"the {what} of {method!r} for argument {i} is not finite ({_show(g)}) where the "
            f"forward is: the function may not be differentiable there (declare it in the "
            f"Domain: avoid=, a narrower kind, or sample=) or the rule divides by zero"
        )
    if np.shape(g) != np.shape(x):
        raise RuleError(
            f"the {what} of {method!r} for argument {i} has shape {np.shape(g)}, but the "
            f"argument has shape {np.shape(x)} ({describe(g)} for {describe(x)})"
        )
    if np.result_type(g) != np.result_type(x):
        raise RuleError(
            f"the {what} of {method!r} for argument {i} has dtype {np.result_type(g)}, but "
            f"the argument is {np.result_type(x)}: rules must keep the dtype (no float64 "
            f"constants such as np.float64(2.0) * x; Python numbers are fine)"
        )


def _check_space_like(space: VSpace, g: Any, x: Any, method: Method, i: int, what: str) -> None:
    """`_check_like` for an argument ``x`` of vector space ``space``."""
    if _is_zero(g):
        return  # the core's zero for an unused argument it cannot make zeros like
    if not space.same(g, x):
        raise RuleError(
            f"the {what} of {method!r} for argument {i} is {describe(g)}, but the argument is "
            f"{describe(x)} ({space.label()}): a gradient must be a value of the argument's "
            f"vector space with its structure (for a sparse matrix: its sparsity pattern, "
            f"the derivatives of the stored entries), not a dense array"
        )
    entries, own = space.vector(g), space.vector(x)
    if not np.all(np.isfinite(entries)):
        raise RuleError(
            f"the {what} of {method!r} for argument {i} is not finite ({_show(g)}) where the "
            f"forward is: declare the Domain narrower, or fix the rule"
        )
    if entries.dtype != own.dtype:
        raise RuleError(
            f"the {what} of {method!r} for argument {i} has entries of dtype {entries.dtype}, "
            f"but the argument's are {own.dtype}: rules must keep the dtype"
        )


def _snapshot(x: Any) -> Any:
    """A copy of an argument to tell whether it was modified in place (None: not checked)."""
    if isinstance(x, np.ndarray):
        return np.array(x, copy=True)
    space = vspace_of(x)
    if space is not None:
        return space, space.key(x), np.array(space.vector(x), copy=True)
    return None


def _unchanged(x: Any, before: Any) -> bool:
    """Whether ``x`` still equals its `_snapshot` ``before``."""
    if isinstance(before, np.ndarray):
        return np.array_equal(x, before, equal_nan=True)
    space, key, entries = before
    return space.key(x) == key and np.array_equal(space.vector(x), entries, equal_nan=True)


def _finite(y: Any) -> bool:
    """Whether an output is finite everywhere (its entries, for a vector space's value)."""
    space = vspace_of(y)
    if space is not None:
        return bool(np.all(np.isfinite(space.vector(y))))
    return bool(np.all(np.isfinite(y)))


def _entries(g: Any, x: Any) -> np.ndarray:
    """A gradient as a complex array of its entries (of ``x``'s vector space, if it has one)."""
    space = vspace_of(x)
    if space is None:
        return np.asarray(g, dtype=np.complex128)
    if _is_zero(g):
        return np.zeros(space.size(x), dtype=np.complex128)
    return space.vector(g).astype(np.complex128)


def check_method(method: Method, data: Any) -> None:
    """Check one method on one input drawn from its domain (the body of a generated test).

    Args:
        method: the registered `Method` to check.
        data: Hypothesis's ``st.data()`` object to draw from.

    Raises:
        DomainError: no domain, or inputs that do not reach this method.
        RuleError: a gradient of the wrong shape or dtype, a rule for an argument that
            has no gradient, or a rule that is not linear in ``dy``.
        GradCheckError: gradients that disagree with central differences.
        InPlaceError: the primitive or its rules mutated an input.
    """
    domain = domain_of(method)
    counts = STATS.setdefault(method, Counts())
    case = draw_case(lambda s, label: data.draw(s, label=label), domain)
    if method.domain is None:
        case = _as_annotated(case, method.types)
    prim = method.primitive
    types = tuple(type(a) for a in case.args)
    try:
        resolved = prim.resolve(types)
    except RulegradError:
        resolved = None
    if resolved is not method and not _same_rules(resolved, method):
        raise DomainError(
            f"the inputs drawn for {method!r} ({', '.join(t.__name__ for t in types)}) "
            f"dispatch to {resolved!r}, whose rules differ; give it a Domain(sample=...) "
            f"returning the types only it handles"
        )
    saved = [_snapshot(a) for a in case.args]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            y = prim(*case.args, **case.kwargs)
        except RulegradError:
            raise  # no rule, no kernel, ...: not the input's fault
        except Exception as e:  # an invalid input for this function: the domain is too wide
            _reject(counts, f"the forward raised {type(e).__name__}: {e}")
        _check_unchanged(method, case.args, saved, "its forward")
        if not all(_finite(o) for o in (y if isinstance(y, tuple) else (y,))):
            _reject(counts, "the forward returned inf or nan")
        try:
            _check_gradients(method, case, y)
        except (NotSmoothError, _Unrepresentable) as e:  # a kink within the step, a gradient
            _reject(counts, str(e))  # too large for float32: not the rule's fault
    _check_unchanged(method, case.args, saved, "its rules")
    counts.examples += 1


def _check_unchanged(method: Method, args: tuple, saved: list, who: str) -> None:
    for i, (a, before) in enumerate(zip(args, saved)):
        if before is not None and not _unchanged(a, before):
            shown = _show(before if isinstance(before, np.ndarray) else before[2])
            raise InPlaceError(
                f"{method!r}: {who} modified argument {i} in place ({shown} became "
                f"{_show(a)}); primitives and rules must return new arrays"
            )


def _same_rules(a: Method | None, b: Method) -> bool:
    """Whether ``a`` differentiates with ``b``'s very rules (a backend's method for its type
    of a declared method, say): checking either checks both."""
    return a is not None and a.rules == b.rules and a.vjp is b.vjp


def _reject(counts: Counts, why: str) -> NoReturn:
    counts.rejected += 1
    counts.last_rejection = why
    reject()


class _Unrepresentable(Exception):
    """The true gradient at a drawn point is too large for the drawn dtype: reject it."""


def _check_representable(call: Callable, xs: list, us: list, grads: Any, dtype: np.dtype) -> None:
    """Raise `_Unrepresentable` when a gradient overflows ``dtype`` (float32) where the
    float64 gradient at the same point is finite and beyond that dtype's range:
    ``float_power(0.002, -40)`` is finite, its gradient is not, in float32."""
    if dtype == np.float64 or all(_finite(g) for g in grads if g is not None):
        return
    _, back = vjp(call, *(_f64(x) for x in xs))
    exact = back(*(None if u is None else _f64(u) for u in us))
    big = np.finfo(dtype).max
    for g, g64 in zip(grads, exact):
        if g is None or _finite(g) or not _finite(g64):
            continue
        if float(np.max(np.abs(_entries(g64, g64)), initial=0.0)) > big:
            raise _Unrepresentable(f"the gradient overflows {dtype} at this point")


def _check_gradients(method: Method, case: Case, y: Any) -> None:
    """The gradient checks proper, at one drawn input with forward output ``y``."""
    prim, args, kwargs = method.primitive, case.args, case.kwargs
    diff = _differentiable(method, case.kinds, args)
    rng = np.random.default_rng(case.seed)
    outs = y if isinstance(y, tuple) else (y,)
    us = [_random_like(rng, o) for o in outs]
    if all(u is None for u in us):
        raise DomainError(f"{method!r} returns no floating-point output: make it rg.zerograd")
    names = [f"x{i}" for i in diff]
    what = f"{method!r} (signature {method.signature}, registered by {method.origin})"
    context = "\n".join(
        [f"    x{i} = {_show(a)}  (no gradient)" for i, a in enumerate(args) if i not in diff]
        + ([f"    kwargs = {dict(kwargs)!r}"] if kwargs else [])
    )

    def call(*xs: Any) -> Any:
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return prim(*full, **kwargs)

    xs = [args[i] for i in diff]
    _, back = vjp(call, *xs)
    try:
        grads = back(*us)
    except RulegradError:
        raise
    except Exception as e:  # a rule that fails on valid inputs: say whose
        shown = "\n".join(f"    x{i} = {_show(a)}" for i, a in enumerate(args))
        raise RuleError(
            f"the rules of {what}, {case.dtype} inputs, raised {type(e).__name__}: {e}\n"
            f"  inputs:\n{shown}" + (f"\n    kwargs = {dict(kwargs)!r}" if kwargs else "")
        ) from e
    _check_representable(call, xs, us, grads, case.dtype)
    for i, x, g in zip(diff, xs, grads):
        _check_like(g, x, method, i, "gradient")
    _check_nondiff(method, case, y, us, diff)

    # linear in dy: a rule must not add constants, square dy or ignore it
    a = -1.5
    scaled = back(*(None if u is None else u * a for u in us))
    rtol = tolerance(case.dtype, 1)
    for i, x, g, ga in zip(diff, xs, grads, scaled):
        g, ga = _entries(g, x), _entries(ga, x)
        atol = rtol * (1.0 + float(np.max(np.abs(a * g), initial=0.0)))
        if not np.allclose(ga, a * g, rtol=rtol, atol=atol):
            raise RuleError(
                f"the rule of {what} for argument {i} is not linear in the output gradient: "
                f"rule({a} * dy) = {_show(ga)} but {a} * rule(dy) = {_show(a * g)}"
            )

    order = method.domain.order if method.domain is not None else 2
    if case.tied:  # a kink: no second derivative, and the first must split ties evenly
        order = min(order, 1)
        what += (
            " at a deliberate two-way tie, where a selection rule must split the gradient "
            "equally between the tied values, as central differences do"
        )
    if order < 1:
        return
    u64 = [None if u is None else _f64(u) for u in us]
    x64 = [_f64(x) for x in xs]

    def S(xs_: list) -> Any:
        out = call(*xs_)
        out = out if isinstance(out, tuple) else (out,)
        return sum(float(_dot(u, o)) for u, o in zip(u64, out) if u is not None)

    numeric_check(
        S, lambda _: grads, x64, rng=rng, directions=3, eps=STEPS[1],
        rtol=tolerance(case.dtype, 1), what=f"{what}, {case.dtype} inputs", names=names,
        context=context, kinks=not case.tied,
    )  # fmt: skip
    if order < 2:
        return
    ws = [_random_like(rng, x) for x in xs]
    w64 = [_f64(w) for w in ws]

    def S2(xs_: list) -> Any:
        _, b = vjp(call, *xs_)
        return sum(float(_dot(w, g)) for w, g in zip(w64, b(*u64)))

    def inner(*xs_: Any) -> Any:
        _, b = vjp(call, *xs_)
        return sum(_dot(w, g) for w, g in zip(ws, b(*us)))

    grads2 = grad(inner, argnums=tuple(range(len(xs))))(*xs)
    for i, x, g in zip(diff, xs, grads2):
        _check_like(g, x, method, i, "second-order gradient")
    numeric_check(
        S2, lambda _: list(grads2), x64, rng=rng, directions=2, eps=STEPS[2],
        rtol=tolerance(case.dtype, 2), names=names, context=context,
        what=f"the gradient of {what} (second order), {case.dtype} inputs",
    )  # fmt: skip


def _zeros_like(y: Any) -> Any:
    """Zeros like an output (a value of its vector space with zero entries, if it has one)."""
    space = vspace_of(y)
    return np.zeros_like(y) if space is None else space.build(y, np.zeros_like(space.vector(y)))


def _raw_gradients(method: Method, case: Case, y: Any, us: list) -> list:
    """The rules' own outputs for output gradients ``us``, before the core reduces them."""
    dy = (
        tuple(_zeros_like(o) if u is None else u for u, o in zip(us, y))
        if isinstance(y, tuple)
        else us[0]
    )
    if method.vjp is not None:
        return list(method.vjp(dy, y, *case.args, **case.kwargs))
    rules = method.rules
    return [
        None
        if i >= len(rules) or rules[i] is None or getattr(rules[i], "nondiff", False)
        else rules[i](dy, y, *case.args, **case.kwargs)
        for i in range(len(case.args))
    ]


def _check_nondiff(method: Method, case: Case, y: Any, us: list, diff: list[int]) -> None:
    """A vjp must return None for the arguments that have no gradient, and every rule must
    keep its argument's dtype itself: the core casts a gradient to its value's dtype, which
    would hide a float64 constant in a float32 rule (and its cost)."""
    got = _raw_gradients(method, case, y, us)
    for i, g in enumerate(got):
        if i not in diff and g is not None and method.vjp is not None:
            raise RuleError(
                f"the vjp of {method!r} returned {describe(g)} for argument {i} "
                f"({describe(case.args[i])}), which has no gradient; return None there"
            )
        x = case.args[i] if i < len(case.args) else None
        plain = g is not None and vspace_of(x) is None and not isinstance(g, Tracked)
        if i in diff and plain and np.result_type(g) != np.result_type(x):
            raise RuleError(
                f"the gradient of {method!r} for argument {i} has dtype "
                f"{np.result_type(g)}, but the argument is {np.result_type(x)}: rules must "
                f"keep the dtype (no float64 constants such as np.float64(2.0) * x; "
                f"Python numbers are fine)"
            )


# ---- Hypothesis tests ----
def method_test(
    method: Method, *, max_examples: int | None = None, profile_name: str | None = None
) -> Callable[[], None]:
    """A Hypothesis test of one method: call it to run the checks on many inputs.

    Args:
        method: the method to check.
        max_examples: examples to try (default: the profile's, times one more for each
            keyword argument the domain varies).
        profile_name: the Hypothesis profile (default: see `profile`).

    Returns:
        A function of no arguments that raises on the first (shrunk) failure and
        records what it ran in `STATS`.
    """

    def check_gradients(data: Any) -> None:
        check_method(method, data)

    check = check_gradients
    check._hypothesis_internal_add_digest = f"{method!r}@{method.origin}".encode()  # type: ignore[attr-defined]
    base = profile(profile_name)
    if method.domain is None:  # the default domain: undefined inputs are many, and expected
        checks = [*base.suppress_health_check, HealthCheck.filter_too_much]
        base = settings(base, suppress_health_check=checks)
    if max_examples is None and method.domain is not None and method.domain.kwargs:
        # each keyword argument multiplies the cases: give them examples to match
        max_examples = base.max_examples * (1 + len(method.domain.kwargs))
    if max_examples is not None:
        base = settings(base, max_examples=max_examples)
    test = settings(base)(given(data=st.data())(check))

    def run() -> None:
        domain = domain_of(method)
        counts = STATS[method] = Counts(default_domain=method.domain is None)
        try:
            test()
        except (Unsatisfiable, FailedHealthCheck) as e:
            raise DomainError(
                f"could not draw valid inputs for {method!r} from {domain}: most were "
                f"rejected, the last because {counts.last_rejection or '?'}. Narrow the "
                f"Domain (kinds, shapes, avoid) or give a sample function." + _default_note(method)
            ) from e
        if counts.examples == 0:
            raise DomainError(
                f"no valid input for {method!r}; last: {counts.last_rejection}"
                + _default_note(method)
            )

    run.__name__ = f"check[{method!r}]"
    run.method = method  # type: ignore[attr-defined]
    return run


# ---- registry hygiene ----
def _meet(a: plum.Signature, b: plum.Signature) -> plum.Signature | None:
    """The signature of the calls both ``a`` and ``b`` accept (None when disjoint)."""
    n = max(len(a.types), len(b.types))
    if (len(a.types) < n and not a.has_varargs) or (len(b.types) < n and not b.has_varargs):
        return None
    types = []
    for ta, tb in zip(a.expand_varargs(n), b.expand_varargs(n)):
        if plum.Signature(ta) <= plum.Signature(tb):
            types.append(ta)
        elif plum.Signature(tb) <= plum.Signature(ta):
            types.append(tb)
        else:
            return None
    return plum.Signature(*types)


#: The package every rule package builds on: its methods meet those of any package checked.
BASE = "rulegrad"


def _concerns(a: Method, b: Method, packages: Sequence[str]) -> bool:
    """Whether a pair of methods is the business of ``packages``: one of them belongs to
    the packages and the other to them or to rulegrad itself. Two third-party packages
    that clash are the concern of neither alone; checking both together reports it."""
    ours = [_belongs(m.origin, packages) for m in (a, b)]
    base = [_belongs(m.origin, (BASE,)) for m in (a, b)]
    return (ours[0] and (ours[1] or base[1])) or (ours[1] and base[0])


def ambiguities(prim: Primitive, packages: Sequence[str] = ()) -> list[str]:
    """Problems plum would have choosing among ``prim``'s methods, one line each.

    Two methods are reported when they have equal signatures (the later one hides the
    earlier) or when some arguments match both and neither is more specific. With
    ``packages``, only pairs that concern them: one method of theirs, and the other of
    theirs or of rulegrad (so the result does not depend on which other rule packages
    happen to be installed).

    Examples:
        >>> from rulegrad.core.primitive import PRIMITIVES
        >>> ambiguities(PRIMITIVES[np.matmul])
        []
        >>> ambiguities(PRIMITIVES[np.matmul], packages=["rulegrad"])
        []
    """
    problems = []
    for a, b in itertools.combinations(prim.methods, 2):
        if packages and not _concerns(a, b, packages):
            continue
        sa, sb = a.signature, b.signature
        if sa == sb:
            problems.append(f"{a!r} and {b!r} have the same signature {sa}: one hides the other")
        elif not (sa <= sb or sb <= sa):
            meet = _meet(sa, sb)
            if meet is None:
                continue
            try:
                with warnings.catch_warnings():  # plum cannot resolve ``-> Any`` hints: noise
                    warnings.filterwarnings("ignore", "Could not resolve the type hint")
                    prim._fn.resolve_method(meet)
            except plum.AmbiguousLookupError:
                problems.append(
                    f"{a!r} ({a.origin}) and {b!r} ({b.origin}) are ambiguous for arguments "
                    f"{meet}: add a method for those types, or make one signature narrower"
                )
            except LookupError:
                pass
    return problems


# ---- pytest tests for the methods of some packages ----
def gradient_tests(
    *packages: str, max_examples: int | None = None, known: dict[str, str] | None = None
) -> Callable[..., None]:
    """A pytest test, parametrized over the methods of ``packages`` (all if none).

    Put it in a test module: ``test_rules = gradient_tests("mypackage")``. Test ids read
    ``np.log[object]``; a package that registers nothing fails instead of skipping.
    ``known`` maps test ids of known failures to their reason: they are marked xfail
    (not strict: some draws pass).
    """
    import pytest

    load_plugins()
    known = known or {}
    found = [
        pytest.param(m, marks=pytest.mark.xfail(reason=known[repr(m)], strict=False))
        if repr(m) in known
        else m
        for m in methods(*packages)
    ]
    params = found or [pytest.param(None, id="nothing-registered")]

    @pytest.mark.parametrize("method", params, ids=repr)
    def test_gradients(method: Method | None) -> None:
        """The rules of each registered method pass the generated checks."""
        if method is None:
            pytest.fail(f"no checkable rules are registered by {', '.join(packages)}")
        method_test(method, max_examples=max_examples)()

    return test_gradients


def signature_tests(*packages: str) -> Callable[[], None]:
    """A pytest test that no primitive with methods from ``packages`` is ambiguous for plum."""
    load_plugins()
    prims = list({id(m.primitive): m.primitive for m in methods(*packages)}.values())

    def test_signatures() -> None:
        """No two registered signatures of a primitive are ambiguous for plum."""
        problems = [p for prim in prims for p in ambiguities(prim, packages)]
        assert not problems, "\n".join(problems)

    return test_signatures
