#!/usr/bin/env python3
"""Train the float and the fixed-point backends from the same initial weights and data order,
and plot both learning curves.

The initial weights are the config's float initialisation rounded to the fixed-point weight
format, so both backends start from exactly the same values, and the float model trains at the
learning rates the integer trainer applies (rounded to powers of two, ``docs/fixed-point.md`` §1).

    .venv/bin/python scripts/compare_float_fixed.py --config digits --out runs/cmp-digits
    .venv/bin/python scripts/compare_float_fixed.py --config mnist --data mnist:DIR --out runs/cmp-mnist
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.golden.fixed.formats import FixedSpec
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.golden.network import init_params
from epfpga.golden.trainer import FloatTrainer
from epfpga.train import run

import run_args


def compare(cfg: config_mod.Config, dataset: data_mod.Dataset, out: Path) -> dict:
    spec = FixedSpec.from_config(cfg)
    start = spec.representable(init_params(cfg.replace(dtype="float64")))
    results = {}
    float_trainer = FloatTrainer(cfg.replace(lrs=spec.learning_rates), start)   # the same rates
    for name, trainer in (("float", float_trainer), ("fixed", FixedTrainer(cfg, start))):
        print(f"== {name} backend", file=sys.stderr)
        results[name] = run(cfg, dataset, trainer, out / name)
    summary = {
        "config": cfg.name, "data": dataset.name, "epochs": cfg.epochs,
        "float_test_error": results["float"]["test_error"], "fixed_test_error": results["fixed"]["test_error"],
        "gap_points": 100 * (results["fixed"]["test_error"] - results["float"]["test_error"]),
        "float_samples_per_s": results["float"]["epochs"][-1]["samples_per_s"],
        "fixed_samples_per_s": results["fixed"]["epochs"][-1]["samples_per_s"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(results, out / "curves.png")
    return summary


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for i, (name, metrics) in enumerate(results.items()):
        epochs = [e["epoch"] for e in metrics["epochs"]]
        ax.plot(epochs, [100 * e["test_error"] for e in metrics["epochs"]], f"C{i}-", marker="o", label=f"{name} test")
        ax.plot(epochs, [100 * e["train_error"] for e in metrics["epochs"]], f"C{i}--", label=f"{name} train")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_title(f"{results['float']['config']['name']}: float vs fixed point")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(cfg: config_mod.Config, dataset: data_mod.Dataset, out: Path) -> str:
    s = compare(cfg, dataset, out)
    return (f"{s['config']} on {s['data']}, {s['epochs']} epochs: float {100 * s['float_test_error']:.2f} %, "
            f"fixed {100 * s['fixed_test_error']:.2f} % (gap {s['gap_points']:+.2f} points); "
            f"samples/s float {s['float_samples_per_s']:,.0f}, fixed {s['fixed_samples_per_s']:,.0f}")


if __name__ == "__main__":
    sys.exit(run_args.main(__doc__.splitlines()[0], report))
