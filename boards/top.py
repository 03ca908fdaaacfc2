"""What the board tops share: the system (core, UART, protocol engine) on a board's pins, its
clock from the board's PLL, its link on the board's USB-serial bridge, its flags on LEDs."""

from __future__ import annotations

from collections.abc import Callable

from amaranth import Cat, ClockDomain, Module, Signal, Value
from amaranth.lib import io, wiring

from epfpga.contract.params import CoreParams
from epfpga.hdl.system import System


def serial_line(m: Module, uart, ticks: int) -> tuple[Value, Value]:
    """The pins of ``uart`` (a platform's ``uart`` resource) through I/O buffers, ``ticks`` a
    cycle (:func:`~epfpga.hdl.uart.rate`): ``(rx, tx)``, the line's sample in each tick of a
    cycle and the level to drive in each, the earliest in bit 0.  Two ticks a cycle are the I/O
    cells' double-data-rate registers, which sample and drive the line on both clock edges."""
    if ticks == 1:
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        return rx.i, tx.o
    m.submodules.rx_buffer = rx = io.DDRBuffer("i", uart.rx)
    m.submodules.tx_buffer = tx = io.DDRBuffer("o", uart.tx)
    return Cat(rx.i[0], rx.i[1]), Cat(tx.o[0], tx.o[1])


class BoardTop(wiring.Component):
    """The system top of ``params`` at ``clock_hz`` (as near as the PLL makes it) and ``baud``.

    A board names its oscillator (``OSCILLATOR_HZ``), the LEDs of busy, done and error
    (``LEDS``: resource name and number), its PLL's dividers (``pll_config``) and the PLL
    itself, fed from the clock pin (:meth:`clock`).

    Attributes
    ----------
    system : System
        The design behind the pins (its descriptor reports the clock the PLL makes).
    pll
        The PLL's dividers.
    """

    OSCILLATOR_HZ: float
    LEDS: tuple[tuple[str, int], ...]
    pll_config: Callable[[float, float], object]

    def __init__(self, params: CoreParams, clock_hz: float, baud: int):
        self.pll = self.pll_config(self.OSCILLATOR_HZ, clock_hz)
        self.system = System(params, round(self.pll.f_out_hz), baud)
        super().__init__({})

    def clock(self, m: Module, platform, clk, locked):
        """The PLL instance: ``clk`` out, ``locked`` high once it is."""
        raise NotImplementedError

    def led_pins(self, platform) -> list:
        return [platform.request(name, number, dir="-") for name, number in self.LEDS]

    def sdram(self, m: Module, platform) -> None:
        """The system's SDRAM on the board's chip (only a board that has one overrides this;
        the config refuses ``hardware.sdram`` elsewhere)."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = sync = ClockDomain("sync")
        locked = Signal()
        m.submodules.pll = self.clock(m, platform, sync.clk, locked)
        m.d.comb += sync.rst.eq(~locked)
        if self.system.params.sdram:
            self.sdram(m, platform)
        m.submodules.system = system = self.system
        rx, tx = serial_line(m, platform.request("uart", 0, dir="-"), system.ticks)
        m.d.comb += [system.rx.eq(rx), tx.eq(system.tx)]
        for k, (pin, flag) in enumerate(zip(self.led_pins(platform), (system.busy, system.done, system.error),
                                            strict=True)):
            buffer = m.submodules[f"led{k}_buffer"] = io.Buffer("o", pin)
            m.d.comb += buffer.o.eq(flag)
        return m
