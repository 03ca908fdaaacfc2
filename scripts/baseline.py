"""Build a board preset and compare it with its committed baseline, or make it the baseline.

    .venv/bin/python scripts/baseline.py --board ulx3s-85f|icebreaker [--write [--seed N] [--baud B]] [--out DIR]

Without ``--write`` the build is compared with ``boards/baselines/<board>.json`` (exit 1 on a
regression of more than 5 %: Fmax lower, or LUTs, FFs, DSPs or block RAMs more); with it, the
build becomes the baseline, built with the config, lanes, clock, seed and baud given (by default the
baseline's own, or the board's preset and defaults where it has none yet).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from epfpga import config as config_mod  # noqa: E402
from epfpga.boards import baseline  # noqa: E402
from epfpga.boards.build import BOARDS, build  # noqa: E402
from epfpga.errors import UserError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="ulx3s-85f", choices=sorted(BOARDS))
    parser.add_argument("--write", action="store_true", help="make this build the baseline")
    parser.add_argument("--config", help="with --write: the config (default: the baseline's)")
    parser.add_argument("--lanes", type=int, help="with --write: the lanes (default: the baseline's)")
    parser.add_argument("--clock", type=float, help="with --write: the clock in MHz (default: the baseline's)")
    parser.add_argument("--seed", type=int, help="with --write: nextpnr's placer seed (default: the baseline's)")
    parser.add_argument("--baud", type=int, help="with --write: the link's baud (default: the baseline's)")
    parser.add_argument("--out", help="the build folder (default: a temporary one)")
    args = parser.parse_args()
    old = baseline.load(args.board) if baseline.path(args.board).exists() else None
    if old is None and not args.write:
        print(f"baseline: no {baseline.path(args.board)}; make one with --write", file=sys.stderr)
        return 2
    name = args.config or (old["config"] if old else BOARDS[args.board].preset)
    try:
        cfg = config_mod.load(name)
        lanes = args.lanes or (old["lanes"] if old else cfg.lanes)
        clock = args.clock or (old["target_mhz"] if old else None)
        seed = args.seed if args.seed is not None else (old.get("seed") if old else None)
        baud = args.baud or (old["baud"] if old else None)
        cfg = cfg.replace(lanes=lanes)
        with tempfile.TemporaryDirectory() as tmp:
            report = build(cfg, args.board, Path(args.out or tmp), clock, baud, seed=seed)
    except UserError as exc:
        print(f"baseline: {exc}", file=sys.stderr)
        return 2
    print(f"{args.board} {name} P={lanes}: {report['fmax_mhz']:.1f} MHz, "
          + ", ".join(f"{k} {report[k]:,}" for k in baseline.RESOURCES) + f" ({report['seconds']:.0f} s)")
    if args.write:
        baseline.path(args.board).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {baseline.path(args.board)}")
        return 0
    problems = baseline.regressions(old, report)
    for line in problems:
        print(f"regression: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
