"""The SDRAM controller: LiteDRAM's core behind typed streams, ready once the chip is up.

The user side is LiteDRAM's native port as three :mod:`amaranth.lib.stream` streams: commands
(a word address and read or write), write data with its byte enables, read data in command
order.  The chip side is its pins; the data pins are an ``IOPort`` the caller passes in (the
board's ``sdram`` resource, or a top-level port in simulation), because LiteDRAM's own ECP5
I/O registers and ``TRELLIS_IO`` buffers drive them.  ``ready`` rises when
:class:`~epfpga.hdl.sdram_init.SDRAMInit` has run the power-up sequence; LiteDRAM takes no
command before it.
"""

from __future__ import annotations

from amaranth import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.sdram import SDRAMChip

from .litedram import CORE, generate, init_steps
from .sdram_init import SDRAMInit


class SDRAMPins(wiring.Signature):
    """An SDR SDRAM's pins other than its clock and data (active-low where named ``_n``)."""

    def __init__(self, chip: SDRAMChip):
        super().__init__({"a": Out((chip.rows - 1).bit_length()), "ba": Out((chip.banks - 1).bit_length()),
                          "cs_n": Out(1), "ras_n": Out(1), "cas_n": Out(1), "we_n": Out(1), "cke": Out(1),
                          "dm": Out(chip.data_bits // 8)})


def command_layout(chip: SDRAMChip) -> data.StructLayout:
    return data.StructLayout({"addr": chip.address_bits, "we": 1})


def write_layout(chip: SDRAMChip) -> data.StructLayout:
    return data.StructLayout({"data": chip.data_bits, "we": chip.data_bits // 8})


class SDRAMController(wiring.Component):
    """LiteDRAM's controller for ``chip`` at ``clock_hz`` (the ``sync`` domain's clock).

    Attributes
    ----------
    cmd : In(stream.Signature(command_layout(chip)))
        A word address (row, bank, column from the top) and whether it is a write.
    wdata : In(stream.Signature(write_layout(chip)))
        One word a write command, with its byte enables.
    rdata : Out(stream.Signature(chip.data_bits))
        One word a read command, in order.
    ready : Out(1)
        The chip is initialised; commands are taken from here on.
    pins : Out(SDRAMPins(chip))
    """

    def __init__(self, chip: SDRAMChip, clock_hz: int, dq):
        self.chip, self.clock_hz, self.dq = chip, clock_hz, dq
        self.core = generate(chip, clock_hz)
        super().__init__({"cmd": In(stream.Signature(command_layout(chip))),
                          "wdata": In(stream.Signature(write_layout(chip))),
                          "rdata": Out(stream.Signature(chip.data_bits)),
                          "ready": Out(1), "pins": Out(SDRAMPins(chip))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.init = init = SDRAMInit(init_steps(self.chip, self.clock_hz), self.core.registers)
        if platform is not None:
            platform.add_file(f"{CORE}.v", self.core.verilog)
        bus, pins, cmd, wdata, rdata = init.bus, self.pins, self.cmd, self.wdata, self.rdata
        m.submodules.litedram = Instance(
            CORE,
            i_clk=ClockSignal(), i_rst=ResetSignal(), o_init_done=self.ready,
            o_sdram_a=pins.a, o_sdram_ba=pins.ba, o_sdram_cs_n=pins.cs_n, o_sdram_ras_n=pins.ras_n,
            o_sdram_cas_n=pins.cas_n, o_sdram_we_n=pins.we_n, o_sdram_cke=pins.cke, o_sdram_dm=pins.dm,
            io_sdram_dq=self.dq,
            i_wb_ctrl_adr=bus.adr, i_wb_ctrl_dat_w=bus.dat_w, o_wb_ctrl_dat_r=bus.dat_r, i_wb_ctrl_sel=bus.sel,
            i_wb_ctrl_cyc=bus.cyc, i_wb_ctrl_stb=bus.stb, i_wb_ctrl_we=bus.we, o_wb_ctrl_ack=bus.ack,
            i_wb_ctrl_cti=0, i_wb_ctrl_bte=0,
            i_user_port_native_0_cmd_valid=cmd.valid,
            o_user_port_native_0_cmd_ready=cmd.ready,
            i_user_port_native_0_cmd_we=cmd.payload.we,
            i_user_port_native_0_cmd_addr=cmd.payload.addr,
            i_user_port_native_0_wdata_valid=wdata.valid,
            o_user_port_native_0_wdata_ready=wdata.ready,
            i_user_port_native_0_wdata_data=wdata.payload.data,
            i_user_port_native_0_wdata_we=wdata.payload.we,
            o_user_port_native_0_rdata_valid=rdata.valid,
            i_user_port_native_0_rdata_ready=rdata.ready,
            o_user_port_native_0_rdata_data=rdata.payload)
        return m
