"""``scipy.integrate.odeint`` and ``solve_ivp``: reverse mode by the adjoint method, forward
mode by forward sensitivity.

The solution of an ODE ``dy/dt = f(y, t, *args)`` at times ``t`` is differentiable with
respect to the initial state ``y0``, the time points, the arguments in ``args`` and every
`Param` the dynamics function reads (a closure over a model's Params, say). The gradient
comes from integrating the augmented system backwards in time, from one time point to the
one before (Chen et al. 2018, "Neural ordinary differential equations"; HIPS autograd's
``odeint`` rule; Froehlich et al. 2017, Sec. 2.4.2): the adjoint ``a = dL/dy`` obeys
``da/dt = -a . df/dy``, and the gradients of ``args``, of the Params and of the first time
point integrate ``-a . df/dargs``, ``-a . df/dp`` and ``-a . df/dt`` along the way. Each of
those vector-Jacobian products is one `rulegrad.diff` of ``f`` at one point, so ``f`` is
plain numpy code as anywhere else. A later time ``t[i]`` gets ``dL/dy(t[i]) . f(y(t[i]))``.
The state ``y`` those products are taken at is read from a forward solve kept dense
(solve_ivp's dense output, the interpolant of its steps: the primal solve's own for
`solve_ivp`, one more LSODA solve for `odeint`), rather than integrated backwards
beside the adjoint as Chen et al. and HIPS autograd do: backwards, a mode decaying at rate
``k`` grows by ``exp(k T)``, and so did the gradient's error (200 times the gradient for a
decay at rate 5 over ``T = 5``; a failed solve for stiff kinetics).

The whole solve is one `Primitive` on the tape; the solver's steps are not recorded, so the
memory does not grow with the number of steps, and the gradient is as accurate as the
solver's ``rtol``/``atol`` (pass tight ones, such as ``rtol=1e-10``, for precise gradients).

Forward mode (`rulegrad.jvp`, `rulegrad.linearize`, ``rulegrad.jacobian(mode="fwd")``) has
rules of its own, by forward sensitivity: the solver integrates ``(y, s)`` with
``ds/dt = df/dy . s + df/dargs . dargs`` from ``s(t[0]) = dy0``, each right-hand side one
`rulegrad.jvp` of ``f`` at one point (the Params it reads are constants in forward mode). A
later time ``t[i]`` moves its row by ``f(y(t[i]), t[i]) dt[i]``; the first moves the start,
``s(t[0]) = -f(y0, t[0]) dt[0]``. One sensitivity solve serves all the tangents (``y0``,
``t[0]`` and the computed entries of ``args`` together), with the primal's solver and
tolerances.

Use `odeint` and `solve_ivp` from here, with scipy's signatures, or call scipy's own once
`install` has wrapped them (the scipy plugin does so when it loads): the wrappers hand a call
to rulegrad only while a `rulegrad.diff` (or a `rulegrad.jvp`) records, and otherwise call
scipy directly.

Limits: the derivatives are first order: a second derivative through a solve (a gradient of
a gradient, a jvp of a jvp, a gradient of a jvp, or a jvp of a gradient, which is how
``rg.hessian`` and ``rg.hvp`` work) raises `RuleError` naming the combination; the
Params the dynamics function reads must be read at its first call, at ``(y0, t[0])``
(a Param read only later raises `RuleError` in the backward pass, never a silent zero);
tracked values inside lists or dicts in ``args`` must be Params, not computed values; the
systems are real (a complex ``y0``, ``args`` entry or Param read raises `ArgumentError`).

Examples:
    >>> import numpy as np
    >>> import rulegrad as rg
    >>> from rulegrad.scipy.integrate import odeint
    >>> k = rg.Param(0.5)
    >>> t = np.array([0.0, 1.0, 2.0])
    >>> J = rg.diff(lambda: odeint(lambda y, t: -k * y, np.array([1.0]), t, rtol=1e-10)[-1, 0])
    >>> round(float(rg.value(J)), 6), round(float(rg.grad(J, k)), 6)   # exp(-2k), -2 exp(-2k)
    (0.367879, -0.735759)
    >>> decay = lambda k: odeint(lambda y, t, k: -k * y, np.array([1.0]), t, args=(k,), rtol=1e-10)
    >>> y, dy = rg.jvp(decay, (0.5,), (1.0,))   # forward sensitivity: -t exp(-k t)
    >>> dy[:, 0].round(6)
    array([ 0.      , -0.606531, -0.735759])
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.integrate as _si

from ..core.box import Box, Param, Tracked, describe, plain, value
from ..core.diff import diff, grad, params
from ..core.errors import ArgumentError, RuleError, RulegradError
from ..core.forward import ForwardTape, jvp
from ..core.primitive import Domain, primitive
from ..core.tape import _ACTIVE

__all__ = ["odeint", "solve_ivp", "install", "uninstall"]


def _scipy(name: str) -> Callable[..., Any]:
    """scipy's own function ``name`` (unwrapped, should `install` have run already)."""
    f = getattr(_si, name)
    return getattr(f, "__rulegrad_original__", f)


