"""Print the schedule model's cycles per mini-batch and per sample against the lower bounds.

    .venv/bin/python scripts/schedule_table.py [--configs digits,mnist] [--lanes 1,4,16,32,64]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from epfpga import config as config_mod  # noqa: E402
from epfpga.contract import programs  # noqa: E402
from epfpga.contract.params import CoreParams  # noqa: E402
from epfpga.hdl import schedule  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="digits,mnist")
    parser.add_argument("--lanes", default="1,4,16,32,64")
    args = parser.parse_args()
    print("| config | P | cycles / mini-batch | cycles / sample | lower bound | ratio | read bound |")
    print("|---|---|---|---|---|---|---|")
    for name in args.configs.split(","):
        for lanes in (int(v) for v in args.lanes.split(",")):
            cfg = config_mod.load(name).replace(lanes=lanes)
            p = CoreParams.from_config(cfg)
            run = schedule.program_cycles(p, programs.training(cfg.estimator, cfg.t1, cfg.t2))
            per = run.cycles / cfg.batch
            bound = schedule.lower_bound(p)
            print(f"| {name} {'-'.join(map(str, cfg.sizes))} | {lanes} | {run.cycles:,} | {per:,.0f} | "
                  f"{bound:,.0f} | {per / bound:.3f} | {schedule.read_bound(p):,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
