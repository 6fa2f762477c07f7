"""The Knet tutorial's benchmark table: rulegrad against hand-written numpy, HIPS autograd, PyTorch.

The rows, the hand-written baselines and the timing live in `rulegrad.bench`, so that the
installed ``rulegrad bench`` command runs the same table; this script is that command.
Everything runs on one thread unless ``--threads`` says otherwise.

Usage (from the repository root, with rulegrad installed)::

    python benchmarks/knet_table.py                 # all five rows, 5 runs per column
    python benchmarks/knet_table.py MLP CharLM      # some rows
    python benchmarks/knet_table.py --repeats 9 --profile
"""

from __future__ import annotations

import sys

from rulegrad.bench import main

if __name__ == "__main__":
    sys.exit(main())
