"""Integer activations against the float ones: within the rounding bound, exact at the rails."""

import numpy as np
import torch

from epfpga.golden.activations import ACTIVATIONS
from epfpga.golden.fixed.activation import activation, sigmoid_table

from .helpers import random_spec

CASES = 1000
# |ρ_q(u)/2**fs − ρ(u/2**(fw+fs))| in units of 2**-fs: one rounding for the shifts; the LUT
# adds the rounding of u to state precision, through a slope of at most 1.
BOUND = {"hard_sigmoid": 0.5, "my_hard_sig": 0.5, "my_sigmoid": 1.0}


def test_activation_within_bound_and_saturating():
    rng = np.random.default_rng(10)
    for case in range(CASES):
        spec = random_spec(rng)
        name = spec.config.activation
        scale = 1 << (spec.fw + spec.fs)
        u = torch.from_numpy(rng.integers(-4 * scale, 4 * scale, 64))
        u[:2] = torch.tensor([-(1 << 40), 1 << 40])
        q = activation(spec, u)
        ref = ACTIVATIONS[name](u.double() / scale)
        err = (q.double() / spec.one - ref).abs() * spec.one
        assert float(err.max()) <= BOUND[name] + 1e-9, (case, name)
        assert int(q[0]) == 0 and int(q[1]) == spec.one
        assert int(q.min()) >= 0 and int(q.max()) <= spec.one
        order = torch.argsort(u)
        assert bool((q[order].diff() >= 0).all()), "monotone"


def test_sigmoid_table_ends_on_the_rails():
    for fs in range(1, 17):
        z_lo, table = sigmoid_table(fs)
        assert table[0] == 0 and table[-1] == 1 << fs
        assert table[1] > 0 and table[-2] < 1 << fs
        assert np.all(np.diff(table) >= 0)
