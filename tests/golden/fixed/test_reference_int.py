"""The golden fixed-point model against an independent integer implementation of the document
(``reference_int.py``): every state of every step, every prediction, sign and update."""

import numpy as np
import pytest

from epfpga.config import ESTIMATORS, from_dict
from epfpga.golden.fixed.trainer import FixedTrainer

from .reference_int import Reference


def random_case(rng):
    depth = int(rng.integers(1, 4))
    return from_dict(dict(
        sizes=[int(rng.integers(2, 9)) for _ in range(depth + 1)] + [int(rng.integers(2, 6))],
        activation=str(rng.choice(["hard_sigmoid", "my_hard_sig", "my_sigmoid"])),
        estimator=str(rng.choice(ESTIMATORS)), nudge=str(rng.choice(["inside", "outside"])),
        beta=float(rng.choice([1.0, 0.5, 0.25])), t1=int(rng.integers(1, 5)), t2=int(rng.integers(1, 4)),
        batch=int(rng.choice([1, 2, 4])), lanes=int(rng.choice([1, 2, 3, 4, 8])),
        lrs=[float(v) for v in rng.uniform(0.0, 1.0, depth + 1)], seed=int(rng.integers(0, 1 << 32)),
        fixed={"rounding": str(rng.choice(["nearest", "stochastic"])),
               "state_frac": int(rng.choice([4, 6, 8])), "input_frac": 4, "weight_frac": int(rng.choice([8, 12]))},
    ))


@pytest.mark.parametrize("seed", range(24))
def test_golden_model_equals_the_document(seed):
    rng = np.random.default_rng(300 + seed)
    cfg = random_case(rng)
    if seed == 0:
        cfg = cfg.replace(lrs=tuple(0.0 for _ in cfg.lrs))   # frozen layers still draw (§1)
    golden = FixedTrainer(cfg)
    records = []
    golden.on_batch = records.append
    ref = Reference(cfg.to_dict(), {k: v.tolist() for k, v in golden.params.items()})
    for _ in range(3):
        x = rng.uniform(0, 1, (cfg.batch, cfg.sizes[0]))
        y = rng.integers(0, cfg.classes, cfg.batch)
        golden.train_batch(x, y)
        got = ref.train_batch(golden.spec.quantise_input(x).tolist(), y.tolist())
        rec = records[-1]
        assert got["sign"] == rec.sign
        assert got["pred"] == rec.pred.tolist()
        for phase in ("free", "plus", "minus"):
            steps = getattr(rec, phase)
            if steps is None:
                assert got[phase] == []
                continue
            for t, state in enumerate(steps):
                for n, layer in enumerate(state):
                    assert [got[phase][s][t][n] for s in range(cfg.batch)] == layer.tolist(), (phase, t, n)
        for name, value in golden.params.items():
            assert ref.W[name] == value.tolist(), name
