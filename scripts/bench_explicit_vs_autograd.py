#!/usr/bin/env python3
"""Training samples/s of the explicit-dynamics float model vs the autograd-of-Φ reference.

Both train the same config from the same initial weights on the same mini-batches, in one
process on this machine.  The autograd-of-Φ model is the naive implementation kept in
``tests/golden/naive_phi.py`` (how the 2021 reference code computes dynamics and updates).

    .venv/bin/python scripts/bench_explicit_vs_autograd.py                       # digits data
    .venv/bin/python scripts/bench_explicit_vs_autograd.py --data mnist:DIR      # MNIST
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from epfpga import config as config_mod  # noqa: E402
from epfpga import data as data_mod  # noqa: E402
from epfpga.errors import UserError  # noqa: E402
from epfpga.golden.network import init_params  # noqa: E402
from epfpga.golden.trainer import FloatTrainer  # noqa: E402
from tests.golden.naive_phi import NaiveTrainer  # noqa: E402


def samples_per_s(trainer, x: np.ndarray, y: np.ndarray, batch: int, seconds: float) -> tuple[float, int]:
    """Train on consecutive mini-batches for about ``seconds`` (after one warm-up batch)."""
    trainer.train_batch(x[:batch], y[:batch])
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        i = (done * batch) % (len(y) - batch)
        trainer.train_batch(x[i:i + batch], y[i:i + batch])
        done += 1
    return done * batch / (time.perf_counter() - start), done * batch


def training_data(cfg, spec: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The benchmark's training set: ``spec`` ('digits', 'mnist:DIR'), by default the shared
    MNIST folder where it exists and the config has 784 inputs, else 4,096 random inputs of the
    config's width; and its name."""
    shared = ROOT.parent / "shared" / "data" / "mnist"
    if spec is None and cfg.sizes[0] == 784 and shared.is_dir():
        spec = f"mnist:{shared}"
    if spec is None:
        rng = np.random.default_rng(0)
        return (rng.uniform(0, 1, (4096, cfg.sizes[0])).astype(np.float32), rng.integers(0, cfg.classes, 4096),
                "random inputs")
    ds = data_mod.load(spec)
    ds.check_fits(cfg)
    return ds.train_x, ds.train_y, ds.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="mnist", help="preset or TOML (default: mnist, 784-128-10)")
    parser.add_argument("--data", default=None, help="'digits' or 'mnist:DIR' (default: the shared MNIST "
                        "folder if present, else random inputs of the config's width)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per model (default 10)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads, fixed so that the figures are reproducible (default 1)")
    args = parser.parse_args()
    if args.threads < 1:
        print(f"bench_explicit_vs_autograd: error: --threads {args.threads}: must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        cfg = config_mod.load(args.config)
        x, y, source = training_data(cfg, args.data)
    except UserError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    print(f"config {cfg.name}: sizes {list(cfg.sizes)}, {cfg.estimator}, batch {cfg.batch}, "
          f"T1 {cfg.t1}, T2 {cfg.t2}, {cfg.dtype}; data {source}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    params = init_params(cfg)
    explicit, n_explicit = samples_per_s(FloatTrainer(cfg, params), x, y, cfg.batch, args.seconds)
    naive, n_naive = samples_per_s(NaiveTrainer(cfg, params), x, y, cfg.batch, args.seconds)
    print(f"{'model':<24}{'samples':>10}{'samples/s':>12}")
    print(f"{'explicit dynamics':<24}{n_explicit:>10}{explicit:>12,.0f}")
    print(f"{'autograd of Phi':<24}{n_naive:>10}{naive:>12,.0f}")
    print(f"speed-up: {explicit / naive:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
