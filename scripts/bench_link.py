"""The host link, measured on the simulated board: bytes per training sample, the cycles the
core waits for the link with double buffering, and which bound holds on a board.

For each baud the simulated board's gateware is built for that baud (48 MHz clock) and trains
``--batches`` mini-batches, double-buffered, as ``train --backend board`` does, behind a USB
bridge of each ``--usb-latency-ms`` (16 and 1 by default: Linux's default latency timer and its
lowest; 0 is the ideal wire).  Printed:

* bytes sent and received per training sample (``train_batch`` only: inputs, labels,
  ``START``, ``WAIT`` and the predictions, with every frame's header, CRC and escapes);
* the core's cycles per mini-batch (``CYCLES``) and the cycles it stood idle between runs
  (``WAIT_CYCLES``: the link's share once the host has loaded the next mini-batch in time);
* link-bound samples/s, ``baud / 10`` bytes a second over sent + received bytes a sample (the
  protocol is request/reply, so the two directions do not overlap);
* compute-bound samples/s, the schedule model's cycles a sample at ``--fmax-mhz`` (the
  measured Fmax of this config on the ECP5, ``docs/results.md``);
* the simulated board's own samples/s at 48 MHz, from its cycle counters (``link.samples_per_s``
  of ``metrics.json``: training and waiting, the bridge's latency included), and the
  turn-arounds a mini-batch costs;
* with ``--inputs resident`` (the build gets the SDRAM), the set uploaded into the simulated
  board's SDRAM and ``--batches`` mini-batches trained as one resident epoch
  (``train --resident``): the share of the device's cycles the core waited for data, its
  samples/s at 48 MHz and at ``--fmax-mhz`` (the cycles are the clock's: the SDRAM's waits take
  a few more at a faster clock, which the share of waiting absorbs), and the time a
  60,000-sample epoch takes at ``--fmax-mhz``;
* with ``--cpu-seconds S``, beside them and in the same run, the CPU golden models (float and
  fixed point) training the same network on the same data, on one thread and on two
  (``scripts/board_vs_cpu.py``'s timing).

    .venv/bin/python scripts/bench_link.py --config digits --lanes 4 --fmax-mhz 74.2
    .venv/bin/python scripts/bench_link.py --config mnist --data mnist:../shared/data/mnist --lanes 16 --fmax-mhz 61.6
    .venv/bin/python scripts/bench_link.py --config mnist --data mnist:DIR --lanes 16 --fmax-mhz 70 \
        --inputs bytes,resident --bauds 3000000 --usb-latency-ms 16 --batches 128 --cpu-seconds 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from epfpga import backends
from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.contract.params import CoreParams
from epfpga.errors import UserError
from epfpga.hdl import schedule
from epfpga.train import batches as epoch_batches
from epfpga.verification.board_sim import SIM_CLOCK_HZ

EPOCH = 60_000   # MNIST's training set

sys.path.insert(0, str(Path(__file__).resolve().parent))
from board_vs_cpu import cpu_figures  # noqa: E402


def measure(cfg: config_mod.Config, data: data_mod.Dataset, baud: int, batches: int, fmax_mhz: float,
            usb_latency_ms: float, inputs: str) -> dict:
    B = cfg.batch
    start = time.perf_counter()
    trainer = backends.make("board", cfg, sim="verilator", baud=baud, usb_latency_ms=usb_latency_ms,
                            input_levels=data.levels if inputs == "bytes" else None)
    setup = time.perf_counter() - start
    try:
        start = time.perf_counter()
        for k in range(batches):
            x, y = data.train_x[k * B:(k + 1) * B], data.train_y[k * B:(k + 1) * B]
            upcoming = (data.train_x[(k + 1) * B:(k + 2) * B], data.train_y[(k + 1) * B:(k + 2) * B]) \
                if k + 1 < batches else None
            trainer.train_batch(x, y, upcoming)
        wall = time.perf_counter() - start
        report = trainer.link_report()
    finally:
        trainer.close()
    hw = CoreParams.from_config(cfg)
    per_sample = schedule.program_cycles(hw, trainer.training_program).cycles / B
    sent, received = report["train_bytes_sent_per_sample"], report["train_bytes_received_per_sample"]
    train = report["train_cycles"] / batches
    wait = report["wait_cycles"] / max(1, batches - 1)
    sim_rate = trainer.board.stats.get("cycles", 0) / max(1e-9, trainer.board.stats.get("seconds", 0))
    return {"config": cfg.name, "sizes": list(cfg.sizes), "lanes": cfg.lanes, "batch": B, "baud": baud,
            "usb_latency_ms": usb_latency_ms, "inputs": "bytes" if trainer.driver.transport.coder else "wide",
            "batches": batches, "bytes_sent_per_sample": round(sent, 1), "bytes_received_per_sample": round(received, 1),
            "turnarounds_per_batch": report["train_turnarounds_per_batch"],
            "core_cycles_per_batch": train, "wait_cycles_per_batch": round(wait),
            "link_bound_samples_per_s": round(baud / 10 / (sent + received)),
            "compute_bound_samples_per_s": round(fmax_mhz * 1e6 / per_sample), "fmax_mhz": fmax_mhz,
            "schedule_cycles_per_sample": per_sample,
            "simulated_board_samples_per_s_at_48MHz": round(B * SIM_CLOCK_HZ / (train + wait)),
            "link_samples_per_s": round(report["samples_per_s"]),
            "simulated_cycles_per_s": round(sim_rate), "wall_s": round(wall, 1), "setup_s": round(setup, 1)}


def measure_resident(cfg: config_mod.Config, data: data_mod.Dataset, baud: int, batches: int, fmax_mhz: float,
                     usb_latency_ms: float) -> dict:
    """One resident epoch of ``batches`` mini-batches on the simulated board."""
    n = batches * cfg.batch
    start = time.perf_counter()
    trainer = backends.make("board", cfg, sim="verilator", baud=baud, usb_latency_ms=usb_latency_ms,
                            input_levels=data.levels, resident=(data.train_x[:n], data.train_y[:n]))
    setup = time.perf_counter() - start
    try:
        counters = trainer.link.counters
        before = (counters.bytes_sent, counters.bytes_received)
        start = time.perf_counter()
        trainer.train_epoch(epoch_batches(n, cfg.batch, np.random.default_rng(cfg.seed)))
        wall = time.perf_counter() - start
        report = trainer.link_report()
        epoch_bytes = counters.bytes_sent - before[0] + counters.bytes_received - before[1]
    finally:
        trainer.close()
    cycles = report["train_cycles"] + report["wait_cycles"]
    at_fmax = n * fmax_mhz * 1e6 / cycles
    return {"config": cfg.name, "sizes": list(cfg.sizes), "lanes": cfg.lanes, "batch": cfg.batch, "baud": baud,
            "usb_latency_ms": usb_latency_ms, "inputs": "resident", "batches": batches,
            "upload_bytes": report["upload_bytes"], "epoch_link_bytes_per_sample": round(epoch_bytes / n, 1),
            "train_cycles": report["train_cycles"], "wait_cycles": report["wait_cycles"],
            "wait_fraction": round(report["wait_fraction"], 5),
            "link_samples_per_s": round(report["samples_per_s"]), "fmax_mhz": fmax_mhz,
            "samples_per_s_at_fmax": round(at_fmax), "epoch_60k_s_at_fmax": round(EPOCH / at_fmax, 2),
            "wall_s": round(wall, 1), "setup_s": round(setup, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="digits", help="preset or TOML file")
    parser.add_argument("--data", default="digits", help="'digits' or 'mnist:DIR'")
    parser.add_argument("--lanes", type=int, help="override the config's lanes")
    parser.add_argument("--fmax-mhz", type=float, required=True, help="the config's measured Fmax")
    parser.add_argument("--bauds", default="3000000,12000000", help="comma-separated")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--usb-latency-ms", default="16,1", help="comma-separated latency timers of the bridge")
    parser.add_argument("--inputs", default="bytes",
                        help="comma-separated: 'bytes', a byte a pixel through the input table (the default); "
                             "'wide', 2 bytes an input; 'resident', the set in the SDRAM")
    parser.add_argument("--cpu-seconds", type=float, default=0.0,
                        help="also time the CPU golden models this long each, on 1 and 2 threads (default: no)")
    args = parser.parse_args()
    try:
        cfg = config_mod.load(args.config)
        if args.lanes:
            cfg = cfg.replace(lanes=args.lanes)
        modes = args.inputs.split(",")
        if not set(modes) <= {"bytes", "wide", "resident"}:
            raise UserError(f"--inputs {args.inputs}: choose from bytes, wide, resident")
        if "resident" in modes:   # (every mode on the same gateware)
            cfg = config_mod.from_dict({"hardware": {"sdram": True}}, base=cfg)
        data = data_mod.load(args.data)
        rows = [measure_resident(cfg, data, int(b), args.batches, args.fmax_mhz, float(ms)) if mode == "resident"
                else measure(cfg, data, int(b), args.batches, args.fmax_mhz, float(ms), mode)
                for mode in modes for b in args.bauds.split(",") for ms in args.usb_latency_ms.split(",")]
    except (UserError, ValueError) as exc:
        print(f"bench_link: error: {exc}", file=sys.stderr)
        return 2
    cpu = [cpu_figures(cfg, data.train_x[:4096], data.train_y[:4096], data.name, args.cpu_seconds, threads,
                       log=lambda text: print(text, file=sys.stderr))
           for threads in (1, 2)] if args.cpu_seconds > 0 else []
    print(json.dumps({"board": rows, "cpu": cpu}, indent=2))
    for r in rows:
        if r["inputs"] == "resident":
            print(f"{r['config']} P={r['lanes']} at {r['baud'] / 1e6:g} Mbaud, {r['usb_latency_ms']:g} ms, resident: "
                  f"the core waited {100 * r['wait_fraction']:.2f} % of {r['train_cycles'] + r['wait_cycles']:,} "
                  f"cycles; {r['link_samples_per_s']:,}/s at 48 MHz, {r['samples_per_s_at_fmax']:,}/s at "
                  f"{r['fmax_mhz']} MHz: a 60,000-sample epoch in {r['epoch_60k_s_at_fmax']} s; "
                  f"{r['epoch_link_bytes_per_sample']} link bytes a sample during the epoch, "
                  f"{r['upload_bytes']:,} bytes of set uploaded once", file=sys.stderr)
            continue
        link, compute = r["link_bound_samples_per_s"], r["compute_bound_samples_per_s"]
        bound = "link" if link < compute else "compute"
        print(f"{r['config']} P={r['lanes']} at {r['baud'] / 1e6:g} Mbaud, {r['usb_latency_ms']:g} ms, "
              f"{r['inputs']} inputs: "
              f"{r['bytes_sent_per_sample'] + r['bytes_received_per_sample']:.0f} "
              f"bytes/sample, link-bound {link:,}/s, compute-bound {compute:,}/s at {r['fmax_mhz']} MHz: "
              f"{bound}-bound by {max(link, compute) / min(link, compute):.1f}x; the core waits "
              f"{r['wait_cycles_per_batch']:,} cycles a batch for {r['core_cycles_per_batch']:,.0f} of training; "
              f"{r['turnarounds_per_batch']:g} turn-arounds a batch; the board trains "
              f"{r['link_samples_per_s']:,}/s of its own time at 48 MHz",
              file=sys.stderr)
    for c in cpu:
        print(f"CPU, {c['torch_threads']} thread(s): float {c['float_samples_per_s']:,}/s, fixed "
              f"{c['fixed_samples_per_s']:,}/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
