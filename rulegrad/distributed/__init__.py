"""Data-parallel training across processes and machines on MPI (NCCL for cupy arrays).

Run the same script on every rank (``mpiexec -n 2 python train.py``): `init` joins the job
(or makes a one-process world when not launched under MPI), `broadcast` gives every rank
rank 0's Params, `DataParallel` reduces the gradients during the backward walk, `shard`
gives each rank its part of the data, `allreduce` and `barrier` are there for the rest.
Arrays are reduced by a `Communicator` chosen by their type (`communicator`): MPI for numpy
arrays, NCCL for cupy arrays; another array library registers its own. See
docs/distributed.md.

Examples:
    >>> import numpy as np
    >>> import rulegrad as rg
    >>> from rulegrad import distributed as dist
    >>> w = dist.init()
    >>> model = [rg.Param(np.ones(3))]
    >>> with dist.DataParallel(model) as dp:
    ...     x = dp.shard(np.arange(6.0).reshape(2, 3))
    ...     J = rg.diff(lambda: np.mean(x @ model[0]))
    ...     g = rg.grad(J, model[0])
    >>> g, w.size
    (array([1.5, 2.5, 3.5]), 1)
"""

from __future__ import annotations

from .comm import Communicator as Communicator
from .comm import MPICommunicator as MPICommunicator
from .comm import NCCLCommunicator as NCCLCommunicator
from .comm import communicator as communicator
from .job import BroadcastMismatchError as BroadcastMismatchError
from .job import CollectiveTimeoutError as CollectiveTimeoutError
from .job import DistributedError as DistributedError
from .job import World as World
from .job import barrier as barrier
from .job import init as init
from .job import main_prints as main_prints
from .job import wait as wait
from .job import world as world
from .parallel import DataParallel as DataParallel
from .parallel import allreduce as allreduce
from .parallel import broadcast as broadcast
from .parallel import shard as shard
