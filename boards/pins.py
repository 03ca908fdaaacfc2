"""What the board tops share: the system on the board's UART and status LEDs."""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import io

from epfpga.hdl.system import System


def system_on_pins(m: Module, platform, system: System, leds: tuple[tuple[str, int], ...]) -> None:
    """``system``'s link on UART 0 and its busy, done and error flags on ``leds`` (resource name
    and number, in that order), through the I/O buffers of the platform's pins."""
    uart = platform.request("uart", 0, dir="-")
    m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
    m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
    m.d.comb += [system.rx.eq(rx.i), tx.o.eq(system.tx)]
    for (name, number), flag in zip(leds, (system.busy, system.done, system.error), strict=True):
        buffer = m.submodules[f"{name}{number}_buffer"] = io.Buffer("o", platform.request(name, number, dir="-"))
        m.d.comb += buffer.o.eq(flag)