_ODEINT = _scipy("odeint")
_SOLVE_IVP = _scipy("solve_ivp")

#: The solver options the backward (adjoint) integration reuses; the others (a Jacobian
#: of the forward system, full output, events) do not apply to the augmented system.
_ODEINT_BACK = ("rtol", "atol", "hmax", "hmin", "mxstep")


def _recording() -> bool:
    """Whether some `rulegrad.diff` records in this context."""
    return any(tape.recording for tape in _ACTIVE.get())


@contextmanager
def _alone() -> Iterator[None]:
    """No tape records inside: the solver sees Params as plain arrays, and a `diff` made
    inside records on its own tape only, not on the caller's."""
    token = _ACTIVE.set(())
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@dataclass(eq=False)
class _Problem:
    """One differentiable solve: what the primitive's forward and its adjoint share.

    ``func`` is the dynamics in odeint's order, ``func(y, t, *args)``. ``args`` holds the
    arguments with ``None`` at ``slots``, where the computed (boxed) ones go; ``params`` are
    the Params ``func`` reads (its closure's, or Params inside ``args``). ``solve`` is
    ``(func, y0, times, args, back) -> array (len(times), D)``; ``dense`` is ``(func, y0,
    t0, t1, args) -> y(tau)``, the forward solution on ``[t0, t1]`` as a function of time,
    for the adjoint (odeint's: a solve of its own; solve_ivp's: its forward solve's
    interpolant); ``info`` keeps what the last forward solve returned besides the
    solution (odeint's infodict, solve_ivp's result).
    """

    func: Callable[..., Any]
    args: tuple
    slots: tuple[int, ...]
    params: tuple[Param, ...]
    solve: Callable[..., Any]
    name: str
    dense: Callable[..., Any] | None = field(default=None, repr=False)
    info: Any = field(default=None, repr=False)

    def fill(self, values: tuple) -> tuple:
        """``args`` with ``values`` at the slots."""
        args = list(self.args)
        for i, v in zip(self.slots, values):
            args[i] = v
        return tuple(args)

    def pullback(self, y: Any, t: float, slotted: tuple, w: Any) -> list[Any]:
        """``w . df/dx`` at ``(y, t)`` for x = y, t, each slotted argument and each Param,
        flattened; one `diff` of ``func`` on fresh Params for y, t and the slots."""
        ys = Param(np.array(y, dtype=np.float64))
        ts = Param(np.float64(t))
        slots = [Param(np.array(v, dtype=np.float64)) for v in slotted]
        f = diff(lambda *a: _vector(self.func(*a)), ys, ts, *self.fill(tuple(slots)))
        own = {id(p) for p in (ys, ts, *slots, *self.params)}
        late = [p for p in params(f) if id(p) not in own]
        if late:
            raise RuleError(
                f"the dynamics function given to {self.name} read {describe(late[0])} at "
                f"t = {t:g} but not at its first call (y0, t[0]), where rulegrad looks for the "
                "Params it reads, so that Param's gradient would be lost. Read every Param on "
                "each call (outside any branch), or pass it in args=."
            )
        w = np.reshape(w, np.shape(value(f)))
        gs = []
        for x in (ys, ts, *slots, *self.params):
            g = grad(f, x, w)
            gs.append(np.zeros(np.size(plain(x))) if g is None else np.ravel(g))
        return gs

    def push(self, y: Any, t: float, slotted: tuple, dy: Any, dslots: tuple) -> tuple[Any, Any]:
        """``f(y, t)`` and its jvp along ``dy`` in ``y`` and ``dslots`` in the slotted
        arguments (None: zero), flattened; one `rulegrad.jvp` of ``func``, in which the
        Params it reads are constants."""

        def f(y_: Any, *slots: Any) -> Any:
            return _vector(self.func(y_, t, *self.fill(slots)))

        ys = np.array(y, dtype=np.float64)
        slots = tuple(np.array(v, dtype=np.float64) for v in slotted)
        out, tangent = jvp(f, (ys, *slots), (dy, *dslots))
        out = np.asarray(out, dtype=np.float64).ravel()
        return out, np.asarray(tangent, dtype=np.float64).ravel()


