"""The output layer's states against their golden twin ``output_state``: the nudge inside ρ
and outside, every sign's extremes of the error, accumulators past both rails, one a cycle."""

from __future__ import annotations

import itertools

import pytest
import torch

from epfpga.golden.fixed.neuron_update import output_state
from epfpga.hdl.output_state import OutputState

from .neuron_params import params
from .sim_helpers import simulate


@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])
@pytest.mark.parametrize("nudge", ["inside", "outside"])
@pytest.mark.parametrize("name", ["hard_sigmoid", "my_sigmoid"])
def test_output_states_equal_the_model(nudge, name, board):
    """(The iCEBreaker's activation has no input register: a cycle sooner.)"""
    p = params(sizes=(6, 8, 5), nudge=nudge, activation=name, board=board)
    spec = p.spec
    one_u = spec.one << spec.fw
    us = [-2 * one_u, -1, 0, 1, one_u // 3, one_u // 2, one_u - 1, one_u, one_u + 1, 2 * one_u]
    errs = [-spec.one, -spec.one // 2 - 1, -1, 0, 1, spec.one // 2, spec.one]
    items = list(itertools.product(us, errs))
    dut, got = OutputState(p), []

    async def tb(ctx):
        for cycle in range(len(items) + dut.latency):
            if cycle < len(items):
                ctx.set(dut.u, items[cycle][0])
                ctx.set(dut.err, items[cycle][1])
            if cycle >= dut.latency:
                got.append(ctx.get(dut.q))
            await ctx.tick()

    simulate(dut, tb)
    want = output_state(spec, torch.tensor([u for u, _ in items]), torch.tensor([e for _, e in items]))
    assert got == want.tolist()
    if name == "hard_sigmoid" or nudge == "outside":     # (the sigmoid's table stops short of them)
        assert {0, spec.one} <= set(got)     # both rails reached
