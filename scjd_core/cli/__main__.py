"""``python -m scjd_core.cli``: the ``scjd`` command."""

from __future__ import annotations

import sys

from scjd_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
