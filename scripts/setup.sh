#!/usr/bin/env bash
# Set up everything epfpga needs on a fresh Debian 12 machine (as root), then train the
# `digits` preset on the float backend and print the result.  Idempotent: re-running it
# only installs what is missing.
#
#   bash scripts/setup.sh              # install, then train `digits`
#   bash scripts/setup.sh --no-train   # install only (what CI does)
set -euo pipefail
cd "$(dirname "$0")/.."

train=1
for arg in "$@"; do
  case "$arg" in
    --no-train) train=0 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --no-train)" >&2; exit 2 ;;
  esac
done

if ! command -v iverilog >/dev/null 2>&1; then
  echo "== installing Icarus Verilog (apt)"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq iverilog >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing pinned wheels into .venv"
.venv/bin/python -m pip install -q --upgrade pip
# torch first and alone, pinned exactly, so nothing can pull a CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
echo "== ready: $(.venv/bin/epfpga --version)"

if [ "$train" = 1 ]; then
  echo "== training the 'digits' preset (float backend)"
  .venv/bin/epfpga train --config digits --backend float --out runs/digits
fi
