"""Quantisers and accumulator widths of the fixed-point formats."""

import numpy as np
import pytest
import torch

from epfpga.config import Config, FixedFormat
from epfpga.errors import ConfigError
from epfpga.golden.fixed.formats import FixedSpec, exact_mm, rshift_round
from epfpga.golden.fixed.neuron_update import preactivation

from .helpers import random_spec

CASES = 1000


def test_input_quantiser_is_within_half_an_lsb_and_hits_the_rails():
    rng = np.random.default_rng(0)
    for case in range(CASES):
        spec = random_spec(rng)
        x = rng.uniform(0, 1, 16).astype(np.float32)
        x[:2] = (0.0, 1.0)
        q = spec.quantise_input(x).numpy()
        assert np.all(np.abs(q / 2 ** spec.fx - x.astype(np.float64)) <= 2.0 ** -(spec.fx + 1))
        assert q[0] == 0 and q[1] == 2 ** spec.fx and q.min() >= 0 and q.max() <= 2 ** spec.fx


def test_weight_quantiser_rounds_and_saturates_exactly():
    rng = np.random.default_rng(1)
    for case in range(CASES):
        spec = random_spec(rng)
        w = torch.from_numpy(rng.uniform(-2, 2, 32) * 2.0 ** (spec.wbits - 1 - spec.fw))
        q = spec.quantise_weight(w)
        inside = (w * 2 ** spec.fw >= spec.w_min) & (w * 2 ** spec.fw <= spec.w_max)
        err = (spec.dequantise_weight(q) - w).abs()
        assert bool((err[inside] <= 2.0 ** -(spec.fw + 1)).all())
        assert bool((q[w * 2 ** spec.fw > spec.w_max + 0.5] == spec.w_max).all())
        assert bool((q[w * 2 ** spec.fw < spec.w_min - 0.5] == spec.w_min).all())


def test_rshift_round_is_nearest_ties_up():
    v = torch.arange(-40, 41)
    assert torch.equal(rshift_round(v, 2), torch.floor(v / 4 + 0.5).long())
    assert torch.equal(rshift_round(v, 0), v) and torch.equal(rshift_round(v, -3), v * 8)


def test_exact_mm_is_exact_at_53_bits():
    a = torch.tensor([[2 ** 26 + 1, 2 ** 26 - 1]])
    b = torch.tensor([[2 ** 26 - 3], [2 ** 26 + 5]])
    assert int(exact_mm(a, b)) == (2 ** 26 + 1) * (2 ** 26 - 3) + (2 ** 26 - 1) * (2 ** 26 + 5)


@pytest.mark.parametrize("nudge", ["inside", "outside"])
@pytest.mark.parametrize("seed", range(20))
def test_accumulator_width_is_exactly_the_worst_case(seed, nudge):
    """All weights on the negative rail, all states at 1.0, nudge (inside ρ) at its largest: the
    accumulator reaches the bound the width formula covers, and needs every bit of it."""
    spec = random_spec(np.random.default_rng(seed), nudge=nudge)
    n_layers = spec.layers
    p = {f"W{n}": torch.full((spec.sizes[n], spec.sizes[n - 1]), spec.w_min) for n in range(1, n_layers + 1)}
    p.update({f"b{n}": torch.full((spec.sizes[n],), spec.w_min) for n in range(1, n_layers + 1)})
    q = [torch.full((1, s), spec.one) for s in spec.sizes[1:]]
    for n in range(n_layers):
        drive = exact_mm(torch.full((1, spec.sizes[0]), 1 << spec.fx), p["W1"].T) * (1 << (spec.fs - spec.fx)) \
            + p["b1"] * spec.one
        u = preactivation(spec, p, q, drive, n)
        if n + 1 == n_layers and nudge == "inside":  # σ(y − q) = −1.0 on a unit whose target is 0
            u = u - spec.one * (1 << (spec.fw - spec.k))
        worst = int(u.abs().max())
        bits = spec.acc_needed(n + 1)
        assert worst <= 2 ** (bits - 1) - 1 and worst > 2 ** (bits - 2) - 1


def test_config_without_room_is_rejected_naming_the_key():
    base = Config(sizes=(784, 512, 10), lrs=(0.1, 0.05), fixed=FixedFormat(acc_bits=30))
    with pytest.raises(ConfigError) as err:
        FixedSpec.from_config(base)
    assert err.value.key == "fixed.acc_bits" and "needs" in err.value.limit
    with pytest.raises(ConfigError) as err:
        FixedSpec.from_config(base.replace(fixed=FixedFormat(grad_bits=20)))
    assert err.value.key == "fixed.grad_bits"
    with pytest.raises(ConfigError) as err:
        FixedSpec.from_config(base.replace(beta=0.75))
    assert err.value.key == "beta"
