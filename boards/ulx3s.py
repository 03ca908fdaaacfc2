"""The ULX3S-85F top: the system (core, UART, protocol engine) on the board's pins.

The PLL makes the core clock from the 25 MHz oscillator; the UART is on the FT231X (the
board's USB port), LEDs 0, 1 and 2 show busy, done and error.
"""

from __future__ import annotations

from amaranth import ClockDomain, Module, Signal
from amaranth.lib import io, wiring

from epfpga.hdl.params import CoreParams
from epfpga.hdl.system import System

from .ecp5_pll import ehxplll, pll_config
from .pins import system_on_pins

OSCILLATOR_HZ = 25e6


class ULX3STop(wiring.Component):
    """The system top of ``params`` at ``clock_hz`` (as near as the PLL makes it) and ``baud``.

    Attributes
    ----------
    system : System
        The design behind the pins (its descriptor reports the clock the PLL makes).
    pll : PllConfig
    """

    def __init__(self, params: CoreParams, clock_hz: float, baud: int):
        self.pll = pll_config(OSCILLATOR_HZ, clock_hz)
        self.system = System(params, round(self.pll.f_out_hz), baud)
        super().__init__({})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = sync = ClockDomain("sync")
        locked = Signal()
        m.submodules.clk25_buffer = clk25 = io.Buffer("i", platform.request("clk25", 0, dir="-"))
        m.submodules.pll = ehxplll(self.pll, clk25.i, sync.clk, locked)
        m.d.comb += sync.rst.eq(~locked)
        m.submodules.system = self.system
        system_on_pins(m, platform, self.system, (("led", 0), ("led", 1), ("led", 2)))
        return m
