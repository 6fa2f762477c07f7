"""Knet's neural-network functions for numpy models: activations, losses, dropout, mat, conv.

Each works on plain arrays and on tracked values; the hot ones are primitives with
one-step gradient rules (rulegrad/rules/nn.py). Rows are examples: the class axis is
``axis=-1`` by default and ``mat`` keeps axis 0 as the batch axis.

Examples:
    >>> import numpy as np
    >>> import rulegrad as rg
    >>> from rulegrad.nn import logp, nll, relu, sigm, softmax
    >>> scores = rg.Param(np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))
    >>> labels = np.array([0, 2])
    >>> J = rg.diff(lambda: nll(scores, labels))
    >>> round(float(rg.value(J)), 4)  # mean cross-entropy of the two rows
    0.8606
    >>> rg.grad(J, scores).round(3)  # (softmax - onehot) / 2
    array([[-0.078,  0.057,  0.021],
           [ 0.106,  0.288, -0.394]])
    >>> np.exp(logp(np.array([1.0, 2.0]))).sum().round(12), softmax(np.array([0.0, 0.0]))
    (np.float64(1.0), array([0.5, 0.5]))
    >>> relu(np.array([-1.0, 2.0])), sigm(np.array([0.0]))
    (array([0., 2.]), array([0.5]))
"""

from __future__ import annotations

from .rules.conv import conv4 as conv4
from .rules.conv import pool as pool
from .rules.conv import unpool as unpool
from .rules.nn import accuracy as accuracy
from .rules.nn import bce as bce
from .rules.nn import dropout as dropout
from .rules.nn import elu as elu
from .rules.nn import logistic as logistic
from .rules.nn import logp as logp
from .rules.nn import logsumexp as logsumexp
from .rules.nn import lstm as lstm
from .rules.nn import lstmback as lstmback
from .rules.nn import mat as mat
from .rules.nn import nll as nll
from .rules.nn import relu as relu
from .rules.nn import selu as selu
from .rules.nn import sigm as sigm
from .rules.nn import sigmback as sigmback
from .rules.nn import softmax as softmax
from .rules.nn import softmax_nll as softmax_nll
from .rules.nn import softplus as softplus

__all__ = [
    "accuracy", "bce", "conv4", "dropout", "elu", "logistic", "logp", "logsumexp", "lstm",
    "lstmback", "mat", "nll", "pool", "relu", "selu", "sigm", "sigmback", "softmax",
    "softmax_nll", "softplus", "unpool",
]  # fmt: skip
