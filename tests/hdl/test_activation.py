"""The gateware activation against the golden ρ_q, value by value (3 cycles, 2 without the timing registers)."""

import numpy as np
import pytest
import torch

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.golden.fixed.activation import activation, sigmoid_table
from epfpga.hdl.activation import Activation

from .sim_helpers import simulate


@pytest.mark.parametrize("board, latency", [("ulx3s-85f", 3), ("icebreaker", 2)])
@pytest.mark.parametrize("name", ["hard_sigmoid", "my_hard_sig", "my_sigmoid"])
@pytest.mark.parametrize("fw", [0, 1, 12])
def test_activation_matches_the_golden_function(name, fw, board, latency):
    """Without the timing registers (the iCEBreaker) no register holds ``u``: a cycle sooner.
    Each ``u`` within two of where the rounding crosses an end of the clamp's range is checked:
    with the register, the ends are decided from ``u`` before the rounding (``rounded_bounds``)."""
    cfg = config_mod.from_dict(dict(sizes=[20, 30, 10], activation=name, beta=1.0,
                                    fixed={"weight_frac": fw, "rounding": "nearest"}, hardware={"board": board}))
    params = CoreParams.from_config(cfg)
    dut = Activation(params)
    assert dut.latency == latency
    latency = dut.latency
    rng = np.random.default_rng(fw)
    one = 1 << (params.spec.fs + fw)
    u = np.concatenate([rng.integers(-4 * one, 5 * one, 300), [0, one, -1, one // 2, 1 - one,
                                                                (1 << (params.acc_bits - 1)) - 1,
                                                                -(1 << (params.acc_bits - 1))]])
    z_lo, table = sigmoid_table(params.spec.fs)
    ends = (0, params.spec.one + 1, z_lo, z_lo + len(table))     # (rounded values: the ranges' ends)
    crossings = [(e << s) - (1 << s >> 1) for e in ends for s in (fw, fw + 1)]   # (round(u, s) reaches e)
    u = np.concatenate([u, *[np.arange(c - 2, c + 3) for c in crossings]])
    want = activation(params.spec, torch.from_numpy(u)).tolist()
    got = []

    async def tb(ctx):
        for t, value in enumerate([*u.tolist(), *[0] * latency]):
            ctx.set(dut.u, value)
            await ctx.tick()
            if t >= latency - 1 and len(got) < len(u):
                got.append(ctx.get(dut.q))

    simulate(dut, tb)
    assert got == want
