"""Shared by the gateware tests: seeded random configurations the gateware runs, and traces of
the fixed-point model and of the core on the same batches."""

from __future__ import annotations

import numpy as np

from epfpga.config import ESTIMATORS, Config
from epfpga.golden.fixed.formats import FIXED_ACTIVATIONS
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.golden.network import Params
from epfpga.verification.trainer import RtlTrainer
from epfpga.trace import Trace, TraceWriter



def random_gateware_config(rng: np.random.Generator, **fixed) -> Config:
    """Depth 2–4 (weight layers), sizes that are mostly not multiples of the lanes, every
    activation, estimator, rounding and nudge, batch 1–16, lanes 1–16, β = 2**-k; learning
    rates large enough that every update moves weights."""
    lanes = int(rng.choice([1, 2, 4, 8, 16]))
    depth = int(rng.integers(2, 5))
    sizes = [int(rng.integers(2, 24)) for _ in range(depth + 1)]
    cfg = dict(
        sizes=tuple(sizes), lanes=lanes,
        activation=str(rng.choice(FIXED_ACTIVATIONS)), estimator=str(rng.choice(ESTIMATORS)),
        nudge=str(rng.choice(["inside", "outside"])), beta=float(rng.choice([1.0, 0.5, 0.25, 0.125])),
        t1=int(rng.integers(2, 7)), t2=int(rng.integers(1, 5)), batch=int(rng.choice([1, 2, 4, 8, 16])),
        lrs=tuple(float(v) for v in rng.uniform(0.2, 1.0, depth)), seed=int(rng.integers(0, 1 << 31)),
    )
    cfg["fixed"] = {"rounding": str(rng.choice(["nearest", "stochastic"]))}
    cfg.update(fixed)
    from epfpga.config import from_dict
    return from_dict(cfg)


def random_data(cfg: Config, rng: np.random.Generator, batches: int) -> tuple[np.ndarray, np.ndarray]:
    n = batches * cfg.batch
    x = rng.uniform(0, 1, (n, cfg.sizes[0])).astype(np.float32)
    x[rng.uniform(size=x.shape) < 0.2] = 1.0   # the input's rail, as in real images
    return x, rng.integers(0, cfg.classes, n)


def traces(cfg: Config, x: np.ndarray, y: np.ndarray, rtl: RtlTrainer | None = None,
           params: Params | None = None) -> tuple[Trace, Trace]:
    """Traces of the fixed-point model and of the core, both from the same initial weights
    (``params``, by default the config's)."""
    out = []
    for trainer in (FixedTrainer(cfg, params), rtl or RtlTrainer(cfg, params)):
        writer = TraceWriter(cfg, trainer.backend, trainer.params)
        trainer.on_batch = writer
        for i in range(0, len(y), cfg.batch):
            trainer.train_batch(x[i:i + cfg.batch], y[i:i + cfg.batch])
        arrays = writer.arrays()
        meta = {"config": arrays.pop("meta")}
        out.append(Trace(trainer.backend, _meta(meta["config"]), arrays))
    return out[0], out[1]


def _meta(raw: np.ndarray) -> dict:
    import json
    return json.loads(raw.tobytes().decode())
