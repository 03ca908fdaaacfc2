"""The input expander: an ``INPUTS`` frame's codes in, input values out (``docs/protocol.md`` §3).

A data set whose inputs are bytes crosses the link as bytes, one a pixel, and zero runs may be
coded (:class:`~epfpga.contract.protocol.Coding`).  The device expands every byte through the
input table, 256 values the host writes once (region ``TABLE``), so the host's quantisation is
the table and the expansion is exact whatever ``input_frac`` is.  Its golden twin is
:func:`~epfpga.contract.protocol.expand` followed by the table.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from epfpga.contract.protocol import MAX_RUN, TABLE_ENTRIES, Coding

#: Cycles from a code byte taken to its first value offered.
LATENCY = 1


class TableWrite(wiring.Signature):
    """A write of one input table entry."""

    def __init__(self, value_bits: int):
        super().__init__({"addr": Out(ceil_log2(TABLE_ENTRIES)), "data": Out(value_bits), "en": Out(1)})


class InputExpander(wiring.Component):
    """Code bytes in, one input value a cycle out.

    A byte other than 0 is one value, ``table[byte]``.  Under :attr:`Coding.ZERO_RUNS` a 0 is
    the start of a run whose length ``r + 1`` the next byte gives, and the run is ``r + 1``
    values of ``table[0]``; under :attr:`Coding.BYTES` a 0 is a value like any other.  The
    table is a block RAM, its read register the output register.

    Parameters
    ----------
    value_bits : int
        Of an input value (the core's ``input_bits``).

    Attributes
    ----------
    coding : In(Coding)
        Held for a frame's codes.
    codes : In(stream.Signature(8))
    values : Out(stream.Signature(value_bits))
    table : In(TableWrite(value_bits))
        Writes of the table; none while codes are expanded.
    pending : Out(1)
        A 0 was taken and its run length was not: codes that end here are malformed.
    busy : Out(1)
        Values of the codes taken are still to come.
    clear : In(1)
        Forget the codes taken (their run, their values to come): a new pass over codes follows.

    Latency: :data:`LATENCY` cycle from a code to its value; a run's values follow one a cycle.
    """

    def __init__(self, value_bits: int):
        self.value_bits = value_bits
        super().__init__({
            "coding": In(Coding), "codes": In(stream.Signature(8)), "values": Out(stream.Signature(value_bits)),
            "table": In(TableWrite(value_bits)), "pending": Out(1), "busy": Out(1),
            "clear": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        table = m.submodules.table = memory.Memory(shape=self.value_bits, depth=TABLE_ENTRIES, init=[])
        wr, rd = table.write_port(), table.read_port()
        m.d.comb += [wr.addr.eq(self.table.addr), wr.data.eq(self.table.data), wr.en.eq(self.table.en)]

        run_left = Signal(range(MAX_RUN))     # values of the current run after the one being read
        advance = ~self.values.valid | self.values.ready
        byte = self.codes.payload
        starts_run = (self.coding == Coding.ZERO_RUNS) & (byte == 0) & ~self.pending
        m.d.comb += [rd.en.eq(advance), self.values.payload.eq(rd.data),
                     self.busy.eq(self.values.valid | (run_left != 0))]
        with m.If(advance):
            m.d.sync += self.values.valid.eq(0)
            with m.If(run_left != 0):
                m.d.comb += rd.addr.eq(0)
                m.d.sync += [self.values.valid.eq(1), run_left.eq(run_left - 1)]
            with m.Elif(self.codes.valid):
                m.d.comb += [self.codes.ready.eq(1), rd.addr.eq(Mux(self.pending, 0, byte))]
                m.d.sync += [self.values.valid.eq(~starts_run), self.pending.eq(starts_run)]
                with m.If(self.pending):
                    m.d.sync += run_left.eq(byte)
        with m.If(self.clear):
            m.d.sync += [self.values.valid.eq(0), self.pending.eq(0), run_left.eq(0)]
        return m
