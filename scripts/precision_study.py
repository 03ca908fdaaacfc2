#!/usr/bin/env python3
"""Precision study of the fixed-point trainer: test error against weight width, state width,
rounding mode and batch size, beside the float model, on one data set.

Every run starts from the config's float initialisation (rounded to its own weight format)
and sees the same data order.  Writes ``OUT/precision.json`` and ``OUT/precision.png`` and
prints a Markdown table.

    .venv/bin/python scripts/precision_study.py --config digits --out runs/precision-digits
    .venv/bin/python scripts/precision_study.py --config mnist --data mnist:DIR --epochs 1 \\
        --out runs/precision-mnist
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from epfpga import data as data_mod
from epfpga.config import Config
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.golden.network import init_params
from epfpga.golden.trainer import FloatTrainer
from epfpga.train import run

import run_args

WEIGHT_BITS = (8, 10, 12, 14, 16, 18, 20)
STATE_FRACS = (4, 6, 8, 10, 12)


def variants(base: Config) -> list[tuple[str, dict, Config]]:
    """(group, knobs, config) of every fixed-point run."""
    fixed = base.fixed
    out = []
    for rounding in ("stochastic", "nearest"):
        for wb in WEIGHT_BITS:
            f = dataclasses.replace(fixed, weight_bits=wb, weight_frac=wb - 4, rounding=rounding)
            out.append(("weight_bits", {"weight_bits": wb, "rounding": rounding}, base.replace(fixed=f)))
    for fs in STATE_FRACS:
        f = dataclasses.replace(fixed, state_frac=fs, input_frac=min(fixed.input_frac, fs))
        out.append(("state_frac", {"state_frac": fs, "rounding": fixed.rounding}, base.replace(fixed=f)))
    out.append(("batch", {"batch": 1, "rounding": fixed.rounding}, base.replace(batch=1)))
    out.append(("batch", {"batch": base.batch, "rounding": fixed.rounding}, base))
    return out


def study(base: Config, dataset: data_mod.Dataset, out: Path) -> dict:
    start = init_params(base.replace(dtype="float64"))
    rows = []
    print("== float", file=sys.stderr)
    reference = run(base, dataset, FloatTrainer(base, start), out / "float", progress=False)["test_error"]
    done: dict[Config, dict] = {}  # the preset's own formats recur in several groups: train once
    for i, (group, knobs, cfg) in enumerate(variants(base)):
        if cfg not in done:
            print(f"== {group} {knobs}", file=sys.stderr)
            done[cfg] = run(cfg, dataset, FixedTrainer(cfg, start), out / f"run{i:02d}", progress=False)
        metrics = done[cfg]
        rows.append({"group": group, **knobs, "fixed": dataclasses.asdict(cfg.fixed), "batch": cfg.batch,
                     "test_error": metrics["test_error"],
                     "samples_per_s": metrics["epochs"][-1]["samples_per_s"]})
    report = {"config": base.to_dict(), "data": dataset.name, "train_samples": len(dataset.train_y),
              "float_test_error": reference, "runs": rows}
    (out / "precision.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report, out / "precision.png")
    return report


def plot(report: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ref = 100 * report["float_test_error"]
    for rounding, style in (("stochastic", "o-"), ("nearest", "s--")):
        runs = [r for r in report["runs"] if r["group"] == "weight_bits" and r["rounding"] == rounding]
        ax1.plot([r["weight_bits"] for r in runs], [100 * r["test_error"] for r in runs], style, label=rounding)
    runs = [r for r in report["runs"] if r["group"] == "state_frac"]
    ax2.plot([r["state_frac"] for r in runs], [100 * r["test_error"] for r in runs], "o-", label="stochastic")
    for ax, xlabel in ((ax1, "weight_bits (weight_frac = bits − 4)"), (ax2, "state_frac")):
        ax.axhline(ref, color="k", lw=0.8, ls=":", label="float")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error (%)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    ax1.set_yscale("log")  # stalled nearest-rounding runs sit near 90 %
    fig.suptitle(f"{report['config']['name']} on {report['data']}, {report['config']['epochs']} epoch(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(report: dict) -> str:
    lines = [f"float: {100 * report['float_test_error']:.2f} %", "",
             "| group | weight bits / frac | state frac | rounding | batch | test error | samples/s |",
             "|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        f = r["fixed"]
        lines.append(f"| {r['group']} | {f['weight_bits']} / {f['weight_frac']} | {f['state_frac']} | "
                     f"{f['rounding']} | {r['batch']} | {100 * r['test_error']:.2f} % | {r['samples_per_s']:,.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run_args.main(__doc__.splitlines()[0], lambda cfg, data, out: table(study(cfg, data, out))))
