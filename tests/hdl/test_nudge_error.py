"""The output layer's nudge against its golden twin, for every unit, label, sign and the
state's rails."""

from __future__ import annotations

import itertools

import torch
from amaranth.sim import Simulator

from epfpga import config as config_mod
from epfpga.contract.isa import Nudge
from epfpga.contract.params import CoreParams
from epfpga.golden.fixed.neuron_update import nudge_error
from epfpga.hdl.nudge_error import NudgeError

SIGNS = {Nudge.FREE: 0, Nudge.PLUS: 1, Nudge.MINUS: -1}


def test_nudge_error_equals_the_model():
    p = CoreParams.from_config(config_mod.from_dict(dict(sizes=[5, 6, 10], lanes=2, batch=2, lrs=[0.5, 0.5])))
    one = p.spec.one
    cases = list(itertools.product(range(10), (0, 3, 9), (0, 1, one // 2, one - 1, one), SIGNS))
    dut = NudgeError(p)
    got = []

    async def tb(ctx):
        for unit, label, q, code in cases:
            for port, value in ((dut.unit, unit), (dut.label, label), (dut.q, q), (dut.nudge, code)):
                ctx.set(port, value)
            got.append(ctx.get(dut.err))

    sim = Simulator(dut)   # combinational: no clock
    sim.add_testbench(tb)
    sim.run()
    want = [int(nudge_error(torch.tensor(one if unit == label else 0), torch.tensor(q), SIGNS[code]))
            for unit, label, q, code in cases]
    assert got == want
    assert {-one, one} <= set(want)   # both extremes of the error
