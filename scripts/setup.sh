#!/usr/bin/env bash
# Set up SCJD in ./.venv (idempotent). Usage: scripts/setup.sh [--dev]
#   --dev  also installs the test tools and the system packages the GUI tests need (Xvfb, GL).
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
"$python" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || {
  echo "setup: Python 3.11 or newer is needed (found $("$python" --version))" >&2; exit 1; }

# System libraries: OpenCV/MediaPipe need libGL; the GUI tests need an X server (Xvfb) and Qt's xcb libs.
pkgs="libgl1 libegl1 libglib2.0-0"
[ $dev = 1 ] && pkgs="$pkgs xvfb xauth libgl1-mesa-dri libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 \
libxkbcommon-x11-0 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 \
libxcb-xkb1 libdbus-1-3 libfontconfig1"
missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo=none; fi
  if [ "$sudo" = none ]; then
    echo "setup: please install these Debian packages first: $missing" >&2; exit 1
  fi
  echo "setup: installing system packages: $(echo $missing)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
python -c 'import torch' 2>/dev/null || python -m pip install -q "torch==2.13.0"
if [ $dev = 1 ]; then python -m pip install -q -e ".[dev]"; else python -m pip install -q -e .; fi
python -m pip check
