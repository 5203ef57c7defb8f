"""``python -m segurlink`` is the ``segurlink`` command."""

import sys

from .cli import main

sys.exit(main())
