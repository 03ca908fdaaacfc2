"""Fuzz the device's link: random, truncated, bit-flipped, oversized and interleaved frames
against the simulated board (the system top in Verilator behind a pty), every answer held to
the protocol engine's model; an INFO every 100 frames; afterwards every weight, bias and PRNG
state must read back unchanged, and a checked training run must match the fixed-point model.
With the SDRAM (a config with [hardware] sdram = true), its guarded words too, and the chip
model must have found no timing violation.

    .venv/bin/python scripts/fuzz_link.py --config digits --frames 10000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.contract.params import CoreParams
from epfpga.errors import UserError
from epfpga.firmware.board import CheckedBoardTrainer
from epfpga.verification.board_sim import SIM_BAUD, SimulatedBoard
from epfpga.verification.link_fuzz import FuzzFailure, fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="digits", help="preset or TOML file")
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batches", type=int, default=4, help="checked training mini-batches afterwards")
    args = parser.parse_args()
    try:
        cfg = config_mod.load(args.config)
        params = CoreParams.from_config(cfg)
        board = SimulatedBoard(params)
    except UserError as exc:
        print(f"fuzz_link: error: {exc}", file=sys.stderr)
        return 2
    try:
        report = fuzz(params, board.port, SIM_BAUD, args.frames, args.seed)
        data = data_mod.load("digits")
        trainer = CheckedBoardTrainer(cfg, port=board.port, baud=SIM_BAUD, input_levels=data.levels)
        B = cfg.batch
        for k in range(args.batches):
            trainer.train_batch(data.train_x[k * B:(k + 1) * B], data.train_y[k * B:(k + 1) * B])
        trainer.link.close()
    except FuzzFailure as exc:
        print(f"fuzz_link: FAILED (seed {args.seed}): {exc}", file=sys.stderr)
        return 1
    finally:
        stats = board.close()
    print(json.dumps({"config": cfg.name, "seed": args.seed, "frames": report.frames, "kinds": dict(report.kinds),
                      "answers": dict(report.statuses), "info_checks": report.syncs,
                      "seconds": round(report.seconds, 1), "training_mismatches": trainer.mismatches,
                      "simulated_cycles": stats.get("cycles"), "bytes_to_device": stats.get("bytes_to_device"),
                      "bytes_from_device": stats.get("bytes_from_device"),
                      **({"sdram_error": stats["sdram_error"]} if "sdram_error" in stats else {})}, indent=2))
    return 0 if trainer.mismatches == 0 and not stats.get("sdram_error") else 1


if __name__ == "__main__":
    sys.exit(main())
