"""Random mini-batches for tests that train a config on made-up data."""

from __future__ import annotations

import numpy as np

from epfpga.config import Config


def random_batches(cfg: Config, batches: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.uniform(0, 1, (cfg.batch, cfg.sizes[0])).astype(np.float32), rng.integers(0, cfg.classes, cfg.batch))
            for _ in range(batches)]
