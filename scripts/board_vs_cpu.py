#!/usr/bin/env python3
"""Build a config for a board and, in the same run, time the CPU golden models on the same
network: the board's projected samples/s beside the float and fixed-point models' measured ones.

    .venv/bin/python scripts/board_vs_cpu.py --config mnist --lanes 64 --clock 100 --out runs/ulx3s-mnist64

Writes the build's ``report.json`` with a ``cpu`` entry: each golden model's training
samples/s on this machine (consecutive mini-batches of the data, after one warm-up batch,
``--seconds`` each, once for each count of ``--threads`` torch threads), the data, and the
board's compute-bound figure over each.  ``--skip-build DIR`` times the models into an existing build's report
instead (the report then says so).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_explicit_vs_autograd import samples_per_s, training_data  # noqa: E402

from epfpga import config as config_mod  # noqa: E402
from epfpga.boards.build import BOARDS, build  # noqa: E402
from epfpga.errors import UserError  # noqa: E402
from epfpga.golden.fixed.trainer import FixedTrainer  # noqa: E402
from epfpga.golden.network import init_params  # noqa: E402
from epfpga.golden.trainer import FloatTrainer  # noqa: E402


def cpu_figures(cfg, x, y, source: str, seconds: float, threads: int, log=print) -> dict:
    torch.set_num_threads(threads)
    params = init_params(cfg)
    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "torch_threads": threads, "data": source, "seconds_each": seconds}
    for name, trainer in (("float", FloatTrainer(cfg, params)), ("fixed", FixedTrainer(cfg, params))):
        log(f"timing the {name} golden model for {seconds:.0f} s")
        rate, samples = samples_per_s(trainer, x, y, cfg.batch, seconds)
        out[f"{name}_samples_per_s"] = round(rate)
        out[f"{name}_samples"] = samples
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="ulx3s-85f", choices=sorted(BOARDS))
    parser.add_argument("--config", default="mnist")
    parser.add_argument("--lanes", type=int, help="override the config's lanes")
    parser.add_argument("--clock", type=float, help="core clock in MHz (default: the board's)")
    parser.add_argument("--out", help="the build folder")
    parser.add_argument("--skip-build", metavar="DIR", help="time the models into DIR/report.json, no build")
    parser.add_argument("--data", help="'digits' or 'mnist:DIR' (default: the shared MNIST folder for 784 "
                        "inputs, else random inputs)")
    parser.add_argument("--seconds", type=float, default=20.0, help="time per model (default 20)")
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1],
                        help="torch threads, one timing of both models for each (default: every core, as "
                             "`epfpga train` uses them; e.g. --threads 1 2)")
    args = parser.parse_args()
    if (args.out is None) == (args.skip_build is None):
        print("board_vs_cpu: error: give --out DIR (build) or --skip-build DIR (an existing build)", file=sys.stderr)
        return 2
    if args.seconds <= 0 or min(args.threads) < 1:
        print("board_vs_cpu: error: --seconds must be > 0 and --threads >= 1", file=sys.stderr)
        return 2
    try:
        cfg = config_mod.load(args.config)
        if args.lanes:
            cfg = cfg.replace(lanes=args.lanes)
        x, y, source = training_data(cfg, args.data)
        if args.skip_build:
            folder = Path(args.skip_build)
            path = folder / "report.json"
            if not path.is_file():
                raise UserError(f"{path}: no report (build first, or give --out)")
            report = json.loads(path.read_text())
            if report.get("config") != cfg.name or report.get("lanes") != cfg.lanes:
                raise UserError(f"{path}: a build of {report.get('config')} at P = {report.get('lanes')}, "
                                f"not {cfg.name} at P = {cfg.lanes}")
        else:
            folder = Path(args.out)
            report = build(cfg, args.board, folder, args.clock)
    except UserError as exc:
        print(f"board_vs_cpu: error: {exc}", file=sys.stderr)
        return 2
    board = report["compute_bound_samples_per_s"]
    shared = ("machine", "data", "seconds_each")
    runs = []
    for threads in args.threads:
        figures = cpu_figures(cfg, x, y, source, args.seconds, threads)
        runs.append({**{k: v for k, v in figures.items() if k not in shared},
                     "board_over_float": round(board / figures["float_samples_per_s"], 2),
                     "board_over_fixed": round(board / figures["fixed_samples_per_s"], 2)})
    cpu = {**{k: figures[k] for k in shared}, "same_run_as_build": args.skip_build is None, "runs": runs}
    report["cpu"] = cpu
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{report['board']} {cfg.name} P={cfg.lanes}: {report['fmax_mhz']:.1f} MHz, "
          f"{report['cycles_per_sample']:,.1f} cycles/sample, {board:,} samples/s compute-bound "
          f"({report['link_bound_samples_per_s']:,} link-bound)")
    for run in runs:
        print(f"CPU ({cpu['machine']}, {run['torch_threads']} threads, {source}): float "
              f"{run['float_samples_per_s']:,} samples/s, fixed {run['fixed_samples_per_s']:,} samples/s; the board "
              f"is {run['board_over_float']}x float, {run['board_over_fixed']}x fixed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
