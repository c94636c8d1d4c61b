#!/usr/bin/env bash
# Quick start 1: set up, then turn the bundled demo clip into 3D poses (BVH, CSV, JSON in ./scjd_output).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/scjd process assets/demo/pose_1.mp4 --backend all --export bvh,csv,json --out scjd_output --overwrite "$@"
