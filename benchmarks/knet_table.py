"""The Knet tutorial's benchmark table: rulegrad against hand-written numpy, HIPS autograd, PyTorch.

The rows, the hand-written baselines and the timing live in `rulegrad.bench`, so that the
installed ``rulegrad bench`` command runs the same table; this script is that command.
Everything runs on one thread (the ``*_NUM_THREADS`` variables are set to 1 before numpy
is imported; export them to override).

Usage (from the repository root, with rulegrad installed)::

    python benchmarks/knet_table.py                 # all five rows, 5 runs per column
    python benchmarks/knet_table.py MLP CharLM      # some rows
    python benchmarks/knet_table.py --repeats 9 --profile
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # read once, when numpy loads its BLAS: set them first

from rulegrad.bench import main  # noqa: E402 (imports follow the thread settings on purpose)

if __name__ == "__main__":
    sys.exit(main())
