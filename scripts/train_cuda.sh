#!/usr/bin/env bash
# The training recipe on one CUDA GPU in under 9 minutes: teacher (3.8 min), the six students in
# lockstep (2.2 min), no MediaPipe needed (Python >= 3.11, numpy 1 or 2, PyTorch with CUDA).
# Evaluate afterwards on any machine with `python -m training evaluate` (see README).
#
# Usage: scripts/train_cuda.sh OUT_DIR [PACK] [extra recipe flags ...]
#   PACK: parsed mocap from `python -m training pack-mocap` (default runs/mocap-pack.npz), so the
#         GPU machine needs neither the mocap files nor the time to parse them.
#   Extra flags override the ones below (argparse keeps the last), e.g. --teacher-minutes 10.
set -euo pipefail
out=${1:?usage: scripts/train_cuda.sh OUT_DIR [PACK] [extra recipe flags ...]}
pack=${2:-runs/mocap-pack.npz}
shift $(($# >= 2 ? 2 : 1))
[ -f "$pack" ] || { echo "train_cuda: no mocap pack at $pack: run 'python -m training pack-mocap --out $pack' first" >&2; exit 2; }
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
exec "$python" -m training recipe --device cuda --data "$pack" --no-cache --quiet --no-eval \
  --out "$out/models" --runs "$out/runs" \
  --teacher-model teacher-s --teacher-batch-size 256 --teacher-lr 1e-3 --teacher-warmup 200 \
  --teacher-minutes 3.8 --teacher-ema 0.995 \
  --student-model student-s --student-batch-size 256 --student-lr 1e-3 --student-warmup 200 \
  --student-minutes 2.2 --student-ema 0.995 \
  --limb-scale-std 0.1 --workers 12 --val-every 200 --val-windows 512 "$@"
