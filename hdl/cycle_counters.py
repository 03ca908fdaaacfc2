"""The core's cycle counters, read by the host in the control region (``Reg``): the cycles of
the last run, of its drive, relax and update instructions, its neuron steps, and how long the
core stood idle before it.  Their twin is the schedule model (:mod:`.schedule`)."""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import memory, wiring
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
    instruction ``op``, and ``step`` (a neuron step's last state written); the host's
    ``select`` of a control register (:class:`~epfpga.contract.address_map.Reg`) and its
    ``count``, combinational: 0 for a register that is not a counter."""

    def __init__(self, bits: int = HOST_DATA_BITS):
        super().__init__({"start": In(1), "busy": In(1), "executing": In(1), "op": In(3), "step": In(1),
                          "select": In(range(max(Reg) + 1)), "count": Out(bits)})


class CycleCounters(wiring.Component):
    """A run's counts start at 0 with it and hold after it; the idle count starts when a run
    ends, saturates, and is the wait count when the next run starts.  Where the run counts are
    narrower than ``bits`` (``run_bits``), a run longer than they allow holds them all when its
    cycles reach their maximum (no count wraps).  Latency 1: a count includes the cycle before
    the one it is read in.

    With ``op_memory`` (a board with LUT RAM) the instructions' counts are words of a small
    memory, read, incremented and written back at the executing instruction's ``op`` (one
    instruction executes at a time), with a flag each that says it has been written since the
    run's start (a count not written reads 0): one adder for the three, and 8 ``DPR16X4`` a read
    port in place of 96 flip-flops on the ECP5.
    """

    def __init__(self, bits: int = HOST_DATA_BITS, run_bits: int | None = None, op_memory: bool = False):
        self.bits, self.run_bits = bits, bits if run_bits is None else run_bits
        self.op_memory = op_memory
        super().__init__(CountersSignature(bits))

    def elaborate(self, platform) -> Module:
        m = Module()
        counts = {r: Signal(self.bits if r == Reg.WAIT_CYCLES else self.run_bits, name=field(r)) for r in COUNTERS}
        idle = Signal(self.bits)   # since the last run ended: how long the core waited for the host
        step = self.step
        full = None      # (the run counts hold: where they are as wide as the wait, they wrap)
        if self.run_bits < self.bits:
            full = counts[Reg.CYCLES] == (1 << self.run_bits) - 1
            step = self.step & ~full
        counting = Signal()     # a cycle of the run, counted
        with m.If(self.start):
            m.d.sync += [counts[r].eq(0) for r in (Reg.CYCLES, Reg.STEPS)]
            m.d.sync += [counts[Reg.WAIT_CYCLES].eq(idle), idle.eq(0)]
        with m.Elif(~self.busy):
            with m.If(idle != (1 << self.bits) - 1):
                m.d.sync += idle.eq(idle + 1)
        with (m.Else() if full is None else m.Elif(~full)):
            m.d.comb += counting.eq(1)
            m.d.sync += counts[Reg.CYCLES].eq(counts[Reg.CYCLES] + 1)
        with m.If(step):
            m.d.sync += counts[Reg.STEPS].eq(counts[Reg.STEPS] + 1)
        if self.op_memory:
            self._op_memory(m, counts, counting)
        else:
            for r, op in BY_OP.items():
                with m.If(self.start):
                    m.d.sync += counts[r].eq(0)
                with m.Elif(counting & self.executing & (self.op == op)):
                    m.d.sync += counts[r].eq(counts[r] + 1)
        with m.Switch(self.select):
            for r in COUNTERS:
                with m.Case(r):
                    m.d.comb += self.count.eq(counts[r])
        return m

    def _op_memory(self, m: Module, counts: dict, counting) -> None:
        """The instructions' counts in a memory at their ``op``: the host's reads through a
        read port of their own."""
        ops = m.submodules.op_counts = memory.Memory(shape=self.run_bits, depth=max(Op) + 1, init=[])
        current, host, write = ops.read_port(domain="comb"), ops.read_port(domain="comb"), ops.write_port()
        written = {op: Signal(name=f"written_{op.name.lower()}") for op in BY_OP.values()}
        counted = Signal()
        with m.Switch(self.op):
            for op, flag in written.items():
                with m.Case(op):
                    m.d.comb += counted.eq(flag)
        m.d.comb += [current.addr.eq(self.op), write.addr.eq(self.op),
                     write.data.eq(Mux(counted, current.data, 0) + 1),
                     write.en.eq(counting & self.executing & Cat(*(self.op == op for op in written)).any())]
        with m.If(self.start):
            m.d.sync += [flag.eq(0) for flag in written.values()]
        with m.Elif(write.en):
            for op, flag in written.items():
                with m.If(self.op == op):
                    m.d.sync += flag.eq(1)
        for r, op in BY_OP.items():
            with m.If(self.select == r):
                m.d.comb += host.addr.eq(op)
            m.d.comb += counts[r].eq(Mux(written[op], host.data, 0))
