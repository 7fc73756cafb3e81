"""``python -m adlab fit METHOD --data SPEC``: see :mod:`adlab.cli`."""

import sys

from adlab.cli import main

sys.exit(main())
