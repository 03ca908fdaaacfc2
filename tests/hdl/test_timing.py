"""``ahead``: a register where the board has the timing registers, the value itself where not."""

from __future__ import annotations

import pytest
from amaranth import Module, Signal

from epfpga.hdl.timing import ahead

from .neuron_params import params
from .sim_helpers import simulate


@pytest.mark.parametrize("board, delay", [("ulx3s-85f", 1), ("icebreaker", 0)])
def test_ahead_registers_only_where_the_board_has_room(board, delay):
    m = Module()
    value = Signal(8)
    out = ahead(m, params(board=board), value + 1, "plus_one")
    m.d.sync += Signal(name="tick").eq(1)       # (a clock domain where nothing is registered)
    values = [3, 250, 0, 7, 255]
    got = []

    async def tb(ctx):
        for v in values + [0]:
            ctx.set(value, v)
            got.append(ctx.get(out))
            await ctx.tick()

    simulate(m, tb)
    assert got[delay:delay + len(values)] == [(v + 1) & 0x1ff for v in values]
