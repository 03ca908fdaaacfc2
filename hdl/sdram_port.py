"""The SDRAM on the host bus: the protocol engine's reads and writes of region ``SDRAM`` as
commands of the controller's native port, one word at a time.

The host has no throughput need here beyond the link's (a word is two bytes on a wire of a few
Mbaud), so the port keeps one access in flight and waits for each: a write is taken (``wready``)
when the controller has taken its data, a read answers (``rvalid``) when its word is back.  The
controller always answers (a refresh or the power-up sequence only delays it), so neither wait
can hang.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.sdram import SDRAMChip

from .sdram import command_layout, write_layout


class SDRAMAccess(wiring.Signature):
    """One word of the SDRAM at a time, from the side that asks: ``we`` held until ``wready``,
    ``re`` a pulse that ``rvalid`` answers with ``rdata``."""

    def __init__(self, chip: SDRAMChip):
        super().__init__({"addr": Out(chip.address_bits), "wdata": Out(chip.data_bits), "we": Out(1), "re": Out(1),
                          "wready": In(1), "rvalid": In(1), "rdata": In(chip.data_bits)})


class SDRAMPort(wiring.Component):
    """Accesses of single words of the SDRAM, on the controller's native port.

    Attributes
    ----------
    bus : In(SDRAMAccess(chip))
    busy : Out(1)
        An access is in flight.
    cmd, wr, rd : the controller's native port (:class:`~.sdram.SDRAMController`'s ``cmd``,
        ``wdata`` and ``rdata``), to be connected to it.

    Latency: a write is taken at least two cycles after ``we`` rises, a read answered at least
    two after ``re``; the controller adds its own (a row to open, a refresh).
    """

    def __init__(self, chip: SDRAMChip):
        super().__init__({
            "bus": In(SDRAMAccess(chip)), "busy": Out(1),
            "cmd": Out(stream.Signature(command_layout(chip))), "wr": Out(stream.Signature(write_layout(chip))),
            "rd": In(stream.Signature(chip.data_bits)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        bus = self.bus
        addr, write = Signal.like(bus.addr), Signal()
        m.d.comb += [self.cmd.payload.addr.eq(addr), self.cmd.payload.we.eq(write), self.wr.payload.data.eq(bus.wdata),
                     self.wr.payload.we.eq(0b11), bus.rdata.eq(self.rd.payload)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.sync += [addr.eq(bus.addr), write.eq(~bus.re)]
                with m.If(bus.re | bus.we):
                    m.next = "COMMAND"
            with m.State("COMMAND"):
                m.d.comb += [self.cmd.valid.eq(1), self.busy.eq(1)]
                with m.If(self.cmd.ready):
                    m.next = "DATA"
                    with m.If(~write):
                        m.next = "AWAIT"
            with m.State("AWAIT"):
                m.d.comb += [self.rd.ready.eq(1), bus.rvalid.eq(self.rd.valid), self.busy.eq(1)]
                with m.If(self.rd.valid):
                    m.next = "IDLE"
            with m.State("DATA"):
                m.d.comb += [self.wr.valid.eq(1), bus.wready.eq(self.wr.ready), self.busy.eq(1)]
                with m.If(self.wr.ready):
                    m.next = "IDLE"
        return m
