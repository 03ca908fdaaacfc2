"""Simulation speed of the core, one run side by side: Verilator, Icarus and Amaranth's simulator.

For each simulator the RTL trainer runs ``--batches`` mini-batches of the config's data in
**transaction-level mode** (Python loads a mini-batch, sets START and sleeps until ``done``:
the clock runs inside the simulator) and, for the cocotb simulators, in **checking mode**
(the fixed-point model runs each mini-batch first and the monitors check every beat of both
pipelines as it happens).  Simulated cycles come from the core's cycle counter; rates are
cycles over the wall time of ``train_batch`` (mini-batch load, run, read-back included; the
one-time model build and start-up are reported apart).  ``--epoch`` also times one full
training epoch in Verilator, transaction-level.

    .venv/bin/python scripts/bench_sim.py --config digits --batches 4 --epoch
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.errors import UserError
from epfpga.verification.trainer import CheckedRtlTrainer, RtlTrainer


def measure(trainer: RtlTrainer, x, y, batches: int) -> dict:
    B = trainer.config.batch
    start = time.perf_counter()
    for k in range(batches):
        trainer.train_batch(x[k * B:(k + 1) * B], y[k * B:(k + 1) * B])
    seconds = time.perf_counter() - start
    cycles = sum(c["cycles"] for c in trainer.cycles)
    return {"samples": batches * B, "cycles": cycles, "seconds": round(seconds, 2),
            "cycles_per_s": round(cycles / seconds)}


def run(cls, cfg, sim: str, x, y, batches: int) -> dict:
    start = time.perf_counter()
    trainer = cls(cfg, sim=sim)
    setup = time.perf_counter() - start
    try:
        figures = measure(trainer, x, y, batches)
    finally:
        trainer.close()
    return {"sim": sim, "mode": "checking" if cls is CheckedRtlTrainer else "transaction",
            "setup_s": round(setup, 1), **figures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="digits")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--batches", type=int, default=4, help="mini-batches per cocotb measurement")
    parser.add_argument("--amaranth-batches", type=int, default=1, help="mini-batches in Amaranth's simulator")
    parser.add_argument("--epoch", action="store_true", help="also time one training epoch in Verilator")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    try:
        cfg = config_mod.load(args.config)
        dataset = data_mod.load(args.data)
        dataset.check_fits(cfg)
    except UserError as exc:
        print(f"bench_sim: error: {exc}", file=sys.stderr)
        return 2
    x, y = dataset.train_x, dataset.train_y
    rows = [run(RtlTrainer, cfg, "verilator", x, y, args.batches),
            run(RtlTrainer, cfg, "icarus", x, y, args.batches),
            run(RtlTrainer, cfg, "amaranth", x, y, args.amaranth_batches),
            run(CheckedRtlTrainer, cfg, "verilator", x, y, args.batches),
            run(CheckedRtlTrainer, cfg, "icarus", x, y, args.batches)]
    print(f"{cfg.name}: sizes {list(cfg.sizes)}, lanes {cfg.lanes}, batch {cfg.batch}")
    print("| simulator | mode | samples | cycles | wall s | cycles/s | start-up s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sim']} | {r['mode']} | {r['samples']} | {r['cycles']:,} | {r['seconds']} | "
              f"{r['cycles_per_s']:,} | {r['setup_s']} |")
    report = {"config": cfg.name, "rows": rows}
    if args.epoch:
        trainer = RtlTrainer(cfg, sim="verilator")
        try:
            n = len(y) - len(y) % cfg.batch
            epoch = measure(trainer, x, y, n // cfg.batch)
        finally:
            trainer.close()
        report["epoch"] = epoch
        print(f"one training epoch in Verilator ({epoch['samples']} samples, {epoch['cycles']:,} cycles): "
              f"{epoch['seconds']} s wall, {epoch['cycles_per_s']:,} cycles/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
