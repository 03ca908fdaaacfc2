"""The phase sequencer: runs a microcoded program (``contract/isa.py``) from its program memory.

Each instruction starts one engine operation and waits for it.  The program runs on pairs of
samples (``sample`` is the even one; ``next`` steps by two): one ``drive`` drives both, each
neuron step runs both, and ``predict`` stores both predictions.  A ``relax`` of ``T`` steps
runs ``T`` neuron steps whose intermediate states alternate between the ping and pong slots,
the first reading the instruction's ``src`` and the last writing its ``dst``; where the neuron
update chains them (:func:`~.neuron_timing.chains`), it takes each next step without draining,
and the step and its slots advance as it does.  The random
sign is the twin of :class:`epfpga.golden.prng.SignStream`.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, Value
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.assembler import PROGRAM_DEPTH
from epfpga.contract.isa import INSTRUCTION, IMM_BITS, WORD_BITS, Nudge, Op
from epfpga.contract.params import CoreParams
from epfpga.golden.prng import PRNG_BITS, SIGN_STREAM, stream_seed

from . import timing
from .block_ram import block_read
from .memories import SlotCode, slot_index
from .prng import Xorshift32


class Sequencer(wiring.Component):
    """Program counter, sample loop and the engines' handshakes.

    Parameters
    ----------
    params : CoreParams
    program : list of int
        Initial contents of the program memory (the host may load another).

    Attributes
    ----------
    start : In(1)
        Pulse: run the program from address 0 with sample 0 (taken only while idle).
    busy, done : Out(1)
        ``done`` rises at ``halt`` and stays until the next ``start``.
    op : Out(3)
        Opcode of the current instruction.
    executing : Out(1)
        ``op`` is being executed (not fetched or decoded): the cycle counters' enable.
    prog : In(WritePort.Signature)
        Host writes to the program memory.
    n_start, n_drive, n_src, n_nudge : Out; n_busy : In
        Neuron-update engine.
    n_more : Out(1); n_next : In(1)
        Another step of the relaxation follows the current one; the neuron update took it
        (it issues the next step's first row in the next cycle, :func:`~.neuron_timing.chains`),
        and the step and its slots advance.
    n_src_slots, n_dst_slots : Out(ArrayLayout(range(state_slots), 2))
        The step's source slot (``n_src``, a :class:`~.memories.SlotCode`) and destination
        slot for each sample of the pair (:func:`~.memories.slot_index`).
    u_start, u_negate, u_halve : Out; u_busy : In
        Weight-update engine.
    sample : Out
        Current sample of the mini-batch (of a pair: the even one).
    predict : Out(1)
        Pulse: store the predictions of ``sample`` (and of ``sample + 1``).
    negative : Out(1)
        The last random sign drawn was ``σ = −1``.
    sign_state : Out(32)
        The sign stream's state.
    sign_load, sign_value : In(1), In(32)
        Set the sign stream's state (only while idle).
    """

    def __init__(self, params: CoreParams, program: list[int]):
        self.params, self.program = params, program
        super().__init__({
            "start": In(1), "busy": Out(1), "done": Out(1), "op": Out(3), "executing": Out(1),
            "prog": In(memory.WritePort.Signature(addr_width=(PROGRAM_DEPTH - 1).bit_length(),
                                                  shape=WORD_BITS)),
            "n_start": Out(1), "n_drive": Out(1), "n_src": Out(3), "n_nudge": Out(2),
            "n_src_slots": Out(data.ArrayLayout(range(params.state_slots), 2)),
            "n_dst_slots": Out(data.ArrayLayout(range(params.state_slots), 2)),
            "n_busy": In(1), "n_more": Out(1), "n_next": In(1), "u_start": Out(1), "u_negate": Out(1), "u_halve": Out(1), "u_busy": In(1),
            "sample": Out(range(max(2, params.batch))), "predict": Out(1),
            "negative": Out(1), "sign_state": Out(PRNG_BITS), "sign_load": In(1), "sign_value": In(PRNG_BITS),
        })

    def _program(self, m: Module, platform):
        """The program memory (its read port), the sign stream, the program counter and the
        instruction: where the board has the timing registers, a register after the program
        memory's read (a block RAM's slow output); else the read word, which reads only in FETCH
        and holds until the next (the register would be flip-flops that no LUT feeds, each a
        logic cell of its own on the iCE40)."""
        p = self.params
        rom = m.submodules.program = memory.Memory(shape=WORD_BITS, depth=PROGRAM_DEPTH, init=self.program)
        wr = rom.write_port()
        m.d.comb += [wr.addr.eq(self.prog.addr), wr.data.eq(self.prog.data), wr.en.eq(self.prog.en)]
        rd = block_read(m, rom, platform, "program")    # (read only from the start, written only before)
        signs = m.submodules.sign_stream = Xorshift32([stream_seed(p.seed, SIGN_STREAM)])
        m.d.comb += [self.sign_state.eq(signs.state), signs.load.eq(self.sign_load), signs.value.eq(self.sign_value)]
        pc = Signal(range(PROGRAM_DEPTH), name="pc")
        registered = p.timing_registers
        instr = Signal(INSTRUCTION, name="instr") if registered else data.View(INSTRUCTION, rd.data[:INSTRUCTION.size])
        m.d.comb += [rd.addr.eq(pc), self.op.eq(instr.op)]
        if not registered:
            m.d.comb += rd.en.eq(0)
        return rd, signs, pc, instr

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        rd, signs, pc, instr = self._program(m, platform)
        registered = p.timing_registers
        step = Signal(IMM_BITS)
        nudge = Mux(instr.nudge == Nudge.SIGMA, Mux(self.negative, Nudge.MINUS, Nudge.PLUS), instr.nudge)
        m.d.comb += [self.n_nudge.eq(nudge), self.u_negate.eq((instr.nudge == Nudge.SIGMA) & self.negative),
                     self.u_halve.eq(instr.imm == 2)]
        m.d.comb += self.n_drive.eq(instr.op == Op.DRIVE)

        slots = data.StructLayout({"src": 3, "src_slots": self.n_src_slots.shape(),
                                   "dst_slots": self.n_dst_slots.shape()})

        def step_slots(to, word, value) -> list:
            """Assignments of ``to`` (a ``slots`` view): the source code and both samples' slots
            of step ``value`` of instruction ``word``.  (The sample does not change between an
            instruction's decode and its end.)"""
            value = Value.cast(value)
            scratch = lambda s: Mux(s[0], SlotCode.PING, SlotCode.PONG)  # noqa: E731
            src, dst = Mux(value == 1, word.src, scratch(value - 1)), Mux(value == word.imm, word.dst, scratch(value))
            return [to.src.eq(src), *[to.src_slots[h].eq(slot_index(p, src, self.sample | h)) for h in range(2)],
                    *[to.dst_slots[h].eq(slot_index(p, dst, self.sample | h)) for h in range(2)]]

        def set_step(value, to):
            """``step`` ← ``value``, and its slots ``to`` (a ``slots`` view) with it: ``n_src`` and
            the slots are registers (the state memories' addresses are formed from them,
            timing), valid from the cycle ``step`` is."""
            m.d.sync += [step.eq(value), self.n_src.eq(to.src), self.n_src_slots.eq(to.src_slots),
                         self.n_dst_slots.eq(to.dst_slots)]

        # the next step's number, then its slots, each a register ahead (timing: the add, then
        # the compares and the slot numbers): ``step`` changes at most every other cycle, never
        # in the two after the decode sets it, and the instruction holds from its decode on;
        # without the timing registers the next step is ``following`` itself (the add's LUTs
        # then feed their register alone, and share a logic cell with it on the iCE40)
        following = Signal(IMM_BITS)
        ahead = Signal(slots)
        m.d.sync += [following.eq(step + 1), *step_slots(ahead, instr, following)]

        # whether a relaxation has steps to come, registered where the board has the timing
        # registers (it ends the neuron update's step at its last issue: a 98.8 MHz build's
        # critical path); ``step`` and the instruction hold for two cycles after either changes,
        # and it is read only later
        more = timing.ahead(m, p, (instr.op == Op.RELAX) & (step != instr.imm), "more")

        with m.FSM():
            with m.State("IDLE"):
                # (the program counter and the sample wait at 0, so that only done and the
                # state take the host's start: its decode was the path of routed builds)
                m.d.sync += [pc.eq(0), self.sample.eq(0)]
                with m.If(self.start):
                    m.d.sync += self.done.eq(0)
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += self.busy.eq(1)
                if not registered:
                    m.d.comb += rd.en.eq(1)
                m.next = "DECODE"
            with m.State("DECODE"):
                m.d.comb += self.busy.eq(1)
                if registered:
                    m.d.sync += instr.eq(rd.data)
                first = Signal(slots)
                m.d.comb += step_slots(first, data.View(INSTRUCTION, rd.data[:INSTRUCTION.size]), 1)
                set_step(1, first)
                m.next = "EXECUTE"
            with m.State("EXECUTE"):
                m.d.comb += [self.busy.eq(1), self.executing.eq(1)]
                m.next = "FETCH"
                with m.Switch(instr.op):
                    with m.Case(Op.HALT):
                        m.d.sync += self.done.eq(1)
                        m.next = "IDLE"
                    with m.Case(Op.DRIVE, Op.RELAX):
                        m.d.comb += self.n_start.eq(1)
                        m.next = "NEURON"
                    with m.Case(Op.UPDATE):
                        m.d.comb += self.u_start.eq(1)
                        m.next = "UPDATE"
                    with m.Case(Op.PREDICT):
                        m.d.comb += self.predict.eq(1)
                        m.d.sync += pc.eq(pc + 1)
                    with m.Case(Op.SIGN):
                        m.d.comb += signs.advance.eq(1)
                        m.d.sync += [self.negative.eq(~signs.draw[31]), pc.eq(pc + 1)]
                    with m.Case(Op.NEXT):
                        with m.If(self.sample != p.batch - p.halves):
                            m.d.sync += [self.sample.eq(self.sample + p.halves), pc.eq(instr.imm)]
                        with m.Else():
                            m.d.sync += [self.sample.eq(0), pc.eq(pc + 1)]
            with m.State("NEURON"):
                m.d.comb += [self.busy.eq(1), self.executing.eq(1), self.n_more.eq(more)]
                with m.If(self.n_next):
                    set_step(step + 1 if registered else following, ahead)
                with m.If(~self.n_busy):
                    with m.If(more):
                        # the next step starts at once; its slots follow ``step`` from the next
                        # cycle, the first in which the neuron update reads them
                        m.d.comb += self.n_start.eq(1)
                        set_step(step + 1 if registered else following, ahead)
                    with m.Else():
                        m.d.sync += pc.eq(pc + 1)
                        m.next = "FETCH"
            with m.State("UPDATE"):
                m.d.comb += [self.busy.eq(1), self.executing.eq(1)]
                with m.If(~self.u_busy):
                    m.d.sync += pc.eq(pc + 1)
                    m.next = "FETCH"
        return m
