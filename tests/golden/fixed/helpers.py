"""Seeded random fixed-point configurations for the stage tests."""

from __future__ import annotations

import numpy as np

from epfpga.config import Config, FixedFormat
from epfpga.errors import ConfigError
from epfpga.golden.fixed.formats import FIXED_ACTIVATIONS, FixedSpec


def random_spec(rng: np.random.Generator, **overrides) -> FixedSpec:
    """A random valid spec: draws that the config validation rejects are drawn again."""
    while True:
        try:
            return _draw(rng, **overrides)
        except ConfigError:
            continue


def _draw(rng: np.random.Generator, **overrides) -> FixedSpec:
    fs = int(rng.integers(3, 13))
    wbits = int(rng.integers(6, 21))
    depth = int(rng.integers(1, 4))
    cfg = dict(
        sizes=tuple(int(v) for v in rng.integers(2, 10, depth + 1)),
        activation=str(rng.choice(FIXED_ACTIVATIONS)),
        estimator=str(rng.choice(["one-sided", "random-sign", "symmetric"])),
        nudge=str(rng.choice(["inside", "outside"])),
        batch=int(2 ** rng.integers(0, 4)), t1=int(rng.integers(1, 6)), t2=int(rng.integers(1, 4)),
        lanes=int(rng.integers(1, 9)), seed=int(rng.integers(0, 1 << 31)), momentum=0.0,
        fixed=FixedFormat(state_frac=fs, weight_bits=wbits, weight_frac=int(rng.integers(2, wbits)),
                          input_frac=int(rng.integers(1, fs + 1)), lr_frac=16,
                          rounding=str(rng.choice(["nearest", "stochastic"]))),
    )
    k_max = cfg["fixed"].weight_frac
    cfg["beta"] = 2.0 ** -int(rng.integers(0, min(k_max, 6) + 1))
    cfg["lrs"] = tuple(float(v) for v in rng.uniform(0.01, 0.2, len(cfg["sizes"]) - 1))
    cfg.update(overrides)
    return FixedSpec.from_config(Config(**cfg))
