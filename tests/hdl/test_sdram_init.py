# amaranth: UnusedElaboratable=no
"""The SDRAM init sequencer against its golden twin, the list of steps: every write in order,
each step's wait between writes, whatever the bus's acknowledge delay, then ``done``."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.hdl.litedram import InitStep, generate, init_steps
from epfpga.hdl.sdram_init import SDRAMInit

from .sim_helpers import simulate


def replay(steps, registers, seed=0, most=20_000):
    """Acknowledge each bus cycle after a random delay; returns the writes ``(cycle, adr, data)``,
    the cycle each was acknowledged, and the cycle ``done`` rose."""
    rng = np.random.default_rng(seed)
    dut = SDRAMInit(steps, registers)
    writes, acks, done = [], [], []

    async def bench(ctx):
        delay = None
        for cycle in range(most):
            ctx.set(dut.bus.ack, 0)
            if ctx.get(dut.done):
                done.append(cycle)
                break
            if ctx.get(dut.bus.cyc) and ctx.get(dut.bus.stb):
                assert ctx.get(dut.bus.we) and ctx.get(dut.bus.sel) == 0b1111
                if delay is None:
                    delay = int(rng.integers(0, 4))
                    writes.append((cycle, ctx.get(dut.bus.adr), ctx.get(dut.bus.dat_w)))
                elif delay == 0:
                    ctx.set(dut.bus.ack, 1)
                    acks.append(cycle)
                    delay = None
                else:
                    delay -= 1
            await ctx.tick()

    simulate(dut, bench)
    return writes, acks, done


@pytest.mark.parametrize("seed", [0, 1])
def test_every_step_written_in_order_with_its_wait(seed):
    steps = [InitStep("a", 5, wait=3), InitStep("b", 0xdeadbeef), InitStep("a", 7, wait=10), InitStep("c", 1)]
    registers = {"a": 0x200, "b": 0x201, "c": 0}
    writes, acks, done = replay(steps, registers, seed)
    assert [(adr, data) for _, adr, data in writes] == [(registers[s.register], s.value) for s in steps]
    for step, ack, (start, _, _) in zip(steps, acks, writes[1:]):
        assert start - ack > step.wait   # the next write starts only once this step's wait is over
    assert done and done[0] > acks[-1]


def test_the_ulx3s_sequence():
    steps = init_steps(ULX3S_SDRAM, 100_000_000)
    registers = generate(ULX3S_SDRAM, 100_000_000).registers
    writes, acks, done = replay(steps, registers, most=30_000)
    assert [(adr, data) for _, adr, data in writes] == [(registers[s.register], s.value) for s in steps]
    assert writes[1][0] - acks[0] > ULX3S_SDRAM.power_up / 10   # 100 us of NOPs at 10 ns a clock
    assert done


def test_a_register_the_core_lacks_is_named():
    with pytest.raises(ValueError, match="no control register nope"):
        SDRAMInit([InitStep("nope", 1)], {"a": 0})
