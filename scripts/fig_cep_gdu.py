#!/usr/bin/env python3
"""C-EP's GDU property against the learning rate: continual updates bend EP's per-step
updates away from BPTT's per-step gradients gradually, not abruptly.

The GDU check (``epfpga gdu``) at one small β, with the nudged phase run as C-EP at each
learning rate (the same rate for every parameter); rate 0 is plain EP.  float64, the first
``--samples`` digits, the config's initial weights.  Writes ``cep_gdu.png`` and
``cep_gdu.json`` to ``--out``.

    .venv/bin/python scripts/fig_cep_gdu.py --config configs/gdu-small.toml --out runs/cep-gdu
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from epfpga.config import load
from epfpga.data import load_digits
from epfpga.errors import UserError
from epfpga.golden.gdu import gdu_check
from epfpga.golden.network import init_params
from run_args import fail

ROOT = Path(__file__).resolve().parents[1]

RATES = [0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "gdu-small.toml"),
                        help="preset or TOML (default: configs/gdu-small.toml)")
    parser.add_argument("--beta", type=float, default=0.01)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        cfg = load(args.config).replace(dtype="float64")
    except UserError as exc:
        fail(str(exc))
    torch.set_num_threads(1)
    d = load_digits()
    x = torch.from_numpy(d.train_x[:args.samples].astype(np.float64))
    target = torch.nn.functional.one_hot(torch.from_numpy(d.train_y[:args.samples]), cfg.classes).double()
    p = init_params(cfg)
    rows = []
    for lr in RATES:
        summary = gdu_check(cfg, p, x, target, [args.beta], lr=lr)[0].summary()
        rows.append({"lr": lr, "params": summary})
    names = list(rows[0]["params"])
    print(f"{cfg.name}: β {args.beta:g}, T1 {cfg.t1}, T2 {cfg.t2}, {args.samples} digits; RMSE (sign error)")
    print("| learning rate | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for r in rows:
        print(f"| {r['lr']:g} | " + " | ".join(f"{r['params'][k]['rmse']:.3g} ({r['params'][k]['sign_error']:.2f})"
                                          for k in names) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cep_gdu.json").write_text(json.dumps({"config": cfg.to_dict(), "beta": args.beta,
                                                       "rates": rows}, indent=2) + "\n")
    plot(rows, names, args.beta, args.out / "cep_gdu.png")
    print(f"wrote {args.out}/cep_gdu.json, cep_gdu.png")
    return 0


def plot(rows: list[dict], names: list[str], beta: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    rates = [r["lr"] for r in rows[1:]]
    for k in names:
        line = ax.loglog(rates, [r["params"][k]["rmse"] for r in rows[1:]], marker="o", label=k)
        ax.axhline(rows[0]["params"][k]["rmse"], color=line[0].get_color(), ls=":", lw=1)
    ax.set_xlabel("C-EP learning rate (dotted: EP, rate 0)")
    ax.set_ylabel("RMSE, C-EP updates vs BPTT gradients")
    ax.set_title(f"C-EP: GDU against the learning rate (β = {beta:g})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
