"""The core's cycle counters, read by the host in the control region (``Reg``): the cycles of
the last run, of its drive, relax and update instructions, its neuron steps, and how long the
core stood idle before it.  Their twin is the schedule model (:mod:`.schedule`)."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract import programs
from epfpga.contract.address_map import Reg
from epfpga.contract.isa import Op
from epfpga.contract.params import HOST_DATA_BITS, CoreParams

from .schedule import program_cycles

#: The instruction whose cycles each counter counts.
BY_OP = {Reg.DRIVE_CYCLES: Op.DRIVE, Reg.RELAX_CYCLES: Op.RELAX, Reg.UPDATE_CYCLES: Op.UPDATE}
COUNTERS = (Reg.CYCLES, *BY_OP, Reg.STEPS, Reg.WAIT_CYCLES)


def field(reg: Reg) -> str:
    return reg.name.lower()


def run_bits(p: CoreParams, *extra: list[int]) -> int:
    """The run counters' width: on a board without the timing registers (the iCEBreaker), as
    wide as the longest of the runs the host makes on the build, the config's training and
    inference programs and any ``extra`` program (schedule model); every run count is at most
    its cycles.  Where the board has them (the ECP5), :data:`HOST_DATA_BITS`, as its timing
    baseline was built."""
    if p.timing_registers:
        return HOST_DATA_BITS
    cfg = p.config
    runs = {tuple(words) for words in (programs.training(cfg.estimator, cfg.t1, cfg.t2), programs.inference(cfg.t1),
                                       *extra)}    # (the core's program is the training one unless a test gives its own)
    return min(HOST_DATA_BITS, max(program_cycles(p, list(words)).cycles for words in runs).bit_length())


class CountersSignature(wiring.Signature):
    """The sequencer's ``start`` of a run, ``busy`` while it runs, ``executing`` its
    instruction ``op``, and ``step`` (a neuron step's last state written); the counts, the
    run's ``run_bits`` wide, the wait ``bits``."""

    def __init__(self, bits: int = HOST_DATA_BITS, run_bits: int = HOST_DATA_BITS):
        widths = {field(r): bits if r == Reg.WAIT_CYCLES else run_bits for r in COUNTERS}
        super().__init__({"start": In(1), "busy": In(1), "executing": In(1), "op": In(3), "step": In(1),
                          "counts": Out(data.StructLayout(widths))})


class CycleCounters(wiring.Component):
    """A run's counts start at 0 with it and hold after it; the idle count starts when a run
    ends, saturates, and is the wait count when the next run starts.  Where the run counts are
    narrower than ``bits``, a run longer than ``run_bits`` allow holds them all when its cycles
    reach their maximum (no count wraps).  Latency 1: a count includes the cycle before the
    one it is read in."""

    def __init__(self, bits: int = HOST_DATA_BITS, run_bits: int | None = None):
        self.bits, self.run_bits = bits, bits if run_bits is None else run_bits
        super().__init__(CountersSignature(bits, self.run_bits))

    def elaborate(self, platform) -> Module:
        m = Module()
        counts = self.counts
        idle = Signal(self.bits)   # since the last run ended: how long the core waited for the host
        step = self.step
        full = None      # (the run counts hold: where they are as wide as the wait, they wrap)
        if self.run_bits < self.bits:
            full = counts.cycles == (1 << self.run_bits) - 1
            step = self.step & ~full
        with m.If(self.start):
            m.d.sync += [counts[field(r)].eq(0) for r in COUNTERS if r != Reg.WAIT_CYCLES]
            m.d.sync += [counts.wait_cycles.eq(idle), idle.eq(0)]
        with m.Elif(~self.busy):
            with m.If(idle != (1 << self.bits) - 1):
                m.d.sync += idle.eq(idle + 1)
        with (m.Else() if full is None else m.Elif(~full)):
            m.d.sync += counts.cycles.eq(counts.cycles + 1)
            for r, op in BY_OP.items():
                with m.If(self.executing & (self.op == op)):
                    m.d.sync += counts[field(r)].eq(counts[field(r)] + 1)
        with m.If(step):
            m.d.sync += counts.steps.eq(counts.steps + 1)
        return m
