"""The iCEBreaker top: the system (core, UART, protocol engine) on the board's pins.

The PLL makes the core clock from the 12 MHz oscillator (on a PLL input pad); the UART is on
the FT2232H's second channel (the board's USB port).  The green LED shows busy, the red one
error, and the break-off PMOD's LED 2 (``led_g`` 1, FPGA pin 27) done.
"""

from __future__ import annotations

from .ice40_pll import ice40_pll_config, sb_pll40_pad
from .top import BoardTop


class ICEBreakerTop(BoardTop):
    """The iCEBreaker's :class:`~.top.BoardTop` (``pll``: an :class:`~.ice40_pll.Ice40PllConfig`)."""

    OSCILLATOR_HZ = 12e6
    LEDS = (("led_g", 0), ("led_g", 1), ("led_r", 0))
    pll_config = staticmethod(ice40_pll_config)

    def clock(self, m, platform, clk, locked):
        return sb_pll40_pad(self.pll, platform.request("clk12", 0, dir="-").io, clk, locked)

    def led_pins(self, platform) -> list:
        platform.add_resources(platform.break_off_pmod)
        return super().led_pins(platform)