def _vector(out: Any) -> Any:
    """The dynamics' output as one array: a list such as ``[y[1], -y[0]]`` stacked."""
    if not isinstance(out, (list, tuple)):
        return out
    return np.stack([v if isinstance(v, Tracked) else np.asarray(v) for v in out])


#: rule -> (its mode, what it is, the combination when a jvp records it, when a grad does)
_RULES = {
    "adjoint": (
        "reverse-mode",
        "the adjoint rule that rg.grad and rg.vjp use",
        "a jvp of a gradient (forward over reverse, as rg.hessian and rg.hvp take it)",
        "a gradient of a gradient (reverse over reverse)",
    ),
    "sensitivity": (
        "forward-mode",
        "the forward sensitivity rule that rg.jvp, rg.linearize and rg.jacobian(mode='fwd') use",
        "a jvp of a jvp (forward over forward)",
        "a gradient of a jvp (reverse over forward)",
    ),
}


def _check_first_order(values: tuple, name: str, rule: str = "adjoint") -> None:
    """Raise `RuleError` when the work of a derivative rule of the solve (``rule``: the
    adjoint, or the forward sensitivity) is being recorded by an outer derivative: a second
    derivative through the solve."""
    outer = next((v for v in values if isinstance(v, Tracked)), None)
    if outer is None:
        return
    mode, what, over_jvp, over_grad = _RULES[rule]
    combination = over_jvp if isinstance(getattr(outer, "tape", None), ForwardTape) else over_grad
    raise RuleError(
        f"{name}'s derivatives are first order only, and here its {mode} derivative ({what}) "
        f"was itself differentiated: {combination}. Take one derivative through {name} "
        "(rg.grad or rg.jvp, not both nested), and second derivatives by finite differences "
        "of the first, or write the solver's steps in numpy."
    )


def _forward(y0: Any, t: Any, *theta: Any, problem: _Problem) -> Any:
    """The solution at the times ``t``, shape (len(t), len(y0))."""
    _check_first_order((y0, t, *theta), problem.name)
    with _alone():
        args = problem.fill(theta[: len(problem.slots)])
        ys = problem.solve(problem.func, y0, t, args, False)
    return np.asarray(ys, dtype=_float(y0))


