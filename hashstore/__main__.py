"""``python -m hashstore``: the same as the ``hashstore`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
