"""Knet's optimizers (``src/train20/update.jl``): hyperparameters plus per-parameter state."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any

import numpy as np

from ..core.errors import InPlaceError

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "Momentum", "Nesterov", "Optimizer", "Rmsprop"]


def array_of(w: Any) -> Any:
    """Return the array that ``w`` holds: ``w.value`` for a parameter-like object, else ``w``."""
    return w.value if hasattr(w, "value") else w


def checked_grad(x: Any, g: Any, where: str = "w") -> Any:
    """Return ``g`` as an array of ``x``'s dtype, after checking that ``x`` can take it in place."""
    if isinstance(x, np.generic) or not (hasattr(x, "dtype") and hasattr(x, "shape")):
        raise TypeError(f"cannot update {where} in place: {type(x).__name__} is not an array")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"cannot update {where} in place: its dtype is {x.dtype}, and optimizers need a float"
            " array; convert it first, e.g. with .astype(np.float32)"
        )
    g = np.asarray(g, dtype=x.dtype)  # the step is done in w's dtype, never upcast
    if g.shape != x.shape:
        raise ValueError(
            f"gradient of {where} has shape {g.shape}, but {where} has shape {x.shape}"
        )
    return g


def _forget(states: dict[int, Any], key: int, _ref: object) -> None:
    """Weakref callback: drop the state of a parameter that no longer exists."""
    states.pop(key, None)


