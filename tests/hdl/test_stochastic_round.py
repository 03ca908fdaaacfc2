"""The update's rounding stage against its golden twins: ``stochastic_round`` with the fed
``r`` (the top ``shift`` bits of the lane's draw), ``rshift_round`` for nearest, at the rails
of the value and of the draw, for every shift (left shifts included), and ``zero``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from amaranth import signed

from epfpga.golden.fixed.formats import rshift_round
from epfpga.golden.fixed.weight_update import stochastic_round
from epfpga.hdl.stochastic_round import StochasticRound

from .sim_helpers import simulate

LANES, V_BITS, Q_BITS = 4, 24, 36
SHIFTS = [-3, 0, 1, 7, 13]


def golden(v: int, shift: int, draw: int, stochastic: bool) -> int:
    t = torch.tensor([v], dtype=torch.int64)
    if shift > 0 and stochastic:
        return int(stochastic_round(t, shift, torch.tensor([draw >> (32 - shift)]))[0])
    return int(rshift_round(t, shift)[0])


@pytest.mark.parametrize("stochastic", [False, True])
def test_rounding_equals_the_model_latency_cycles_later(stochastic):
    dut = StochasticRound(LANES, signed(V_BITS), signed(Q_BITS), SHIFTS, stochastic)
    rng = np.random.default_rng(int(stochastic))
    lo, hi = -(1 << (V_BITS - 1)), (1 << (V_BITS - 1)) - 1
    values = [lo, lo + 1, -1, 0, 1, hi - 1, hi]
    draws = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
    cases = [(s, [values[(k + l) % len(values)] for l in range(LANES)], [draws[(k + 2 * l) % len(draws)] for l in range(LANES)], 0)
             for s in SHIFTS for k in range(len(values) * len(draws))]
    cases += [(int(rng.choice(SHIFTS)), [int(v) for v in rng.integers(lo, hi + 1, LANES)],
               [int(d) for d in rng.integers(0, 1 << 32, LANES, dtype=np.uint64)], int(rng.random() < 0.1))
              for _ in range(300)]
    got = []

    async def tb(ctx):
        for t in range(len(cases) + StochasticRound.LATENCY):
            if t < len(cases):
                shift, v, draw, zero = cases[t]
                ctx.set(dut.shift, shift)
                ctx.set(dut.zero, zero)
                for l in range(LANES):
                    ctx.set(dut.v[l], v[l])
                    ctx.set(dut.draw[l], draw[l])
            await ctx.tick()
            if t >= StochasticRound.LATENCY - 1:
                got.append([ctx.get(dut.q[l]) for l in range(LANES)])

    simulate(dut, tb)
    want = [[0 if zero else golden(v[l], shift, draw[l], stochastic) for l in range(LANES)]
            for shift, v, draw, zero in cases]
    assert got[:len(cases)] == want
    if stochastic:   # the draw matters
        assert any(golden(v[0], s, d[0], True) != golden(v[0], s, 0, True) for s, v, d, _ in cases if s > 0)
