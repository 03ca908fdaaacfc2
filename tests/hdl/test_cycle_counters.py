"""The cycle counters: a run's counts from its start, each instruction's cycles, the steps, and
the wait before a run, which saturates rather than wraps (checked at 4 bits)."""

from __future__ import annotations

from epfpga.contract.isa import Op
from epfpga.hdl.cycle_counters import CycleCounters

from .sim_helpers import simulate

# a run: (op, cycles executing) with a cycle between instructions, steps at some cycles
RUN = [(Op.DRIVE, 5), (Op.RELAX, 9), (Op.UPDATE, 4), (Op.RELAX, 3)]
STEPS = 4


def run_twice(bits: int, idle: int) -> list[dict[str, int]]:
    """Two runs ``idle`` cycles apart; the counts after each."""
    dut = CycleCounters(bits)
    got = []

    async def tb(ctx):
        for _ in range(2):
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.busy, 1)
            steps = 0
            for op, cycles in RUN:
                ctx.set(dut.op, op)
                ctx.set(dut.executing, 1)
                for c in range(cycles):
                    ctx.set(dut.step, op == Op.RELAX and c % 3 == 0 and steps < STEPS)
                    steps += ctx.get(dut.step)
                    await ctx.tick()
                ctx.set(dut.step, 0)
                ctx.set(dut.executing, 0)
                await ctx.tick()
            ctx.set(dut.busy, 0)
            got.append({name: ctx.get(dut.counts[name]) for name in dut.counts.shape().members})
            for _ in range(idle):
                await ctx.tick()

    simulate(dut, tb)
    return got


def test_a_run_counts_its_cycles_instructions_and_steps_and_the_wait_before_it():
    first, second = run_twice(32, idle=37)
    busy = sum(cycles + 1 for _, cycles in RUN)
    for counts in (first, second):
        assert counts["cycles"] == busy
        assert (counts["drive_cycles"], counts["relax_cycles"], counts["update_cycles"]) == (5, 12, 4)
        assert counts["steps"] == STEPS
    assert first["wait_cycles"] == 0 and second["wait_cycles"] == 37


def test_the_wait_saturates():
    _, second = run_twice(4, idle=40)
    assert second["wait_cycles"] == 15
