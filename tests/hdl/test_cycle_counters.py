"""The cycle counters: a run's counts from its start, each instruction's cycles, the steps, and
the wait before a run, which saturates rather than wraps (checked at 4 bits); run counts as
wide as the build's runs, which hold at their maximum rather than wrap."""

from __future__ import annotations

import pytest

from epfpga.contract import programs
from epfpga.contract.isa import Op
from epfpga.hdl.cycle_counters import CycleCounters, run_bits
from epfpga.hdl.schedule import program_cycles

from .neuron_params import params
from .sim_helpers import simulate

# a run: (op, cycles executing) with a cycle between instructions, steps at some cycles
RUN = [(Op.DRIVE, 5), (Op.RELAX, 9), (Op.UPDATE, 4), (Op.RELAX, 3)]
STEPS = 4


def run_twice(bits: int, idle: int, run_bits: int | None = None) -> list[dict[str, int]]:
    """Two runs ``idle`` cycles apart; the counts after each."""
    dut = CycleCounters(bits, run_bits)
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


@pytest.mark.parametrize("run_bits, held", [(5, False), (4, True)])
def test_narrow_run_counts_hold_at_their_maximum(run_bits, held):
    """A run of 25 cycles in 5 bits counts as one in 32; in 4, every count stops where the
    cycles reach 15 (the drive's 5 and the first relax's 9, with its 3 steps)."""
    first, second = run_twice(32, idle=37, run_bits=run_bits)
    for counts in (first, second):
        if held:
            assert counts["cycles"] == 15
            assert (counts["drive_cycles"], counts["relax_cycles"], counts["update_cycles"]) == (5, 9, 0)
            assert counts["steps"] == 3
        else:
            assert counts["cycles"] == sum(cycles + 1 for _, cycles in RUN)
            assert (counts["drive_cycles"], counts["relax_cycles"], counts["update_cycles"]) == (5, 12, 4)
    assert second["wait_cycles"] == 37


def test_the_icebreakers_run_counts_are_as_wide_as_its_longest_run():
    """The training program's cycles (the longest run of ``digits`` at P = 2) take 18 bits; one
    bit fewer would not hold them; the ECP5 keeps 32."""
    p = params(sizes=(64, 256, 10), lanes=2, batch=4, board="icebreaker", t1=20, t2=8)
    cfg = p.config
    longest = program_cycles(p, programs.training(cfg.estimator, cfg.t1, cfg.t2)).cycles
    bits = run_bits(p)
    assert longest < 1 << bits and longest >= 1 << (bits - 1)
    longer = programs.training(cfg.estimator, cfg.t1 * 4, cfg.t2)
    assert run_bits(p, longer) > bits
    assert run_bits(params(sizes=(64, 256, 10), lanes=2, batch=4, board="ulx3s-85f")) == 32
