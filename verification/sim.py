"""The core in Amaranth's simulator, behind the host driver's transport interface.

The simulator runs in a thread of its own with one testbench that executes the driver's
requests (bus writes and reads, one a cycle; program runs) as they arrive, through the one
:class:`~.bus.BusDriver`, so the caller sees ordinary blocking calls and the simulated core
keeps its state between them.
"""

from __future__ import annotations

import queue
import threading

from amaranth import ClockDomain, Module
from amaranth.sim import Simulator

from epfpga.firmware.driver import RequestTransport, StateWrite
from epfpga.hdl.core import Core

from .bus import AmaranthPins, BusDriver
from .checker import PERIOD_NS, BeatChecker, Expectation


class AmaranthTransport(RequestTransport):
    """Bus transport to a :class:`~epfpga.hdl.core.Core` simulated by Amaranth.

    Parameters
    ----------
    core : Core
    max_cycles : int
        A program run that takes longer fails with :class:`~.bus.SimulationTimeout`.
    """

    def __init__(self, core: Core, max_cycles: int = 50_000_000):
        self.core, self.max_cycles = core, max_cycles
        self._requests: queue.Queue = queue.Queue()
        self._answers: queue.Queue = queue.Queue()
        top = Module()     # the domain explicit, so that the testbench can drive its reset
        top.domains.sync = self._domain = ClockDomain("sync")
        top.submodules.core = core
        sim = Simulator(top)
        sim.add_clock(PERIOD_NS * 1e-9)
        sim.add_testbench(self._testbench)
        self._thread = threading.Thread(target=sim.run, daemon=True)
        self._thread.start()

    # -- the caller's side -------------------------------------------------------------------
    def _call(self, kind: str, *args) -> object:
        self._requests.put((kind, args))
        ok, value = self._answers.get()
        if not ok:
            raise value
        return value

    def start_and_reset(self, cycles: int, bank: int = 0) -> None:
        """Start the program on input ``bank`` and reset the core ``cycles`` cycles into its
        run, for a cycle (the memories keep their words, half-updated)."""
        self._call("start_and_reset", cycles, bank)

    def close(self) -> None:
        self._requests.put(("stop", None))
        self._thread.join()

    # -- the simulator's side -----------------------------------------------------------------
    async def _testbench(self, ctx) -> None:
        bus = BusDriver(AmaranthPins(ctx, self.core), self.core.params.layers)

        async def run(monitor: bool, expect: Expectation | None, bank: int) -> list[list[StateWrite]]:
            checker = BeatChecker(self.core.params, expect) if expect is not None else None
            return await bus.run(monitor, checker, bank, self.max_cycles)

        async def start_and_reset(cycles: int, bank: int) -> None:
            await bus.start(bank)
            await ctx.tick().repeat(cycles)
            ctx.set(self._domain.rst, 1)
            await ctx.tick()
            ctx.set(self._domain.rst, 0)

        handlers = {"write": bus.write, "read": bus.read, "run": run, "start_and_reset": start_and_reset}
        while True:
            kind, args = self._requests.get()
            if kind == "stop":
                return
            try:
                self._answers.put((True, await handlers[kind](*args)))
            except Exception as exc:  # handed to the caller's thread, re-raised there
                self._answers.put((False, exc))
