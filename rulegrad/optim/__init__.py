"""Optimizers that update parameters in place from their gradients (Knet's ``update!`` family)."""

from __future__ import annotations

__all__ = [
    # _optimizers: one class per algorithm, with per-parameter state
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adagrad",
    "Rmsprop",
    "Adadelta",
    "Adam",
    # _update: nested structures of parameters
    "update",
    "optimizers",
]

from ._optimizers import SGD as SGD
from ._optimizers import Adadelta as Adadelta
from ._optimizers import Adagrad as Adagrad
from ._optimizers import Adam as Adam
from ._optimizers import Momentum as Momentum
from ._optimizers import Nesterov as Nesterov
from ._optimizers import Optimizer as Optimizer
from ._optimizers import Rmsprop as Rmsprop
from ._update import optimizers as optimizers
from ._update import update as update
