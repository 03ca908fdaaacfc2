"""The ULX3S-85F top: the system (core, UART, protocol engine) on the board's pins.

The PLL makes the core clock from the 25 MHz oscillator; the UART is on the FT231X (the
board's USB port), LEDs 0, 1 and 2 show busy, done and error.
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
