"""The SDRAM's checksum: the CRC-32 of a range of its words, computed by the device.

A host that uploads a data set into the SDRAM checks what the chip holds, not what crossed the
link (each frame has its CRC already): it reads back one number a range instead of the range.
Region ``SDRAM_CRC`` of the host bus has three registers: ``FIRST`` (a word address), ``COUNT``
(words) and ``CRC``, whose read reads the words ``[FIRST, FIRST + COUNT)`` from the SDRAM and
is answered, when the last is in, with their :func:`zlib.crc32` (each word low byte first).
While it runs, the engine waits for that answer, so nothing else reaches the SDRAM.  Its golden
twin is ``zlib.crc32`` over the words.
"""

from __future__ import annotations

import enum

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import HOST_DATA_BITS
from epfpga.contract.sdram import SDRAMChip

from .crc import CRC32_MASK, crc32_next
from .sdram_port import SDRAMAccess


class ChecksumReg(enum.IntEnum):
    FIRST = 0
    COUNT = 1
    CRC = 2


class SDRAMChecksum(wiring.Component):
    """The ``SDRAM_CRC`` registers on the host bus, and the reads of the range.

    Attributes
    ----------
    addr : In(2)
        The register.
    wdata : In(HOST_DATA_BITS)
    we, re : In(1)
        A write (taken at once: ``wready`` is 1) or a read (a pulse ``rvalid`` answers).
    wready, rvalid : Out(1)
    rdata : Out(HOST_DATA_BITS)
    busy : Out(1)
        The range is being read: ``sdram`` drives the SDRAM's port.
    sdram : Out(SDRAMAccess(chip))

    Latency: ``FIRST`` and ``COUNT`` answer a cycle after ``re``; ``CRC`` after the range's
    reads, one at a time (each waits for its word).
    """

    def __init__(self, chip: SDRAMChip):
        self.chip = chip
        super().__init__({"addr": In(2), "wdata": In(HOST_DATA_BITS), "we": In(1), "re": In(1),
                          "wready": Out(1), "rvalid": Out(1), "rdata": Out(HOST_DATA_BITS), "busy": Out(1),
                          "sdram": Out(SDRAMAccess(chip))})

    def elaborate(self, platform) -> Module:
        m = Module()
        first = Signal(self.chip.address_bits)
        count = Signal(self.chip.address_bits + 1)
        crc = Signal(32)
        cursor, left = Signal.like(first), Signal.like(count)
        m.d.comb += [self.wready.eq(1), self.sdram.addr.eq(cursor)]
        with m.If(self.we & (self.addr == ChecksumReg.FIRST)):
            m.d.sync += first.eq(self.wdata)
        with m.If(self.we & (self.addr == ChecksumReg.COUNT)):
            m.d.sync += count.eq(self.wdata)
        with m.FSM():
            with m.State("IDLE"):
                m.d.sync += [self.rvalid.eq(0), crc.eq(CRC32_MASK), cursor.eq(first), left.eq(count)]
                with m.If(self.re):
                    with m.Switch(self.addr):
                        with m.Case(ChecksumReg.FIRST):
                            m.d.sync += [self.rdata.eq(first), self.rvalid.eq(1)]
                        with m.Case(ChecksumReg.COUNT):
                            m.d.sync += [self.rdata.eq(count), self.rvalid.eq(1)]
                        with m.Default():
                            m.next = "NEXT"
            with m.State("NEXT"):    # the next word's read, or the answer
                m.d.comb += self.busy.eq(1)
                with m.If(left == 0):
                    m.d.sync += [self.rdata.eq(crc ^ CRC32_MASK), self.rvalid.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.sdram.re.eq(1)
                    m.next = "WORD"
            with m.State("WORD"):
                m.d.comb += self.busy.eq(1)
                with m.If(self.sdram.rvalid):
                    m.d.sync += [crc.eq(crc32_next(crc, self.sdram.rdata)), cursor.eq(cursor + 1), left.eq(left - 1)]
                    m.next = "NEXT"
        return m