def _adjoint(dy: Any, ys: Any, y0: Any, t: Any, *theta: Any, problem: _Problem) -> tuple:
    """Gradients for ``y0``, ``t`` and each of ``theta`` by backward integration."""
    _check_first_order((dy, ys, y0, t, *theta), problem.name)
    n = len(problem.slots)
    slotted = theta[:n]
    g = np.asarray(dy, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    times = np.asarray(t, dtype=np.float64)
    count, dim = ys.shape
    sizes = [np.size(v) for v in theta]

    path: list[Any] = [None]  # y(tau) from t[0] to t[-1], made when first needed

    def augmented(state: Any, tau: float) -> Any:
        gy, gt, *gth = problem.pullback(path[0](tau), tau, slotted, -state[:dim])
        return np.concatenate([gy, gt, *gth])

    with _alone():
        a = g[-1].copy()
        a_t0 = 0.0
        a_theta = np.zeros(sum(sizes))
        t_grads = np.zeros(count)
        for i in range(count - 1, 0, -1):
            f = np.ravel(problem.func(ys[i], times[i], *problem.fill(slotted)))
            t_grads[i] = f @ g[i]  # moving t[i] moves where y is read
            a_t0 -= t_grads[i]
            if times[i] != times[i - 1]:
                if path[0] is None:  # one forward solve over all the times, kept dense
                    args = problem.fill(slotted)
                    path[0] = problem.dense(problem.func, ys[0], times[0], times[-1], args)
                state = np.concatenate([a, [a_t0], a_theta])
                try:
                    back = problem.solve(augmented, state, times[i - 1 : i + 1][::-1], (), True)
                except ValueError as e:  # scipy's, on values gone non-finite inside the solve
                    raise _failed(problem.name, str(e)) from e
                back = back[-1]
                if not np.all(np.isfinite(back)):
                    raise _failed(problem.name, "its values went non-finite")
                a, a_t0, a_theta = back[:dim], back[dim], back[dim + 1 :]
            a = a + g[i - 1]
        t_grads[0] = a_t0
    parts = np.split(a_theta, np.cumsum(sizes)[:-1]) if sizes else []
    grads = [_like(a, y0), _like(t_grads, t)]
    grads += [_like(p, v) for p, v in zip(parts, theta)]
    return tuple(grads)


def _sensitivity(
    problem: _Problem,
    y0: Any,
    times: Any,
    theta: tuple,
    s0: Any,
    dslots: tuple,
) -> Any:
    """The tangent of the solution at ``times``, (len(times), D), by forward sensitivity:
    the solver integrates ``(y, s)`` with ``dy/dt = f(y, t)`` and ``ds/dt`` the jvp of
    ``f`` along ``s`` and ``dslots`` (the slotted arguments' tangents, None: zero) from
    ``s(t[0]) = s0``, with the primal's solver and tolerances."""
    slotted = theta[: len(problem.slots)]
    y0 = np.asarray(y0, dtype=np.float64)
    dim = y0.size
    times = np.asarray(times, dtype=np.float64)
    # Repeated time points (solve_ivp's t[0] again as the solver's first time) are solved
    # for once: solve_ivp takes strictly monotonic times only.
    new = np.concatenate([[True], times[1:] != times[:-1]])
    rows = np.cumsum(new) - 1
    times = times[new]
    if len(times) == 1:
        return np.tile(np.ravel(s0), (len(rows), 1))
    dslots = tuple(None if d is None else np.asarray(d, dtype=np.float64) for d in dslots)

    def augmented(state: Any, tau: float) -> Any:
        s = np.reshape(state[dim:], np.shape(y0))
        f, ds = problem.push(state[:dim], tau, slotted, s, dslots)
        return np.concatenate([f, ds])

    state = np.concatenate([np.ravel(y0), np.ravel(s0)])
    with _alone():
        out = problem.solve(augmented, state, times, (), True)
    return np.asarray(out)[rows, dim:]


def _jvp(dxs: tuple, ys: Any, y0: Any, t: Any, *theta: Any, problem: _Problem) -> Any:
    """The solution's tangent along every argument's tangent ``dxs`` (None: none), in one
    sensitivity solve: it starts from ``s(t[0]) = dy0 - f(y0, t[0]) dt[0]`` and is forced
    by the jvp of the dynamics in the computed arguments (the slots; the Params after them
    are constants in forward mode); then row ``i`` moves by ``f(y(t[i]), t[i]) dt[i]`` (so
    row 0, ``y0`` itself, moves by ``dy0`` only)."""
    _check_first_order((*dxs, ys, y0, t, *theta), problem.name, "sensitivity")
    dy0, dt, *dtheta = dxs
    dslots = tuple(dtheta[: len(problem.slots)])
    s0 = np.zeros(np.shape(y0)) if dy0 is None else np.asarray(dy0, dtype=np.float64)
    out: Any = 0.0
    moved = False  # whether t[0] moves
    if dt is not None:
        dt = np.ravel(np.asarray(dt, dtype=np.float64))
        rows = np.asarray(ys, dtype=np.float64)
        times = np.ravel(np.asarray(t, dtype=np.float64))
        args = problem.fill(theta[: len(problem.slots)])
        with _alone():
            fs = np.stack([np.ravel(_vector(problem.func(rows[i], times[i], *args)))
                           for i in range(len(times))])  # fmt: skip
        out = fs * dt[:, None]
        moved = dt[0] != 0
        s0 = s0 - np.reshape(fs[0] * dt[0], np.shape(s0))
    if dy0 is not None or moved or any(d is not None for d in dslots):
        out = out + _sensitivity(problem, y0, t, theta, s0, dslots)
    return _like(np.zeros(np.shape(ys)) if np.ndim(out) == 0 else out, ys)


def _like(g: Any, x: Any) -> Any:
    """``g`` with the shape of ``x``, and its dtype when that is floating."""
    return np.reshape(np.asarray(g, dtype=_float(x)), np.shape(x))


def _float(x: Any) -> Any:
    """The dtype of ``x`` when floating (float32 stays float32), else float64."""
    dtype = np.asarray(x).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _decay(y: Any, t: Any, k: Any) -> Any:
    """The sample dynamics of the automatic check: ``dy/dt = -k y + sin(t)``."""
    return -k * y + np.sin(t)


def _sample(rng: np.random.Generator) -> tuple[tuple, dict]:
    """A small decay problem for the automatic gradient check of `ode_solution`."""
    options = {"rtol": 1e-10, "atol": 1e-10}
    solve = functools.partial(_odeint_solve, options=options)
    problem = _Problem(_decay, (None,), (0,), (), solve, "odeint", _odeint_dense(options))
    y0 = rng.standard_normal(2)
    t = np.cumsum(0.2 + 0.3 * rng.random(3))
    return (y0, t, 0.5 + rng.random(2)), {"problem": problem}


# Order 1: the adjoint and forward rules call the solver on plain arrays, so they have no
# derivatives themselves.
@primitive(vjp=_adjoint, jvp=_jvp, domain=Domain(sample=_sample, order=1))
def ode_solution(y0: Any, t: Any, *theta: Any, problem: _Problem) -> Any:
    """The solution of an ODE at the times ``t``, (len(t), len(y0)), by the adjoint method.

    ``theta`` are the computed arguments of the dynamics, then the Params it reads;
    ``problem`` (a ``_Problem``) says how to solve. `odeint` and `solve_ivp` call it.
    """
    return _forward(y0, t, *theta, problem=problem)


def _odeint_solve(func: Any, y0: Any, t: Any, args: tuple, back: bool, *, options: dict) -> Any:
    """odeint's solve for `_Problem` (the backward one with ``_ODEINT_BACK`` options only)."""
    if back:
        kept = {k: v for k, v in options.items() if k in _ODEINT_BACK}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", _si.ODEintWarning)
                return _ODEINT(func, y0, t, args=args, **_tolerances(kept, np.size(y0)))
        except _si.ODEintWarning as e:
            raise _failed("odeint", str(e)) from None
    return _ODEINT(func, y0, t, args=args, **options)


def _failed(name: str, reason: str) -> RulegradError:
    """The error for a failed solve of the derivative's system (the adjoint's, backwards,
    or the forward sensitivity's)."""
    return RulegradError(
        f"the solver of {name}'s derivative system failed ({reason}). Try other tolerances "
        "(rtol, atol) or another method, or the other mode: forward mode (rg.jvp, "
        "rg.jacobian(f, mode='fwd')) solves the sensitivities forwards with the state, "
        "reverse mode (rg.grad, rg.vjp) the adjoint backwards along a forward solution."
    )


#: odeint's options by their solve_ivp names, for `_dense`; its default rtol and atol
_ODEINT_AS_IVP = {"rtol": "rtol", "atol": "atol", "hmax": "max_step", "hmin": "min_step"}
_ODEINT_TOL = 1.49012e-8


def _dense(
    func: Callable[..., Any], y: Any, t0: float, t1: float, args: tuple, *, options: dict
) -> Callable[[float], Any]:
    """The forward solution of an odeint problem ``func`` from ``y`` at ``t0`` to ``t1``, as
    a function of time: solve_ivp's dense output with LSODA, odeint's solver (odeint keeps
    no interpolant of its own). The adjoint reads the state from it rather than running the
    state backwards, which blows up where the system decays: a decay at rate k over a time
    T grows backwards by exp(k T), and so did the gradient's error."""
    g = _swapped_back(func)
    sol = _SOLVE_IVP(g, (t0, t1), y, "LSODA", args=args or None, dense_output=True, **options)
    if sol.status < 0:
        raise _failed("odeint", sol.message)
    return sol.sol


def _ivp_options(options: dict) -> dict:
    """odeint's ``options`` as solve_ivp's for `_dense`: odeint's default tolerances, and its
    ``hmax``/``hmin`` of 0 (no limit) left out."""
    out = {"rtol": _ODEINT_TOL, "atol": _ODEINT_TOL}
    for old, new in _ODEINT_AS_IVP.items():
        v = options.get(old)
        if v is not None and (new in out or v > 0):
            out[new] = v
    return out


def _odeint_dense(options: dict) -> Callable[..., Any]:
    """`_dense` for an odeint problem with odeint's ``options``."""
    return functools.partial(_dense, options=_ivp_options(options))


def _tolerances(options: dict, size: int) -> dict:
    """``options`` for an augmented state of ``size`` entries: an ``rtol`` or ``atol`` given
    per state entry (an array) keeps its entries for the state, which comes first, and
    gives its smallest to the rest (the adjoint or the sensitivities)."""
    out = dict(options)
    for name in ("rtol", "atol"):
        if np.ndim(options.get(name)) > 0:
            tol = np.ravel(options[name])
            out[name] = np.concatenate([tol, np.full(size - tol.size, tol.min())])
    return out


def _prepare(func: Callable, args: Any, y0: Any, t0: Any, name: str) -> tuple:
    """The slots (computed arguments) and Params of a call: ``(args, slots, values, params)``.

    The Params come from one call of ``func`` at ``(y0, t0)`` on a tape of its own."""
    args = args if isinstance(args, tuple) else (args,)
    slots = tuple(i for i, a in enumerate(args) if isinstance(a, Box))
    for a in args:
        if isinstance(a, (list, tuple, dict)) and any(isinstance(v, Box) for v in _items(a)):
            raise ArgumentError(
                f"{name}: args holds a container with a computed tracked value in it "
                f"({describe(a)}); pass such values as args entries of their own (Params "
                "inside containers are fine)"
            )
    values = tuple(args[i] for i in slots)
    plain_args = tuple(None if i in slots else a for i, a in enumerate(args))
    with _alone():
        probe = diff(
            lambda: _vector(func(_state(y0), float(value(t0)),
                                 *[value(a) if i in slots else a for i, a in enumerate(args)]))
        )  # fmt: skip
        found = tuple(params(probe))
    if isinstance(probe.value, Tracked):
        raise ArgumentError(
            f"the dynamics function given to {name} returned {describe(probe.value)}, a value "
            "tracked through something it closes over other than a Param (a value computed "
            "inside rg.diff, or an argument of a function rg.grad differentiates): the "
            "adjoint cannot see it. Pass that value in args= instead."
        )
    return plain_args, slots, values, found


def _state(y0: Any) -> Any:
    """``y0``'s value in float64, or complex128 when complex (a complex state fails later, in
    `_real`, when something is differentiated, and is scipy's business otherwise)."""
    y = np.asarray(value(y0))
    return y.astype(np.complex128 if np.iscomplexobj(y) else np.float64)


def _real(name: str, y0: Any, values: tuple, found: tuple) -> None:
    """Raise `ArgumentError` when the initial state, a computed ``args`` entry (``values``)
    or a Param the dynamics read (``found``) is complex: the rules solve real systems."""
    labelled = [("y0", y0), *(("an args= entry", v) for v in values)]
    for what, x in [*labelled, *(("a Param the dynamics read", p) for p in found)]:
        if np.iscomplexobj(value(x)):
            raise ArgumentError(
                f"{name} is differentiable for real systems only, and {what} is complex "
                f"({describe(x)}; its imaginary part would be dropped). Write the system in "
                "real numbers: a state of real and imaginary parts, np.concatenate([y.real, "
                "y.imag])."
            )


def _items(x: Any) -> list:
    return list(x.values()) if isinstance(x, dict) else list(x)


def _tracked(*xs: Any) -> bool:
    """Whether any of ``xs`` (or an entry of a tuple among them) is tracked."""
    for x in xs:
        if isinstance(x, Tracked):
            return True
        if isinstance(x, (tuple, list)) and _tracked(*x):
            return True
    return False


def odeint(func: Callable[..., Any], y0: Any, t: Any, args: Any = (), **options: Any) -> Any:
    """`scipy.integrate.odeint`, differentiable in ``y0``, ``t``, ``args`` and the Params
    ``func`` reads.

    Takes scipy's arguments (``rtol``, ``atol``, ``tfirst``, ``Dfun``, ``full_output``, ...);
    ``func(y, t, *args)`` is plain numpy code. Outside `rulegrad.diff` this is scipy's
    function. With ``full_output=True`` it returns ``(solution, infodict)``; only the
    solution is tracked. The backward integration reuses ``rtol``, ``atol``, ``hmax``,
    ``hmin`` and ``mxstep``.

    Examples:
        >>> import rulegrad as rg
        >>> y0 = rg.Param(np.array([1.0, 0.0]))
        >>> def spin(y, t):
        ...     return np.stack([-y[1], y[0]])
        >>> J = rg.diff(lambda: odeint(spin, y0, np.linspace(0, np.pi, 3), rtol=1e-10)[-1, 0])
        >>> rg.grad(J, y0).round(6)   # a half turn: y(pi) = -y0
        array([-1., -0.])
    """
    if not _recording():
        return _ODEINT(func, value(y0), value(t), args=_values(args), **options)
    tfirst = options.pop("tfirst", False)
    full = options.pop("full_output", False)
    dfun = options.pop("Dfun", None)
    ode = _swapped(func) if tfirst else func
    if dfun is not None:
        options["Dfun"] = _swapped(dfun) if tfirst else dfun
    args, slots, values, found = _prepare(ode, args, y0, np.ravel(plain(t))[0], "odeint")
    if not (found or slots or _tracked(y0, t)):
        out = _ODEINT(ode, y0, t, args=args, full_output=full, **options)
        return out
    _real("odeint", y0, values, found)
    problem = _Problem(ode, args, slots, found, None, "odeint")  # type: ignore[arg-type]

    def solve(f: Any, y: Any, ts: Any, a: tuple, back: bool) -> Any:
        if back:
            return _odeint_solve(f, y, ts, a, True, options=options)
        ys, problem.info = _ODEINT(f, y, ts, args=a, full_output=True, **options)
        return ys

    problem.solve = solve
    problem.dense = _odeint_dense(options)
    ys = ode_solution(y0, t, *values, *found, problem=problem)
    return (ys, problem.info) if full else ys


def _swapped(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f(t, y, *args)`` as ``g(y, t, *args)``."""

    def g(y: Any, t: Any, *args: Any) -> Any:
        return f(t, y, *args)

    return g


def _values(args: Any) -> Any:
    return tuple(value(a) for a in args) if isinstance(args, tuple) else value(args)


def solve_ivp(
    fun: Callable[..., Any],
    t_span: Any,
    y0: Any,
    method: Any = "RK45",
    t_eval: Any = None,
    args: Any = None,
    **options: Any,
) -> Any:
    """`scipy.integrate.solve_ivp`, with ``sol.y`` differentiable in ``y0``, ``t_eval``,
    ``t_span[0]``, ``args`` and the Params ``fun`` reads.

    ``fun(t, y, *args)`` as in scipy. Without ``t_eval`` the solution is at the times the
    solver chose, which are then constants, but for the first and last, ``t_span``'s own
    (so the last column is differentiable in ``t_span[1]``). Only ``sol.y`` is tracked (``sol.t`` is
    ``t_eval`` as given); ``dense_output`` and events work as in scipy but are not
    differentiated. The backward integration uses the same ``method``, ``rtol``, ``atol``
    and ``max_step``. Outside `rulegrad.diff` this is scipy's function.

    Examples:
        >>> import rulegrad as rg
        >>> k = rg.Param(1.0)
        >>> def decay(t, y):
        ...     return -k * y
        >>> sol_y = lambda: solve_ivp(decay, (0, 1), [2.0], t_eval=[1.0], rtol=1e-10, atol=1e-12).y
        >>> J = rg.diff(lambda: sol_y()[0, 0])   # 2 exp(-k); d/dk = -2 exp(-k)
        >>> round(float(rg.grad(J, k)), 6)
        -0.735759
    """
    if not _recording():
        a = None if args is None else _values(args)
        tv = None if t_eval is None else value(t_eval)
        return _SOLVE_IVP(fun, _values(tuple(t_span)), value(y0), method, tv, args=a, **options)
    if options.get("vectorized"):
        raise ArgumentError(
            "solve_ivp(vectorized=True) is not differentiable by rulegrad: the adjoint "
            "calls fun on one state at a time; leave vectorized out"
        )
    args = None if args is None else tuple(args)  # scipy unpacks a list too
    t0 = t_span[0]
    keep = {"rtol", "atol", "max_step"}
    back_options = {"method": method, **{k: v for k, v in options.items() if k in keep}}
    ode = _swapped(fun)
    plain_args, slots, values, found = _prepare(ode, args or (), y0, t0, "solve_ivp")
    if not (found or slots or _tracked(y0, tuple(t_span), t_eval)):
        return _SOLVE_IVP(fun, _values(tuple(t_span)), y0, method, t_eval, args=args, **options)
    _real("solve_ivp", y0, values, found)
    shown = t_eval
    if t_eval is None:
        with _alone():
            shown = t_eval = _SOLVE_IVP(
                fun, _values(tuple(t_span)), value(y0), method, args=_values(args or ()) or None,
                **options
            ).t  # fmt: skip
        if len(t_eval) > 1 and t_eval[-1] == value(t_span[1]):
            # the solver's times are constants, but the first and last are t_span's own
            ends = [np.reshape(t0, (1,)), np.reshape(t_span[1], (1,))]
            t_eval = np.concatenate([ends[0], t_eval[1:-1], ends[1]])
    args = plain_args
    problem = _Problem(ode, args, slots, found, None, "solve_ivp")  # type: ignore[arg-type]
    span_end = value(t_span[1])

    def solve(f: Any, y: Any, ts: Any, a: tuple, back: bool) -> Any:
        g = _swapped_back(f)
        if back:
            kept = _tolerances(back_options, np.size(y))
            sol = _SOLVE_IVP(g, (ts[0], ts[-1]), y, t_eval=ts, args=a or None, **kept)
            if sol.status < 0 and kept["method"] != "LSODA":  # (BDF can fail on a stiff
                kept["method"] = "LSODA"  # system's adjoint where LSODA and Radau do not)
                sol = _SOLVE_IVP(g, (ts[0], ts[-1]), y, t_eval=ts, args=a or None, **kept)
        else:
            sol = _SOLVE_IVP(
                g, (ts[0], span_end), y, method, ts[1:], args=a or None,
                **{**options, "dense_output": True}
            )  # fmt: skip
            path = sol.sol  # the adjoint reads the state from this solve's own interpolant
            problem.dense = lambda *_: path
            if not options.get("dense_output"):
                sol.sol = None
            problem.info = sol
        got = np.shape(sol.y)[1] if np.ndim(sol.y) == 2 else 0  # (a list when none)
        if back and (sol.status < 0 or got != len(ts)):
            raise _failed("solve_ivp", sol.message)
        if sol.status < 0 or got != len(ts) - (not back):
            raise RulegradError(
                f"solve_ivp stopped before the last time point while rulegrad differentiated "
                f"it ({sol.message}); a terminal event or a failed step cannot be "
                "differentiated: give t_eval inside the interval the solver reaches"
            )
        ys = sol.y.T
        return ys if back else np.concatenate([np.reshape(y, (1, -1)), ys])

    problem.solve = solve
    times = np.concatenate([np.reshape(t0, (1,)), np.reshape(t_eval, (-1,))])
    ys = ode_solution(y0, times, *values, *found, problem=problem)
    sol = problem.info
    sol.y = np.transpose(ys[1:])
    sol.t = shown
    return sol


def _swapped_back(f: Callable[..., Any]) -> Callable[..., Any]:
    """``g(y, t, *args)`` as ``f(t, y, *args)`` (solve_ivp's order)."""

    def h(t: Any, y: Any, *args: Any) -> Any:
        return f(y, t, *args)

    return h


def install() -> None:
    """Wrap ``scipy.integrate.odeint`` and ``solve_ivp`` so they are differentiable.

    The wrappers call rulegrad's `odeint` / `solve_ivp` while a `rulegrad.diff` records,
    and scipy's own functions otherwise (one context-variable read more per call). Code
    that did ``from scipy.integrate import odeint`` before keeps scipy's; `uninstall`
    puts them back.
    """
    for name, mine in (("odeint", odeint), ("solve_ivp", solve_ivp)):
        original = _scipy(name)
        if getattr(_si, name) is not original:
            continue

        @functools.wraps(original)
        def wrapper(*args: Any, _mine: Any = mine, _original: Any = original, **kw: Any) -> Any:
            if _recording():
                return _mine(*args, **kw)
            return _original(*args, **kw)

        wrapper.__rulegrad_original__ = original  # type: ignore[attr-defined]
        setattr(_si, name, wrapper)


def uninstall() -> None:
    """Put scipy's own ``odeint`` and ``solve_ivp`` back on ``scipy.integrate``."""
    for name in ("odeint", "solve_ivp"):
        setattr(_si, name, _scipy(name))


# Loaded by the scipy plugin, as the other scipy rule modules intercept theirs on import.
install()
