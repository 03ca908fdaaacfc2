#!/usr/bin/env bash
# Run the test suite (slow tests excluded; add `-m slow` to run only those).
# Needs `bash scripts/setup.sh` first.  pytest exits non-zero when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "test.sh: no .venv here: run 'bash scripts/setup.sh' first" >&2
  exit 2
fi
exec .venv/bin/python -m pytest -n 2 --dist worksteal --durations=8 "$@"
