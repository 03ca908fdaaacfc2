"""Run a small component in Amaranth's simulator with one async testbench."""

from __future__ import annotations

from amaranth.sim import Simulator


def simulate(dut, testbench) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
