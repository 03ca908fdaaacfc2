"""A run of bytes from the SDRAM: ``count`` bytes from a word address on, each word's low byte
first, as a stream (the code bytes of a resident record, ``docs/protocol.md`` §10).

The next word is read while the bytes of the one before go out, so a consumer that takes a byte
a cycle waits only for the SDRAM.  Its golden twin is :func:`epfpga.firmware.resident.word_bytes`.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.sdram import SDRAMChip

from .sdram_port import SDRAMAccess

#: Cycles from a word's answer to its first byte offered (it is held a cycle, then loaded).
LATENCY = 2


class SDRAMBytes(wiring.Component):
    """Bytes from SDRAM words.

    Attributes
    ----------
    start : In(1)
        A pulse: the run of :attr:`count` bytes from word :attr:`addr` (both read with it).
    addr : In(chip.address_bits)
    count : In(16)
    bytes : Out(stream.Signature(8))
    busy : Out(1)
        Bytes of the run are still to go out.
    sdram : Out(SDRAMAccess(chip))
        Reads only, one in flight.

    Latency: :data:`LATENCY` cycles from a word's answer to its first byte.
    """

    def __init__(self, chip: SDRAMChip):
        self.chip = chip
        super().__init__({"start": In(1), "addr": In(chip.address_bits), "count": In(16),
                          "bytes": Out(stream.Signature(8)), "busy": Out(1), "sdram": Out(SDRAMAccess(self.chip))})

    def elaborate(self, platform) -> Module:
        m = Module()
        addr = Signal(self.chip.address_bits)
        words_left, to_load = Signal(16), Signal(16)     # words to read; bytes not yet loaded to go out
        reading, waiting, waiting_word = Signal(), Signal(), Signal(16)   # a read in flight; a word read
        current, current_bytes = Signal(16), Signal(2)   # the word whose bytes go out, and how many are left
        sdram, out = self.sdram, self.bytes
        m.d.comb += [sdram.addr.eq(addr), out.valid.eq(current_bytes != 0), out.payload.eq(current[:8]),
                     self.busy.eq((to_load != 0) | (current_bytes != 0) | waiting | reading)]
        with m.If(~reading & ~waiting & (words_left != 0)):
            m.d.comb += sdram.re.eq(1)
            m.d.sync += reading.eq(1)
        with m.If(reading & sdram.rvalid):
            m.d.sync += [reading.eq(0), waiting.eq(1), waiting_word.eq(sdram.rdata), addr.eq(addr + 1),
                         words_left.eq(words_left - 1)]
        with m.If(out.valid & out.ready):
            m.d.sync += [current.eq(current >> 8), current_bytes.eq(current_bytes - 1)]
        with m.If((current_bytes == 0) & waiting):
            m.d.sync += [current.eq(waiting_word), current_bytes.eq(Mux(to_load >= 2, 2, 1)),
                         to_load.eq(Mux(to_load >= 2, to_load - 2, 0)), waiting.eq(0)]
        with m.If(self.start):
            m.d.sync += [addr.eq(self.addr), to_load.eq(self.count), words_left.eq((self.count + 1) >> 1)]
        return m
