"""The ULX3S-85F top: the system (core, UART, protocol engine) on the board's pins.

The PLL makes the core clock from the 25 MHz oscillator; the UART is on the FT231X (the
board's USB port), LEDs 0, 1 and 2 show busy, done and error.  With ``hardware.sdram`` the
system's SDRAM controller drives the board's SDRAM, its clock the system clock inverted.
"""

from __future__ import annotations

from amaranth.lib import io

from .ecp5_pll import ehxplll, pll_config
from .top import BoardTop


class ULX3STop(BoardTop):
    """The ULX3S-85F's :class:`~.top.BoardTop` (``pll``: a :class:`~.ecp5_pll.PllConfig`)."""

    OSCILLATOR_HZ = 25e6
    LEDS = (("led", 0), ("led", 1), ("led", 2))
    pll_config = staticmethod(pll_config)

    def clock(self, m, platform, clk, locked):
        m.submodules.clk25_buffer = clk25 = io.Buffer("i", platform.request("clk25", 0, dir="-"))
        return ehxplll(self.pll, clk25.i, clk, locked)

    def sdram(self, m, platform):
        pins = platform.request("sdram", 0, dir="-")
        # LiteDRAM's TRELLIS_IO buffers and I/O registers drive the data pins themselves; the
        # other outputs leave its I/O registers through plain output buffers.
        self.system.sdram_dq = pins.dq.io
        # The chip clocks half a period after the system (LiteDRAM's GENSDRPHY reads the data
        # CAS latency edges after the command): low after the rising edge, high after the falling.
        m.submodules.sdram_clk = clk = io.DDRBuffer("o", pins.clk)
        m.d.comb += [clk.o[0].eq(0), clk.o[1].eq(1)]
        # (amaranth-boards names the active-low pins by their function, inverted: LiteDRAM drives
        # their levels, so the inversion comes off)
        board = {"a": pins.a, "ba": pins.ba, "cs_n": ~pins.cs, "ras_n": ~pins.ras, "cas_n": ~pins.cas,
                 "we_n": ~pins.we, "cke": pins.clk_en, "dm": pins.dqm}
        for name, pin in board.items():
            buffer = m.submodules[f"sdram_{name}"] = io.Buffer("o", pin)
            m.d.comb += buffer.o.eq(getattr(self.system.sdram, name))
