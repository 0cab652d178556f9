"""``python -m physlearn ...`` is the ``physlearn`` command."""

import sys

from .cli import main

sys.exit(main())
