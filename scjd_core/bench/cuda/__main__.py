"""``python -m scjd_core.bench.cuda``: the CUDA benchmark (as ``scripts/bench_cuda.py``; also its compile child)."""

import sys

from scjd_core.bench.cuda.cli import main

if __name__ == "__main__":  # not when imported (e.g. by a walk over the package)
    sys.exit(main())
