"""The one bus driver of the core's host port and monitors, for every simulator.

:class:`BusDriver` writes, reads and runs programs, and watches the monitor outputs, against
:class:`Pins`: set a port, get a port, wait a cycle.  Amaranth's simulator
(:class:`AmaranthPins`, ``sim.py``) and cocotb in Icarus or Verilator (``bench.py``) each
implement those few operations; the bus cycles, the run's cycle count and the timeout are
written once, here.

Timing: values are set for the next rising edge and read in the middle of a cycle (after its
edge, settled).  A run's cycle count is from the cycle after the one that writes ``START``
to the first with ``done`` high, as :class:`~epfpga.verification.checker.Expectation` defines it.
"""

from __future__ import annotations

from typing import Protocol

from epfpga.contract.address_map import Reg, Region, address
from epfpga.firmware.driver import StateWrite

from .checker import PERIOD_NS, BeatChecker, Beats

MASK32 = 0xFFFF_FFFF


class SimulationError(RuntimeError):
    """The simulated core did not do what was asked (a simulator that went away, a bad value)."""


class SimulationTimeout(SimulationError):
    """The program did not halt within the allowed cycles."""


class Pins(Protocol):
    """The ports of the simulated core, as one simulator reaches them."""

    def set(self, port: str, value: int) -> None:
        """Drive an input from now on."""

    def get(self, port: str) -> int:
        """An output's value in the current cycle."""

    async def cycle(self) -> None:
        """To the middle of the next cycle."""

    async def until_high(self, port: str, cycles: int) -> bool:
        """Wait until ``port`` is high, at most ``cycles`` cycles (False: it was not)."""

    async def quiet(self, ports: list[str], cycles: int) -> None:
        """Nothing to do until one of ``ports`` changes (or ``cycles`` pass): a simulator that
        can sleep until then does; one that cannot returns at once."""

    def time_ns(self) -> float:
        """Simulated time."""


class BusDriver:
    """Host-bus transactions and program runs on :class:`Pins`.

    Parameters
    ----------
    pins : Pins
    layers : int
        Neuron layers of the core (one state monitor each).
    """

    def __init__(self, pins: Pins, layers: int):
        self.pins, self.layers = pins, layers

    async def write(self, pairs: list[tuple[int, int]]) -> None:
        """Bus writes, one a cycle."""
        pins = self.pins
        pins.set("we", 1)
        for addr, value in pairs:
            pins.set("addr", addr)
            pins.set("wdata", value & MASK32)
            await pins.cycle()
        pins.set("we", 0)

    async def start(self, bank: int) -> None:
        """Start the program on input ``bank`` (the write of ``START``)."""
        await self.write([(address(Region.CONTROL, Reg.START), 1 | bank << 1)])

    async def read(self, addrs: list[int]) -> list[int]:
        """Bus reads, one a cycle; the answers come back in order, ``rvalid`` marking them."""
        pins = self.pins
        out: list[int] = []

        async def cycle():
            await pins.cycle()
            if pins.get("rvalid"):
                out.append(pins.get("rdata") & MASK32)

        pins.set("re", 1)
        for addr in addrs:
            pins.set("addr", addr)
            await cycle()
        pins.set("re", 0)
        while len(out) < len(addrs):
            await cycle()
        return out

    async def run(self, monitor: bool, checker: BeatChecker | None, bank: int,
                  max_cycles: int) -> list[list[StateWrite]]:
        """Start the program on input ``bank`` and wait for ``done``.

        Transaction-level (no ``monitor``, no ``checker``) it only waits.  Otherwise every
        state write of every neuron step is recorded (one list a step) and, with a
        ``checker``, every beat of both pipelines is checked as it happens
        (:class:`~epfpga.verification.checker.Mismatch` at the first wrong one) and the cycles of the
        run against the schedule model.
        """
        pins = self.pins
        await self.start(bank)
        started = pins.time_ns()
        deadline = started + max_cycles * PERIOD_NS
        if not monitor and checker is None:
            if not await pins.until_high("done", max_cycles):
                raise SimulationTimeout(f"the program did not halt within {max_cycles} cycles")
            return []
        beats = Beats(checker)
        mons = [(f"mon{n}_en", f"mon{n}_addr", f"mon{n}_data") for n in range(1, self.layers + 1)]
        watched = [en for en, _, _ in mons] + ["step_done", "done"] + (["wmon_en"] if checker else [])
        while True:
            now = pins.time_ns()
            cycle = round((now - started) / PERIOD_NS)
            active = False
            for n, (en, addr, data) in enumerate(mons, 1):
                lanes = pins.get(en)
                if lanes:
                    active = True
                    beats.state_write(StateWrite(n, pins.get(addr), lanes, pins.get(data)), now)
            if checker and pins.get("wmon_en"):
                active = True
                beats.weight_write(pins.get("wmon_block"), pins.get("wmon_addr"), pins.get("wmon_en"),
                                   pins.get("wmon_data"), cycle, now)
            if pins.get("step_done"):
                active = True
                beats.step_done(cycle, now)
            if pins.get("done"):
                break
            if now >= deadline:
                raise SimulationTimeout(f"the program did not halt within {max_cycles} cycles")
            if not active:   # sleep until a pipeline writes (or the program ends)
                await pins.quiet(watched, round((deadline - now) / PERIOD_NS))
            await pins.cycle()
        now = pins.time_ns()
        return beats.finish(now, round((now - started) / PERIOD_NS))


class AmaranthPins:
    """:class:`Pins` of a :class:`~epfpga.hdl.core.Core` in Amaranth's simulator, from a
    testbench (whose ``get`` sees settled values)."""

    def __init__(self, ctx, core):
        self.ctx, self.core = ctx, core
        self.cycles = 0

    def set(self, port: str, value: int) -> None:
        self.ctx.set(getattr(self.core, port), value)

    def get(self, port: str) -> int:
        value = self.ctx.get(getattr(self.core, port))
        return int(value.as_value().value) if hasattr(value, "as_value") else int(value)   # an array's raw bits

    async def cycle(self) -> None:
        await self.ctx.tick()
        self.cycles += 1

    async def until_high(self, port: str, cycles: int) -> bool:
        for _ in range(cycles):
            await self.cycle()
            if self.get(port):
                return True
        return False

    async def quiet(self, ports: list[str], cycles: int) -> None:
        pass   # Python runs every cycle here anyway

    def time_ns(self) -> float:
        return self.cycles * PERIOD_NS
