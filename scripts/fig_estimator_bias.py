#!/usr/bin/env python3
"""Estimator bias against truncated BPTT as a function of β (the 2021 paper's argument).

One digits mini-batch of 16, float64, at the default initialisation: a 64-32-24-10 MLP and
the small conv net of ``configs/gdu-conv.toml``, both with the plain sigmoid and the
softmax-readout cross-entropy; and a table at β = 0.5 over activations and losses for the
MLP.  Writes ``bias.png`` and ``bias.json`` to ``--out`` and prints the tables.

    .venv/bin/python scripts/fig_estimator_bias.py --out runs/bias
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from epfpga.config import ACTIVATIONS, Config, load
from epfpga.data import load_digits
from epfpga.golden.bias import estimator_bias
from epfpga.golden.network import init_params

ROOT = Path(__file__).resolve().parents[1]

BETAS = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01]
MLP = Config(sizes=(64, 32, 24, 10), activation="sigmoid", loss="ce", t1=150, t2=40, lrs=(0.1,) * 3,
             dtype="float64", seed=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    d = load_digits()
    x = torch.from_numpy(d.train_x[:16].astype(np.float64))
    target = torch.nn.functional.one_hot(torch.from_numpy(d.train_y[:16]), 10).double()
    nets = {"MLP 64-32-24-10": MLP,
            "conv 8-16 (gdu-conv)": load(str(ROOT / "configs" / "gdu-conv.toml")).replace(
                activation="sigmoid", loss="ce", dtype="float64", t2=40)}
    report: dict = {"sweep": {}, "beta_half": []}
    for name, cfg in nets.items():
        points = estimator_bias(cfg, init_params(cfg), x, target, BETAS)
        report["sweep"][name] = [asdict(p) | {"random_sign": p.random_sign} for p in points]
        print(f"\n{name}, sigmoid, CE: relative error vs BPTT")
        print("| β | one-sided | random-sign | symmetric | one-sided / symmetric | median per-weight ratio |")
        print("|---|---|---|---|---|---|")
        for p in points:
            print(f"| {p.beta:g} | {p.one_sided:.3g} | {p.random_sign:.3g} | {p.symmetric:.3g} | "
                  f"{p.one_sided / p.symmetric:.1f} | {p.ratio:.3f} |")
    print("\nMLP 64-32-24-10 at β = 0.5, every activation and loss")
    print("| activation | loss | one-sided | symmetric | one-sided / symmetric |")
    print("|---|---|---|---|---|")
    for act in ACTIVATIONS:
        for loss in ("mse", "ce"):
            cfg = MLP.replace(activation=act, loss=loss)
            p = estimator_bias(cfg, init_params(cfg), x, target, [0.5])[0]
            report["beta_half"].append({"activation": act, "loss": loss, **asdict(p)})
            print(f"| {act} | {loss} | {p.one_sided:.3g} | {p.symmetric:.3g} | {p.one_sided / p.symmetric:.1f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bias.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report["sweep"], args.out / "bias.png")
    print(f"\nwrote {args.out}/bias.json, bias.png")
    return 0


def plot(sweep: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweep), figsize=(5 * len(sweep), 3.8))
    for ax, (name, points) in zip(axes, sweep.items()):
        betas = [p["beta"] for p in points]
        for key, label in (("one_sided", "one-sided"), ("random_sign", "random-sign (mean of ±β)"),
                           ("symmetric", "symmetric")):
            ax.loglog(betas, [p[key] for p in points], marker="o", label=label)
        ax.set_xlabel("β")
        ax.set_ylabel("‖ΔΘ − (−∇L_BPTT)‖ / ‖∇L_BPTT‖")
        ax.set_title(f"{name}: estimator bias")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
