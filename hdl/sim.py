"""The core in Amaranth's simulator, behind the host driver's transport interface.

The simulator runs in a thread of its own with one testbench that executes the driver's
requests (bus writes and reads, one a cycle; program runs) as they arrive, so the caller sees
ordinary blocking calls and the simulated core keeps its state between them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from amaranth.sim import Simulator

from epfpga.firmware.address_map import Reg, Region, address
from epfpga.firmware.driver import RequestTransport, StateWrite

from .checker import PERIOD_NS, BeatChecker, Beats, Expectation
from .core import Core


async def bus_write(ctx, core: Core, pairs: list[tuple[int, int]]) -> None:
    """Host-bus writes, one a cycle, from an Amaranth testbench."""
    ctx.set(core.we, 1)
    for addr, value in pairs:
        ctx.set(core.addr, addr)
        ctx.set(core.wdata, value & 0xFFFFFFFF)
        await ctx.tick()
    ctx.set(core.we, 0)


async def bus_read(ctx, core: Core, addrs: list[int]) -> list[int]:
    """Host-bus reads, one a cycle; the answers come back in order, ``rvalid`` marking them."""
    out: list[int] = []

    async def cycle():
        await ctx.tick()
        if ctx.get(core.rvalid):
            out.append(ctx.get(core.rdata) & 0xFFFFFFFF)

    ctx.set(core.re, 1)
    for addr in addrs:
        ctx.set(core.addr, addr)
        await cycle()
    ctx.set(core.re, 0)
    while len(out) < len(addrs):
        await cycle()
    return out


class SimulationError(RuntimeError):
    """The simulated core did not finish (a program that never halts, or a gateware bug)."""


class AmaranthTransport(RequestTransport):
    """Bus transport to a :class:`~epfpga.hdl.core.Core` simulated by Amaranth.

    Parameters
    ----------
    core : Core
    max_cycles : int
        A program run that takes longer fails with :class:`SimulationError`.
    """

    def __init__(self, core: Core, max_cycles: int = 50_000_000):
        self.core, self.max_cycles = core, max_cycles
        self.cycles = 0
        self._requests: queue.Queue = queue.Queue()
        self._answers: queue.Queue = queue.Queue()
        sim = Simulator(core)
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

    def close(self) -> None:
        self._requests.put(("stop", None))
        self._thread.join()

    # -- the simulator's side -----------------------------------------------------------------
    async def _testbench(self, ctx) -> None:
        handlers: dict[str, Callable] = {"write": self._write, "read": self._read, "run": self._run}
        while True:
            kind, args = self._requests.get()
            if kind == "stop":
                return
            try:
                self._answers.put((True, await handlers[kind](ctx, *args)))
            except Exception as exc:  # handed to the caller's thread, re-raised there
                self._answers.put((False, exc))

    async def _write(self, ctx, pairs) -> None:
        await bus_write(ctx, self.core, pairs)

    async def _read(self, ctx, addrs) -> list[int]:
        return await bus_read(ctx, self.core, addrs)

    async def _run(self, ctx, monitor: bool, expect: Expectation | None, bank: int) -> list[list[StateWrite]]:
        core = self.core
        await self._write(ctx, [(address(Region.CONTROL, Reg.START), 1 | bank << 1)])
        layers = core.params.layers
        beats = Beats(BeatChecker(core.params, expect) if expect is not None else None)
        cycles = 0
        if not monitor and beats.checker is None:
            async for _, _, done in ctx.tick().sample(core.done):
                cycles += 1
                if done or cycles > self.max_cycles:
                    break
        else:
            mons = [getattr(core, f"mon{n}_{part}") for n in range(1, layers + 1) for part in ("en", "addr", "data")]
            wmon = [core.wmon_en, core.wmon_block, core.wmon_addr, core.wmon_data]
            async for _, _, done, step_done, *values in ctx.tick().sample(core.done, core.step_done, *mons, *wmon):
                cycles += 1
                now = (self.cycles + cycles) * PERIOD_NS
                for n in range(layers):
                    en = values[3 * n]
                    if en:
                        beats.state_write(StateWrite(n + 1, values[3 * n + 1], en, _bits(values[3 * n + 2])), now)
                w_en, w_block, w_addr, w_data = values[3 * layers:]
                if w_en:
                    beats.weight_write(w_block, w_addr, w_en, _bits(w_data), now)
                if step_done:
                    beats.step_done(now)
                if done or cycles > self.max_cycles:
                    break
        if cycles > self.max_cycles:
            raise SimulationError(f"the program did not halt within {self.max_cycles} cycles")
        self.cycles += cycles
        return beats.finish(self.cycles * PERIOD_NS, cycles - 1)   # the last tick sampled done high


def _bits(value) -> int:
    """The raw bits of a sampled ``ArrayLayout`` value."""
    return int(value.as_value().value) if hasattr(value, "as_value") else int(value)
