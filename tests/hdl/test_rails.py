"""The core at every rail of the contract, bit for bit against the fixed-point model.

Random configs almost never reach a saturation bound, so a gateware with a wrong bound would
pass them.  Here weights start at both rails and large learning rates drive others there,
inputs sit at both of theirs, and pre-activations far beyond both ends of ρ_q clamp every
layer's states at 0 and at one (and, with the nudge outside ρ, the output's clamp after the
nudge).  Each test first checks that the model's run really reaches every rail it covers, so
that it can fail: ``scripts/rail_mutations.py`` moves each saturation bound of the gateware by
one and shows that this file then fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from epfpga import config as config_mod
from epfpga.golden.fixed.formats import FixedSpec
from epfpga.golden.network import init_params
from epfpga.trace import Trace, compare

from .helpers import traces

CASES = [("hard_sigmoid", "outside", "nearest"), ("my_hard_sig", "outside", "stochastic"),
         ("my_sigmoid", "inside", "stochastic"), ("my_sigmoid", "outside", "nearest")]


def rail_config(activation: str, nudge: str, rounding: str) -> config_mod.Config:
    return config_mod.from_dict(dict(sizes=[12, 9, 5], lanes=4, batch=4, t1=4, t2=2, beta=1.0, lrs=[4.0, 4.0],
                                     activation=activation, nudge=nudge, estimator="symmetric", seed=7,
                                     fixed={"rounding": rounding}))


def rail_weights(cfg: config_mod.Config, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """The config's initial weights, a fifth of every weight and bias beyond each rail (the
    quantiser saturates them to ``w_min`` or ``w_max``) and a fifth just inside each, where
    updates drive them to it."""
    spec = FixedSpec.from_config(cfg)
    near = (spec.w_max - 64) / (1 << spec.fw)
    params = init_params(cfg.replace(dtype="float64"))
    for name, w in params.items():
        kinds = np.resize([-1e3, -near, 0.0, near, 1e3], w.numel())   # each kind in every layer
        pick = torch.from_numpy(rng.permutation(kinds).reshape(w.shape))
        params[name] = torch.where(pick != 0, pick, w)
    return params


def rail_inputs(cfg: config_mod.Config, rng: np.random.Generator, batches: int) -> tuple[np.ndarray, np.ndarray]:
    n = batches * cfg.batch
    x = rng.choice([0.0, 1.0], size=(n, cfg.sizes[0])).astype(np.float32)
    return x, rng.integers(0, cfg.classes, n)


def assert_reaches_every_rail(trace: Trace, cfg: config_mod.Config) -> None:
    spec = FixedSpec.from_config(cfg)
    a = trace.arrays
    for n in range(1, len(cfg.sizes)):
        states = np.concatenate([a[f"{phase}_L{n}"].ravel() for phase in ("free", "plus", "minus")])
        assert {0, spec.one} <= set(states.tolist()), f"layer {n}: the states never reach both rails"
        for kind in ("W", "b"):   # after any update
            written = set(a[f"{kind}{n}"].ravel().tolist())
            assert {spec.w_min, spec.w_max} <= written, f"{kind}{n} never written at both rails"
        init, after = a[f"init_W{n}"], a[f"W{n}"]
        inside = (init > spec.w_min) & (init < spec.w_max)
        for rail in (spec.w_min, spec.w_max):
            assert np.any(inside & (after == rail)), f"W{n}: no weight driven to {rail}"


@pytest.mark.parametrize("activation, nudge, rounding", CASES)
def test_the_core_saturates_where_the_model_does(activation, nudge, rounding):
    cfg = rail_config(activation, nudge, rounding)
    rng = np.random.default_rng(22)
    x, y = rail_inputs(cfg, rng, batches=2)
    fixed, got = traces(cfg, x, y, params=rail_weights(cfg, rng))
    assert_reaches_every_rail(fixed, cfg)
    result = compare(fixed, got)
    assert result.first is None, f"{result.mismatches} mismatches, first: {result.first}"


@pytest.mark.slow
def test_every_bound_moved_by_one_fails_these_tests():
    """``scripts/rail_mutations.py``: each of the gateware's eight saturation bounds, moved by
    one, makes a test above fail with a mismatch (about a minute)."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "rail_mutations.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("fail: killed") == 8, proc.stdout
