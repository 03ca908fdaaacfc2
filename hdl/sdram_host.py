"""The board's SDRAM as two regions of the host bus: its words (``SDRAM``) and the checksum of
a range of them (``SDRAM_CRC``), behind the controller (``docs/architecture.md``).

The protocol engine's reads and writes of those regions come here; the controller, the
single-word port and the checksum share the SDRAM, the checksum taking it while it reads a range
(the engine then waits for its answer, so the two never ask at once), and the epoch runner's
feeder while it runs (the engine's requests of the SDRAM are then refused, ``hdl/frame_check.py``).
"""

from __future__ import annotations

from amaranth import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.address_map import REGION_SHIFT, Region
from epfpga.contract.params import HOST_DATA_BITS
from epfpga.contract.sdram import SDRAMChip

from .sdram import SDRAMController, SDRAMPins
from .sdram_crc import SDRAMChecksum
from .sdram_port import SDRAMAccess, SDRAMPort


class SDRAMHost(wiring.Component):
    """Regions ``SDRAM`` and ``SDRAM_CRC`` of the host bus, for ``chip`` at ``clock_hz`` with
    data pins ``dq`` (an ``IOPort``).

    Attributes
    ----------
    addr : In(32)
        A host-bus address in one of the two regions.
    wdata : In(HOST_DATA_BITS)
    we, re : In(1)
        ``we`` held until ``wready``; ``re`` a pulse that ``rvalid`` answers.
    wready, rvalid : Out(1)
    rdata : Out(HOST_DATA_BITS)
    busy : Out(1)
        The chip is being brought up, or an access or a checksum is in flight.
    feeder : In(SDRAMAccess(chip))
        The epoch runner's reads, while ``resident``.
    resident : In(1)
    pins : Out(SDRAMPins(chip))
    """

    def __init__(self, chip: SDRAMChip, clock_hz: int, dq):
        self.chip, self.clock_hz, self.dq = chip, clock_hz, dq
        super().__init__({"addr": In(32), "wdata": In(HOST_DATA_BITS), "we": In(1), "re": In(1),
                          "wready": Out(1), "rvalid": Out(1), "rdata": Out(HOST_DATA_BITS), "busy": Out(1),
                          "feeder": In(SDRAMAccess(chip)), "resident": In(1), "pins": Out(SDRAMPins(chip))})

    def elaborate(self, platform) -> Module:
        m = Module()
        controller = m.submodules.controller = SDRAMController(self.chip, self.clock_hz, self.dq)
        port = m.submodules.port = SDRAMPort(self.chip)
        checksum = m.submodules.checksum = SDRAMChecksum(self.chip)
        wiring.connect(m, port.cmd, controller.cmd)
        wiring.connect(m, port.wr, controller.wdata)
        wiring.connect(m, controller.rdata, port.rd)
        wiring.connect(m, controller.pins, wiring.flipped(self.pins))

        words = self.addr[REGION_SHIFT:] == Region.SDRAM
        bus, mine, feeder = port.bus, checksum.sdram, self.feeder
        # (the write data whoever asks: only the engine writes, and the chip's data pins' output
        # registers stay off the selects: timing)
        m.d.comb += [feeder.rvalid.eq(bus.rvalid & self.resident), feeder.rdata.eq(bus.rdata), bus.wdata.eq(self.wdata)]
        with m.If(self.resident):
            m.d.comb += [bus.addr.eq(feeder.addr), bus.re.eq(feeder.re)]
        with m.Elif(checksum.busy):   # the checksum reads the range; the engine waits for it
            m.d.comb += [bus.addr.eq(mine.addr), bus.re.eq(mine.re)]
        with m.Else():
            m.d.comb += [bus.addr.eq(self.addr), bus.we.eq(self.we & words), bus.re.eq(self.re & words)]
        m.d.comb += [
            mine.rvalid.eq(bus.rvalid & checksum.busy), mine.rdata.eq(bus.rdata),
            checksum.addr.eq(self.addr), checksum.wdata.eq(self.wdata),
            checksum.we.eq(self.we & ~words), checksum.re.eq(self.re & ~words),
            self.wready.eq(Mux(words, bus.wready, checksum.wready)),
            self.rvalid.eq((bus.rvalid & ~checksum.busy & ~self.resident) | checksum.rvalid),
            self.rdata.eq(Mux(checksum.rvalid, checksum.rdata, bus.rdata)),
            self.busy.eq(~controller.ready | port.busy | checksum.busy),
        ]
        return m
