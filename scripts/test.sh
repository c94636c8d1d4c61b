#!/usr/bin/env bash
# Quick start 2: set up with the test tools, then run the lint checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
. .venv/bin/activate
ruff check .
ruff format --check .
lint-imports  # the layer contracts of pyproject.toml
python -m pytest "$@"
