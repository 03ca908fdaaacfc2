"""The iCEBreaker top: the system (core, UART, protocol engine) on the board's pins.

The PLL makes the core clock from the 12 MHz oscillator (on a PLL input pad); the UART is on
the FT2232H's second channel (the board's USB port).  The green LED shows busy, the red one
error, and the break-off PMOD's LED 2 (``led_g`` 1, FPGA pin 27) done.
"""

from __future__ import annotations

from amaranth import ClockDomain, Module, Signal
from amaranth.lib import wiring

from epfpga.hdl.params import CoreParams
from epfpga.hdl.system import System

from .ice40_pll import ice40_pll_config, sb_pll40_pad
from .pins import system_on_pins

OSCILLATOR_HZ = 12e6


class ICEBreakerTop(wiring.Component):
    """The system top of ``params`` at ``clock_hz`` (as near as the PLL makes it) and ``baud``.

    Attributes
    ----------
    system : System
        The design behind the pins (its descriptor reports the clock the PLL makes).
    pll : Ice40PllConfig
    """

    def __init__(self, params: CoreParams, clock_hz: float, baud: int):
        self.pll = ice40_pll_config(OSCILLATOR_HZ, clock_hz)
        self.system = System(params, round(self.pll.f_out_hz), baud)
        super().__init__({})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = sync = ClockDomain("sync")
        locked = Signal()
        pad = platform.request("clk12", 0, dir="-")
        m.submodules.pll = sb_pll40_pad(self.pll, pad.io, sync.clk, locked)
        m.d.comb += sync.rst.eq(~locked)
        m.submodules.system = self.system
        platform.add_resources(platform.break_off_pmod)
        system_on_pins(m, platform, self.system, (("led_g", 0), ("led_g", 1), ("led_r", 0)))
        return m
