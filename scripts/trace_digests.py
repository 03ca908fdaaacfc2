"""Rewrite the committed digests of small fixed-point traces (tests/golden/fixed/trace_digests.json)
after a deliberate change of the integer contract.

    .venv/bin/python scripts/trace_digests.py          # prints what changed and writes the file
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.golden.fixed.digests import CASES, PATH, case_name, digest  # noqa: E402


def main() -> int:
    old = json.loads(PATH.read_text()) if PATH.is_file() else {}
    new = {case_name(c): digest(c) for c in CASES}
    changed = [k for k in new if old.get(k) != new[k]]
    PATH.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n")
    print(f"{len(changed)} of {len(new)} digests changed; wrote {PATH}")
    for k in changed:
        print(f"  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
