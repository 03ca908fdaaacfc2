"""The core's cycle counters, read by the host in the control region (``Reg``): the cycles of
the last run, of its drive, relax and update instructions, its neuron steps, and how long the
core stood idle before it.  Their twin is the schedule model (``hdl/schedule.py``)."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.address_map import Reg
from epfpga.contract.isa import Op
from epfpga.contract.params import HOST_DATA_BITS

#: The instruction whose cycles each counter counts.
BY_OP = {Reg.DRIVE_CYCLES: Op.DRIVE, Reg.RELAX_CYCLES: Op.RELAX, Reg.UPDATE_CYCLES: Op.UPDATE}
COUNTERS = (Reg.CYCLES, *BY_OP, Reg.STEPS, Reg.WAIT_CYCLES)


def field(reg: Reg) -> str:
    return reg.name.lower()


class CountersSignature(wiring.Signature):
    """The sequencer's ``start`` of a run, ``busy`` while it runs, ``executing`` its
    instruction ``op``, and ``step`` (a neuron step's last state written); the counts."""

    def __init__(self, bits: int = HOST_DATA_BITS):
        super().__init__({"start": In(1), "busy": In(1), "executing": In(1), "op": In(3), "step": In(1),
                          "counts": Out(data.StructLayout({field(r): bits for r in COUNTERS}))})


class CycleCounters(wiring.Component):
    """A run's counts start at 0 with it and hold after it; the idle count starts when a run
    ends, saturates, and is the wait count when the next run starts.  Latency 1: a count
    includes the cycle before the one it is read in."""

    def __init__(self, bits: int = HOST_DATA_BITS):
        self.bits = bits
        super().__init__(CountersSignature(bits))

    def elaborate(self, platform) -> Module:
        m = Module()
        counts = self.counts
        idle = Signal(self.bits)   # since the last run ended: how long the core waited for the host
        with m.If(self.start):
            m.d.sync += [counts[field(r)].eq(0) for r in COUNTERS if r != Reg.WAIT_CYCLES]
            m.d.sync += [counts.wait_cycles.eq(idle), idle.eq(0)]
        with m.Elif(~self.busy):
            with m.If(idle != (1 << self.bits) - 1):
                m.d.sync += idle.eq(idle + 1)
        with m.Else():
            m.d.sync += counts.cycles.eq(counts.cycles + 1)
            for r, op in BY_OP.items():
                with m.If(self.executing & (self.op == op)):
                    m.d.sync += counts[field(r)].eq(counts[field(r)] + 1)
        with m.If(self.step):
            m.d.sync += counts.steps.eq(counts.steps + 1)
        return m
