"""``python -m adlab fit METHOD --data SPEC`` and ``python -m adlab score METHOD --data FILE``: see :mod:`adlab.cli`."""

import sys

from adlab.cli import main

sys.exit(main())
