"""``python -m rulegrad ...`` is the ``rulegrad`` command."""

import sys

from .cli import main

sys.exit(main())
