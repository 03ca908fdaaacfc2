"""Digests of small fixed-point traces, one per estimator × rounding × nudge × activation.

The committed ``trace_digests.json`` pins the contract: a change of draw order, lane seeds,
rounding or update order changes a digest.  ``scripts/trace_digests.py`` rewrites the file
after a deliberate change of the contract (change ``docs/fixed-point.md`` with it)."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np

from epfpga.config import from_dict
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.trace import TraceWriter

PATH = Path(__file__).with_name("trace_digests.json")
CASES = list(itertools.product(("one-sided", "random-sign", "symmetric"), ("nearest", "stochastic"),
                               ("inside", "outside"), ("hard_sigmoid", "my_hard_sig", "my_sigmoid")))


def case_name(case: tuple[str, ...]) -> str:
    return "/".join(case)


def digest(case: tuple[str, ...]) -> str:
    """sha256 of the arrays (not the metadata) of a 3-mini-batch trace of ``case``."""
    estimator, rounding, nudge, activation = case
    cfg = from_dict(dict(sizes=[10, 7, 5, 4], lanes=4, batch=4, t1=4, t2=3, beta=0.5, lrs=[0.5, 0.4, 0.3],
                         estimator=estimator, nudge=nudge, activation=activation, seed=2026,
                         fixed={"rounding": rounding}))
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (12, 10))
    y = rng.integers(0, 4, 12)
    trainer = FixedTrainer(cfg)
    writer = TraceWriter(cfg, "fixed", trainer.params)
    trainer.on_batch = writer
    for i in range(0, 12, 4):
        trainer.train_batch(x[i:i + 4], y[i:i + 4])
    h = hashlib.sha256()
    for name, array in sorted(writer.arrays().items()):
        if name != "meta":
            h.update(f"{name}{array.dtype}{array.shape}".encode())
            h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()
