#!/usr/bin/env python3
"""VF / C-VF: the angle between forward weights and feedback weights over training.

Reads the ``metrics.json`` of runs with ``feedback = "separate"`` (each epoch records the
angle between ``W_n`` and ``B_nᵀ`` per layer) and plots angle and test error per epoch.

    .venv/bin/python scripts/fig_vf_angle.py runs/vf/mnist/metrics.json --out docs/vf-angle.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from run_args import fail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", type=Path, nargs="+", help="metrics.json of VF runs")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args()
    runs = []
    for path in args.metrics:
        try:
            m = json.loads(path.read_text())
            epochs = m["epochs"]
            if not epochs or "angles" not in epochs[0]:
                fail(f"{path}: no angles recorded (not a run with feedback = \"separate\")")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            fail(f"{path}: not a metrics.json ({exc})")
        runs.append((m["config"]["name"], epochs))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_a, ax_e) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, epochs in runs:
        x = [e["epoch"] for e in epochs]
        for layer in epochs[0]["angles"]:
            ax_a.plot(x, [e["angles"][layer] for e in epochs], marker="o", label=f"{name} {layer}")
        ax_e.plot(x, [100 * e["test_error"] for e in epochs], marker="o", label=name)
        print(f"{name}: " + ", ".join(f"epoch {e['epoch']}: " + " ".join(f"{k} {v:.1f}°" for k, v in e["angles"].items())
                                      + f" ({100 * e['test_error']:.2f} %)" for e in epochs))
    ax_a.set_xlabel("epoch")
    ax_a.set_ylabel("angle between W_n and B_nᵀ (degrees)")
    ax_a.set_title("VF: forward / feedback alignment")
    ax_e.set_xlabel("epoch")
    ax_e.set_ylabel("test error (%)")
    ax_e.set_title("test error")
    for ax in (ax_a, ax_e):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
