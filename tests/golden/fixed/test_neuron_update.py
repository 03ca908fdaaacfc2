"""One integer step of every layer against the float step on the same (dequantised) values."""

import numpy as np
import torch

from epfpga.golden.fixed.neuron_update import input_drive, neuron_step, weight_view
from epfpga.golden.network import Dynamics

from .helpers import random_spec
from .test_activation import BOUND

CASES = 1000


def _random_case(rng, spec):
    p = {}
    for n in range(1, spec.layers + 1):
        lim = min(spec.w_max, 1 << spec.fw)  # |w| <= 1.0 keeps most units off the rails
        p[f"W{n}"] = torch.from_numpy(rng.integers(-lim, lim + 1, (spec.sizes[n], spec.sizes[n - 1])))
        p[f"b{n}"] = torch.from_numpy(rng.integers(-lim, lim + 1, spec.sizes[n]))
    batch = spec.config.batch
    x = torch.from_numpy(rng.integers(0, (1 << spec.fx) + 1, (batch, spec.sizes[0])))
    q = [torch.from_numpy(rng.integers(0, spec.one + 1, (batch, s))) for s in spec.sizes[1:]]
    target = torch.nn.functional.one_hot(torch.from_numpy(rng.integers(0, spec.sizes[-1], batch)),
                                         spec.sizes[-1]) * spec.one
    return p, x, q, target


def test_step_matches_float_within_rounding():
    rng = np.random.default_rng(11)
    for case in range(CASES):
        spec = random_spec(rng)
        cfg = spec.config.replace(dtype="float64")
        p, x, q, target = _random_case(rng, spec)
        sign = int(rng.choice([-1, 0, 1]))
        new = neuron_step(spec, weight_view(p), q, input_drive(spec, weight_view(p), x), sign, target)
        dyn = Dynamics(cfg)
        fp = {k: v.double() / (1 << spec.fw) for k, v in p.items()}
        fq = [v.double() / spec.one for v in q]
        fx = x.double() / (1 << spec.fx)
        ref = dyn.step(fp, fq, dyn.drive(fp, fx), sign * cfg.beta, target.double() / spec.one)
        bound = BOUND[cfg.activation] + (0.5 if cfg.nudge == "outside" and sign else 0.0)
        for n, (got, want) in enumerate(zip(new, ref)):
            err = (got.double() / spec.one - want.clamp(0, 1)).abs() * spec.one
            assert float(err.max()) <= bound + 1e-9, (case, n, float(err.max()))
            assert int(got.min()) >= 0 and int(got.max()) <= spec.one
