"""Seeded random configurations for the golden-model cross-checks."""

from __future__ import annotations

import numpy as np

from epfpga.config import ACTIVATIONS, ESTIMATORS, Config


def random_config(rng: np.random.Generator, **fixed) -> Config:
    loss = str(rng.choice(["mse", "ce"]))
    depth = int(rng.integers(1, 4))  # neuron layers
    sizes = [int(rng.integers(2, 13)) for _ in range(depth + 1)]
    sizes.append(int(rng.integers(2, 7)) if loss == "ce" else sizes.pop())
    cfg = dict(
        sizes=tuple(sizes), loss=loss,
        activation=str(rng.choice(ACTIVATIONS)), estimator=str(rng.choice(ESTIMATORS)),
        nudge=str(rng.choice(["inside", "outside"])),
        beta=float(rng.choice([0.01, 0.1, 0.5, 1.0])),
        t1=int(rng.integers(1, 12)), t2=int(rng.integers(1, 6)), batch=int(rng.integers(1, 6)),
        lrs=tuple(float(v) for v in rng.uniform(0.01, 0.2, len(sizes) - 1)),
        momentum=float(rng.choice([0.0, 0.9])), weight_decay=float(rng.choice([0.0, 1e-3])),
        seed=int(rng.integers(0, 1 << 31)), dtype="float64",
    )
    cfg.update(fixed)
    return Config(**cfg)


def random_batch(cfg: Config, rng: np.random.Generator, batch: int | None = None):
    n = batch or cfg.batch
    x = rng.uniform(0, 1, (n, cfg.sizes[0]))
    y = rng.integers(0, cfg.classes, n)
    return x, y