@dataclass(eq=False, kw_only=True)
class Optimizer:
    """Base class: hyperparameters as fields, and state kept per parameter (Knet's ``clone``).

    Subclasses list their hyperparameters as dataclass fields, name their state arrays in
    ``_state_names`` and implement ``_update``. Hyperparameters are stored as Python floats, so
    numpy keeps the array's dtype (NEP 50).
    """

    lr: float
    gclip: float = 0.0
    _state_names = ()
    _states: dict[int, tuple[Any, dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.init:
                setattr(self, f.name, float(getattr(self, f.name)))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the state as ``(parameter, arrays)`` pairs: ids and weakrefs do not pickle.

        Pickled together with its parameters (``pickle.dumps((model, opt))``), an optimizer
        comes back holding the state of the unpickled parameters.
        """
        fields_ = {k: v for k, v in self.__dict__.items() if k != "_states"}
        return {**fields_, "_states": self.states()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        pairs = state.pop("_states")
        self.__dict__.update(state)
        self.set_states(pairs)

    def states(self) -> list[tuple[Any, dict[str, Any]]]:
        """The ``(parameter, state)`` pairs of the parameters this optimizer has stepped.

        Examples:
            >>> w, opt = np.array([1.0]), Momentum(lr=0.5)
            >>> opt.step(w, np.array([1.0]))
            >>> [(p is w, sorted(s)) for p, s in opt.states()]
            [(True, ['v'])]
        """
        pairs = [(r() if isinstance(r, weakref.ref) else r, s) for r, s in self._states.values()]
        return [(w, s) for w, s in pairs if w is not None]

    def set_states(self, pairs: list[tuple[Any, dict[str, Any]]]) -> None:
        """Replace all state by these ``(parameter, state)`` pairs (as loading a checkpoint does).

        Examples:
            >>> w, opt = np.array([1.0]), Adam(lr=0.1)
            >>> opt.set_states([(w, {"m": np.zeros(1), "v": np.zeros(1), "t": 3})])
            >>> [s["t"] for _, s in opt.states()]
            [3]
        """
        self._states = {}
        for w, s in pairs:
            self._entry(w, s)

    def clone(self) -> Optimizer:
        """Return an optimizer with the same hyperparameters and no state."""
        return type(self)(**{f.name: getattr(self, f.name) for f in fields(self) if f.init})

    def step(self, w: Any, g: Any) -> None:
        """Update one parameter in place.

        Args:
            w: A float array, or a parameter-like object whose ``.value`` is one. State (velocity,
                moments) is kept per ``w``, keyed by the object itself, so pass the same object
                every step.
            g: Its gradient, of the same shape; ``None`` means no gradient and does nothing. It is
                cast to ``w``'s dtype and never modified.
        """
        if g is None:
            return
        x = array_of(w)
        g = checked_grad(x, g)
        if isinstance(x, np.ndarray) and not x.flags.writeable:
            raise InPlaceError(
                "this parameter is read-only because a Result that recorded it has not been "
                "differentiated yet (its tape still needs the value): take rg.grad of that "
                "Result, or drop it (del J), before updating the parameter"
            )
        if self.gclip > 0:  # Knet's gclip!: scale g so that its norm is at most gclip
            norm = np.linalg.norm(g)
            if norm > self.gclip:
                g = g * (self.gclip / norm)
        self._update(x, g, self._state(w, x) if self._state_names else {})

    def _state(self, w: Any, x: Any) -> dict[str, Any]:
        """Return the state of ``w``, creating zeros shaped like ``x`` on first use."""
        entry = self._states.get(id(w))
        if entry is None:
            return self._entry(w, {n: np.zeros_like(x) for n in self._state_names})
        return entry[1]

    def _entry(self, w: Any, state: dict[str, Any]) -> dict[str, Any]:
        """Keep ``state`` for ``w``, and return it."""
        try:  # a weakref lets the state go with the parameter, and ids are never reused early
            ref: Any = weakref.ref(w, partial(_forget, self._states, id(w)))
        except TypeError:  # not weakref-able: hold it, so its id stays taken
            ref = w
        self._states[id(w)] = (ref, state)
        return state

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define an update")


@dataclass(eq=False, kw_only=True)
class SGD(Optimizer):
    """Stochastic gradient descent: ``w -= lr * g``.

    Examples:
        >>> w = np.array([1.0, 2.0])
        >>> SGD(lr=0.5).step(w, np.array([1.0, -1.0]))
        >>> w
        array([0.5, 2.5])
    """

    lr: float = 0.1
    gclip: float = 0.0

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        w -= self.lr * g


@dataclass(eq=False, kw_only=True)
class Momentum(Optimizer):
    """Momentum (Qian 1999): ``v = gamma * v - lr * g; w += v``.

    Examples:
        >>> w, opt = np.array([1.0]), Momentum(lr=0.5, gamma=0.5)
        >>> for _ in range(2):
        ...     opt.step(w, np.array([1.0]))
        >>> w  # v = -0.5, then -0.75
        array([-0.25])
    """

    lr: float = 0.05
    gamma: float = 0.95
    gclip: float = 0.0
    _state_names = ("v",)

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        v = s["v"]
        v *= self.gamma
        v -= self.lr * g
        w += v


@dataclass(eq=False, kw_only=True)
class Nesterov(Optimizer):
    """Nesterov momentum (Bengio et al. 2012, eq. 7), as Momentum with a look-ahead step.

    ``v = gamma * v_old - lr * g; w += (1 + gamma) * v - gamma * v_old``.

    Examples:
        >>> w = np.array([1.0])
        >>> Nesterov(lr=0.5, gamma=0.5).step(w, np.array([1.0]))
        >>> w  # v = -0.5; w = 1 + 1.5 * -0.5
        array([0.25])
    """

    lr: float = 0.05
    gamma: float = 0.95
    gclip: float = 0.0
    _state_names = ("v",)

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        v = s["v"]
        v *= self.gamma
        w -= v
        v -= self.lr * g
        w += (1 + self.gamma) * v


@dataclass(eq=False, kw_only=True)
class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): ``G += g**2; w -= lr * g / sqrt(G + eps)``.

    Examples:
        >>> w = np.array([1.0])
        >>> Adagrad(lr=0.5, eps=0.0).step(w, np.array([2.0]))
        >>> w
        array([0.5])
    """

    lr: float = 0.05
    eps: float = 1e-6
    gclip: float = 0.0
    _state_names = ("G",)

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        s["G"] += g * g
        w -= self.lr * g / np.sqrt(s["G"] + self.eps)


@dataclass(eq=False, kw_only=True)
class Rmsprop(Optimizer):
    """RMSprop (Tieleman and Hinton 2012): ``G = rho * G + (1 - rho) * g**2``, then as Adagrad.

    Examples:
        >>> w = np.array([1.0])
        >>> Rmsprop(lr=0.1, rho=0.75, eps=0.0).step(w, np.array([2.0]))
        >>> w  # G = 0.25 * 4 = 1
        array([0.8])
    """

    lr: float = 0.01
    rho: float = 0.9
    eps: float = 1e-6
    gclip: float = 0.0
    _state_names = ("G",)

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        G = s["G"]
        G *= self.rho
        G += (1 - self.rho) * g * g
        w -= self.lr * g / np.sqrt(G + self.eps)


@dataclass(eq=False, kw_only=True)
class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): steps of ``g * sqrt(delta + eps) / sqrt(G + eps)``.

    ``G`` and ``delta`` are running means (weight ``rho``) of the squared gradients and steps.

    Examples:
        >>> w = np.array([1.0])
        >>> Adadelta(rho=0.0, eps=0.25).step(w, np.array([0.5]))
        >>> w  # step = 0.5 * sqrt(0.25) / sqrt(0.5)
        array([0.64644661])
    """

    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    gclip: float = 0.0
    _state_names = ("G", "delta")

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        G, delta = s["G"], s["delta"]
        G *= self.rho
        G += (1 - self.rho) * g * g
        dw = g * np.sqrt(delta + self.eps) / np.sqrt(G + self.eps)
        delta *= self.rho
        delta += (1 - self.rho) * dw * dw
        w -= self.lr * dw


@dataclass(eq=False, kw_only=True)
class Adam(Optimizer):
    """Adam (Kingma and Ba 2015): ``w -= lr * mhat / (sqrt(vhat) + eps)``.

    ``mhat`` and ``vhat`` are the running means of ``g`` and ``g**2`` (weights ``beta1`` and
    ``beta2``), corrected for their start at zero.

    Examples:
        >>> w = np.array([1.0, 1.0], dtype=np.float32)
        >>> Adam(lr=0.1).step(w, np.array([3.0, -0.5]))
        >>> w  # the first step is lr * sign(g)
        array([0.9, 1.1], dtype=float32)
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    gclip: float = 0.0
    _state_names = ("m", "v")

    def _update(self, w: Any, g: Any, s: dict[str, Any]) -> None:
        s["t"] = t = s.get("t", 0) + 1
        m, v = s["m"], s["v"]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        mhat = m / (1 - self.beta1**t)
        vhat = v / (1 - self.beta2**t)
        w -= self.lr * mhat / (np.sqrt(vhat) + self.eps)
