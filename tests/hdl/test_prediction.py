"""Running argmax against the golden prediction, ties to the lowest index."""

import numpy as np
import torch

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.golden.fixed.prediction import prediction
from epfpga.hdl.prediction import Prediction

from .sim_helpers import simulate


def test_argmax_of_each_step_restarts_at_unit_0_and_ties_to_lowest_index():
    params = CoreParams.from_config(config_mod.from_dict(dict(sizes=[4, 5, 10])))
    dut = Prediction(params)
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 4, (60, 10))          # few values: many ties
    rows[0] = 7                                  # all equal → unit 0
    want = prediction(torch.from_numpy(rows)).tolist()
    got = []

    async def tb(ctx):
        for row in rows.tolist():         # back to back: unit 0 starts each step's argmax
            for unit, q in enumerate(row):
                ctx.set(dut.valid, 1)
                ctx.set(dut.unit, unit)
                ctx.set(dut.q, q)
                await ctx.tick()
                ctx.set(dut.valid, 0)
                await ctx.tick()          # gaps between units, as in the pipeline
            got.append(ctx.get(dut.index))

    simulate(dut, tb)
    assert got == want
