"""The SDRAM's power-up sequence, replayed over LiteDRAM's control port at reset.

LiteDRAM without a CPU leaves the chip's initialisation to whoever drives its Wishbone control
port; on a LiteX SoC it is the BIOS.  Here it is a small ROM of register writes
(:func:`~epfpga.hdl.litedram.init_steps`, the datasheet's order and waits), each followed by its
wait in clocks, so the controller is ready without a processor and without the host.  Its
golden twin is the list of steps itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from amaranth import Module, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .litedram import InitStep


class ControlBus(wiring.Signature):
    """LiteDRAM's Wishbone (classic) control port, from the master's side: 32-bit data, word
    addresses."""

    def __init__(self):
        super().__init__({"adr": Out(30), "dat_w": Out(32), "dat_r": In(32), "sel": Out(4),
                          "cyc": Out(1), "stb": Out(1), "we": Out(1), "ack": In(1)})


class SDRAMInit(wiring.Component):
    """Write each step's value to its register, then wait its clocks; then ``done``.

    Parameters
    ----------
    steps : sequence of InitStep
    registers : mapping
        Each register name's Wishbone word address.

    Attributes
    ----------
    bus : Out(ControlBus())
    done : Out(1)
        Every step written and waited: the controller owns the chip.
    """

    def __init__(self, steps: Sequence[InitStep], registers: Mapping[str, int]):
        missing = sorted({s.register for s in steps} - set(registers))
        if missing:
            raise ValueError(f"no control register {', '.join(missing)} in the generated controller")
        self._wait_bits = max(1, max(s.wait for s in steps).bit_length())
        self._step = data.StructLayout({"adr": 30, "value": 32, "wait": self._wait_bits})
        self._rom = [{"adr": registers[s.register], "value": s.value, "wait": s.wait} for s in steps]
        super().__init__({"bus": Out(ControlBus()), "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = rom = memory.Memory(shape=self._step, depth=len(self._rom), init=self._rom)
        read = rom.read_port(domain="comb")
        index = Signal(range(len(self._rom)))
        wait = Signal(self._wait_bits)
        m.d.comb += [read.addr.eq(index), self.bus.sel.eq(0b1111), self.bus.we.eq(1),
                     self.bus.adr.eq(read.data.adr), self.bus.dat_w.eq(read.data.value)]
        with m.FSM():
            with m.State("WRITE"):
                m.d.comb += [self.bus.cyc.eq(1), self.bus.stb.eq(1)]
                with m.If(self.bus.ack):
                    m.d.sync += wait.eq(read.data.wait)
                    m.next = "WAIT"
            with m.State("WAIT"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.d.sync += index.eq(index + 1)
                    m.next = "WRITE"
                    with m.If(index == len(self._rom) - 1):
                        m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
        return m

