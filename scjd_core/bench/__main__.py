"""``python -m scjd_core.bench``: the ``scjd bench`` command without the ``scjd`` entry point."""

import sys

from scjd_core.bench.command import main

if __name__ == "__main__":  # not when imported (e.g. by a walk over the package)
    sys.exit(main())
