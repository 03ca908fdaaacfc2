"""The resident feeder: one mini-batch from the training set in the SDRAM into an input bank of
the core (``docs/protocol.md`` §11).

For each of the mini-batch's ``B`` permutation entries it reads the sample's number, its
record's address from the index, the record's label and code count, then the code bytes
(:class:`~.sdram_bytes.SDRAMBytes`), which go through an :class:`~.input_expander.InputExpander`
(the input table's copy, written with the engine's) into the bank's inputs, one value a cycle,
the unused lanes of the sample's last word as zeros, and the label last.  A record that does not expand to the inputs a sample, or whose
label is not a class, stops the feeder with :attr:`fault`.  Its golden twin is
:func:`epfpga.firmware.resident.feed`.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.address_map import REGION_SHIFT, Region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import Coding
from epfpga.contract.resident import HEADER_WORDS, INDEX_WORDS
from epfpga.contract.sdram import SDRAMChip

from .bus_arbiter import BusMaster
from .input_expander import InputExpander, TableWrite
from .sdram_bytes import SDRAMBytes
from .sdram_port import SDRAMAccess

#: The words of a sample read before its codes: its permutation entry, its index entry, its label
#: and its code count.
HEAD_WORDS = 2 * INDEX_WORDS + 2


class LabelWrite(wiring.Signature):
    """A label as it goes into the core's bank, for the runner's count of errors: the bank's
    slot ``bank·B + b``."""

    def __init__(self, params: CoreParams):
        super().__init__({"addr": Out(range(2 * params.batch)), "data": Out(params.label_bits), "en": Out(1)})


class ResidentFeeder(wiring.Component):
    """One mini-batch from the SDRAM into an input bank.

    Parameters
    ----------
    params : CoreParams
    chip : SDRAMChip

    Attributes
    ----------
    start : In(1)
        A pulse: feed the ``B`` samples whose permutation entries start at :attr:`entry` into
        input bank :attr:`bank` (both held until :attr:`busy` falls).
    entry : In(chip.address_bits)
    bank : In(1)
    busy : Out(1)
    fault : Out(1)
        The last mini-batch stopped at a damaged record: :attr:`sample`'s (held until ``start``).
    sample : Out(32)
        The sample being fed (the permutation entry's number).
    sdram : Out(SDRAMAccess(chip))
    bus : Out(BusMaster())
        The core's host bus: writes of regions ``X`` and ``Y``.
    labels : Out(LabelWrite(params))
    table : In(TableWrite(params.input_bits))
        Writes of the input table.

    Latency: the reads of the SDRAM, one at a time; the next code word is read while the bytes
    of one expand (:class:`~.sdram_bytes.SDRAMBytes`), and values are written one a cycle while
    the bus is granted.
    """

    def __init__(self, params: CoreParams, chip: SDRAMChip):
        self.params, self.chip = params, chip
        super().__init__({
            "start": In(1), "entry": In(chip.address_bits), "bank": In(1), "busy": Out(1), "fault": Out(1),
            "sample": Out(32), "sdram": Out(SDRAMAccess(chip)), "bus": Out(BusMaster()),
            "labels": Out(LabelWrite(params)), "table": In(TableWrite(params.input_bits)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p, chip = self.params, self.chip
        B, inputs = p.batch, p.sizes[0]
        padded = p.groups(inputs) * p.lanes            # values a sample writes, its last word's zeros too
        sample_span = p.input_stride << p.lane_bits    # offsets from one sample's inputs to the next's
        expander = m.submodules.expander = InputExpander(p.input_bits)
        codes = m.submodules.codes = SDRAMBytes(chip)
        wiring.connect(m, wiring.flipped(self.table), expander.table)
        wiring.connect(m, codes.bytes, expander.codes)
        m.d.comb += expander.coding.eq(Coding.ZERO_RUNS)

        b = Signal(range(B))
        addr = Signal(chip.address_bits)        # the next SDRAM word to read
        cursor = Signal(chip.address_bits)      # the sample's permutation entry
        base = Signal(REGION_SHIFT)             # the sample's first input offset in region X
        slot = Signal(range(2 * B))             # the sample's label offset in region Y
        field = Signal(range(HEAD_WORDS))
        record = Signal(chip.address_bits)
        label = Signal(16)
        j = Signal(range(padded + 1))           # values written
        excess = Signal()                       # a value came after the inputs a sample
        at = Signal(REGION_SHIFT)               # value j's offset in region X, base + j (a register: timing)
        x_offset = (Region.X << REGION_SHIFT) | at

        sdram, bus = self.sdram, self.bus
        m.d.comb += [self.labels.addr.eq(slot), self.labels.data.eq(label), codes.count.eq(sdram.rdata)]
        with m.If(codes.busy):    # (the code bytes' reads; the rest are the head's)
            m.d.comb += [sdram.addr.eq(codes.sdram.addr), sdram.re.eq(codes.sdram.re)]
        with m.Else():
            m.d.comb += sdram.addr.eq(addr)
        m.d.comb += [codes.sdram.rvalid.eq(sdram.rvalid & codes.busy), codes.sdram.rdata.eq(sdram.rdata)]

        def next_sample():
            with m.If(b == B - 1):
                m.next = "IDLE"
            with m.Else():
                m.d.sync += [b.eq(b + 1), cursor.eq(cursor + INDEX_WORDS), addr.eq(cursor + INDEX_WORDS),
                             base.eq(base + sample_span), slot.eq(slot + 1), field.eq(0)]
                m.next = "HEAD"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [b.eq(0), cursor.eq(self.entry), addr.eq(self.entry), field.eq(0),
                                 base.eq(Mux(self.bank, B * sample_span, 0)), slot.eq(Mux(self.bank, B, 0)),
                                 self.fault.eq(0)]
                    m.next = "HEAD"
            # the permutation entry, the index entry, the label and the code count, one read each
            with m.State("HEAD"):
                m.d.comb += [self.busy.eq(1), sdram.re.eq(1)]
                m.next = "HEAD_WORD"
            with m.State("HEAD_WORD"):
                m.d.comb += self.busy.eq(1)
                with m.If(sdram.rvalid):
                    word = sdram.rdata
                    m.d.sync += [field.eq(field + 1), addr.eq(addr + 1)]
                    m.next = "HEAD"
                    with m.Switch(field):
                        with m.Case(0):
                            m.d.sync += self.sample[:16].eq(word)
                        with m.Case(1):
                            m.d.sync += [self.sample[16:].eq(word),
                                         addr.eq(HEADER_WORDS + INDEX_WORDS * Cat(self.sample[:16], word))]
                        with m.Case(2):
                            m.d.sync += record[:16].eq(word)
                        with m.Case(3):
                            m.d.sync += addr.eq(Cat(record[:16], word))
                        with m.Case(4):
                            m.d.sync += label.eq(word)
                        with m.Case(5):    # (addr + 1: the first code word)
                            m.d.comb += [expander.clear.eq(1), codes.start.eq(1), codes.addr.eq(addr + 1)]
                            m.d.sync += [j.eq(0), at.eq(base), excess.eq(0)]
                            m.next = "CODES"
            with m.State("CODES"):
                m.d.comb += self.busy.eq(1)
                with m.If(~codes.busy & ~expander.busy):
                    with m.If(expander.pending | excess | (j != inputs)):
                        m.d.sync += self.fault.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "PAD"
            with m.State("PAD"):    # the unused lanes of the sample's last word
                m.d.comb += self.busy.eq(1)
                with m.If(j == padded):
                    m.next = "LABEL"
                with m.Else():
                    m.d.comb += [bus.we.eq(1), bus.addr.eq(x_offset)]
                    with m.If(bus.grant):
                        m.d.sync += [j.eq(j + 1), at.eq(at + 1)]
            with m.State("LABEL"):
                m.d.comb += self.busy.eq(1)
                with m.If(label >= p.classes):
                    m.d.sync += self.fault.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += [bus.we.eq(1), bus.addr.eq((Region.Y << REGION_SHIFT) | slot), bus.wdata.eq(label)]
                    with m.If(bus.grant):
                        m.d.comb += self.labels.en.eq(1)
                        next_sample()

        # the expander's values into the bank, one a cycle while the bus is granted; one past the
        # inputs a sample is not written, and makes the record a fault
        with m.If(expander.values.valid):
            with m.If(j == inputs):
                m.d.comb += expander.values.ready.eq(1)
                m.d.sync += excess.eq(1)
            with m.Else():
                m.d.comb += [bus.we.eq(1), bus.addr.eq(x_offset), bus.wdata.eq(expander.values.payload),
                             expander.values.ready.eq(bus.grant)]
                with m.If(bus.grant):
                    m.d.sync += [j.eq(j + 1), at.eq(at + 1)]
        return m
