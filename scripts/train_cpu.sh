#!/usr/bin/env bash
# The whole training recipe on a CPU within 150 minutes of wall time: a CPU-sized teacher
# (65 min), the six students in lockstep (SCJD, undistilled, three one-loss ablations, central
# frames; 55 min), then the evaluation on the fixed held-out file. Resumable: run it again with
# --resume after an interruption. Runs in the background, e.g.
#   nohup scripts/train_cpu.sh runs/cpu_recipe > runs/cpu_recipe.log 2>&1 &
#
# Usage: scripts/train_cpu.sh OUT_DIR [extra recipe flags ...]
#   Writes OUT_DIR/models (checkpoints), OUT_DIR/runs (logs, curves' data, results.json) and
#   OUT_DIR/MODEL_CARD.md; the shipped card and weights are not touched. If OUT_DIR/runs/mlp
#   holds a frame-wise MLP (`python -m training mlp --out OUT_DIR/runs/mlp`), the table has its row.
#   Extra flags override the ones below (argparse keeps the last), e.g. --teacher-minutes 30.
# Why these settings: docs/training_recipe.md, section "The CPU recipe".
set -euo pipefail
out=${1:?usage: scripts/train_cpu.sh OUT_DIR [extra recipe flags ...]}
shift
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
exec "$python" -m training recipe --device cpu --quiet \
  --out "$out/models" --runs "$out/runs" --model-card "$out/MODEL_CARD.md" \
  --teacher-model teacher-s --teacher-arg dim=64 --teacher-arg depth=3 --teacher-arg heads=4 \
  --teacher-batch-size 32 --teacher-lr 5e-4 --teacher-warmup 200 --teacher-minutes 65 --teacher-ema 0.995 \
  --student-model student-s --student-batch-size 32 --student-lr 5e-4 --student-warmup 100 \
  --student-minutes 55 --student-ema 0.995 \
  --lambda-djed 0.3 --lambda-ajad 0.05 --lambda-tcd 1.0 \
  --limb-scale-std 0.1 --val-every 250 --val-windows 256 "$@"
