#!/usr/bin/env python3
"""Training samples/s of the float golden model vs the authors' own P_MLP training step.

The reference is Laborieux-Axel/Equilibrium-Propagation's ``P_MLP`` with its EP update, run
as its ``train`` loop runs it (free phase, nudged phase(s), ``compute_syn_grads``, SGD step),
in float32, in the same process, on the same MNIST mini-batches and thread count.  Point
``--laborieux`` at a checkout of that repository (the folder holding ``model_utils.py``).

    .venv/bin/python scripts/bench_authors.py --laborieux DIR --data mnist:DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_explicit_vs_autograd import samples_per_s  # noqa: E402
from compare_authors import _reference  # noqa: E402
from run_args import fail  # noqa: E402

from epfpga.config import Config  # noqa: E402
from epfpga.data import load  # noqa: E402
from epfpga.errors import UserError  # noqa: E402
from epfpga.golden.trainer import FloatTrainer  # noqa: E402

CASES = {
    "784-128-10 symmetric": Config(name="s128", sizes=(784, 128, 10), activation="hard_sigmoid",
                                   estimator="symmetric", beta=0.5, t1=20, t2=8, batch=16, lrs=(0.1, 0.05)),
    "784-512-10 one-sided": Config(name="o512", sizes=(784, 512, 10), activation="my_sigmoid",
                                   estimator="one-sided", beta=0.1, t1=30, t2=10, batch=20, lrs=(0.08, 0.04)),
}


class AuthorsTrainer:
    """Their ``P_MLP`` and EP update, driven as their ``train`` loop drives them."""

    def __init__(self, mu, cfg: Config):
        self.mu, self.cfg = mu, cfg
        act = {"hard_sigmoid": mu.hard_sigmoid, "my_sigmoid": mu.my_sigmoid}[cfg.activation]
        self.model = mu.P_MLP(list(cfg.sizes), activation=act)
        self.opt = torch.optim.SGD([{"params": s.parameters(), "lr": lr}
                                    for s, lr in zip(self.model.synapses, cfg.lrs)], momentum=0.0)
        self.criterion = torch.nn.MSELoss(reduction="none")

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        mu, cfg, model, crit = self.mu, self.cfg, self.model, self.criterion
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        neurons = model(xt, yt, model.init_neurons(len(x), "cpu"), cfg.t1, beta=0.0, criterion=crit)
        free = mu.copy(neurons)
        plus = mu.copy(model(xt, yt, neurons, cfg.t2, beta=cfg.beta, criterion=crit))
        if cfg.estimator == "symmetric":
            minus = mu.copy(model(xt, yt, mu.copy(free), cfg.t2, beta=-cfg.beta, criterion=crit))
            model.compute_syn_grads(xt, yt, plus, minus, (cfg.beta, -cfg.beta), crit)
        else:
            model.compute_syn_grads(xt, yt, free, plus, (0.0, cfg.beta), crit)
        self.opt.step()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laborieux", type=Path, required=True, metavar="DIR")
    parser.add_argument("--data", required=True, help="'mnist:DIR'")
    parser.add_argument("--seconds", type=float, default=20.0, help="time per model and case (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--only", choices=("authors", "ours"), help="train only one model for --batches "
                        "mini-batches of --case and print nothing (for timing whole processes)")
    parser.add_argument("--case", choices=sorted(CASES), default=sorted(CASES)[0])
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args()
    if not (args.laborieux / "model_utils.py").is_file():
        fail(f"--laborieux {args.laborieux}: no model_utils.py there")
    if args.threads < 1:
        fail(f"--threads {args.threads}: must be >= 1")
    try:
        data = load(args.data)
    except UserError as exc:
        fail(str(exc))
    torch.set_num_threads(args.threads)
    mu = _reference(args.laborieux, "model_utils")
    x, y = data.train_x.astype(np.float32), data.train_y
    if args.only:
        cfg = CASES[args.case]
        trainer = AuthorsTrainer(mu, cfg) if args.only == "authors" else FloatTrainer(cfg, device="cpu")
        for i in range(args.batches):
            trainer.train_batch(x[i * cfg.batch:(i + 1) * cfg.batch], y[i * cfg.batch:(i + 1) * cfg.batch])
        return 0
    print(f"float32, {torch.get_num_threads()} threads, torch {torch.__version__}, data {data.name}, "
          f"{args.seconds:g} s per model")
    print("| case | authors' P_MLP samples/s | float golden samples/s | speed-up |")
    print("|---|---|---|---|")
    for name, cfg in CASES.items():
        ref, _ = samples_per_s(AuthorsTrainer(mu, cfg), x, y, cfg.batch, args.seconds)
        ours, _ = samples_per_s(FloatTrainer(cfg, device="cpu"), x, y, cfg.batch, args.seconds)
        print(f"| {name}, T1 {cfg.t1}, T2 {cfg.t2}, batch {cfg.batch} | {ref:,.0f} | {ours:,.0f} | "
              f"{ours / ref:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
