"""The cocotb testbench of the core's generated Verilog, run inside Icarus or Verilator.

:class:`~epfpga.hdl.cocotb_transport.CocotbTransport` starts the simulator with this module
as its cocotb test and talks to it over a socket; the one test, :func:`serve`, executes the
host driver's requests as they arrive: bus writes and reads (one a cycle, driven on the
falling edge so that the rising edge samples them) and program runs.  A run is either

* **transaction-level**: Python sets ``START`` and sleeps until ``done`` rises, so the
  clock runs inside the simulator; or
* **monitored**: the monitors wake on every write of the two pipelines (not on every cycle)
  and record the state writes for the trace, and, given an
  :class:`~epfpga.hdl.checker.Expectation`, check every beat against the golden model as it
  happens.  The first wrong beat fails the test at once; the simulator then ends and writes
  its waveform file.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Client

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from epfpga.firmware.address_map import Reg, Region, address
from epfpga.firmware.driver import StateWrite

from .checker import PERIOD_NS, BeatChecker, Beats, Expectation, Mismatch
from .params import CoreParams

ENV_ADDRESS = "EPFPGA_BENCH_ADDRESS"
ENV_AUTHKEY = "EPFPGA_BENCH_AUTHKEY"


class SimulationTimeout(RuntimeError):
    """The program did not halt within the allowed cycles."""


def value(signal) -> int:
    """``signal`` as an integer; X or Z bits are an error that names the signal."""
    try:
        return int(signal.value)
    except ValueError:
        raise ValueError(f"{signal._name} = {signal.value} has X/Z bits at {get_sim_time('ns'):g} ns") from None


class Bench:
    """Bus driver and monitors on the top-level ports of ``epfpga_core``."""

    def __init__(self, dut):
        self.dut = dut
        layers = 0
        while hasattr(dut, f"mon{layers + 1}_en"):
            layers += 1
        self.mons = [(getattr(dut, f"mon{n}_en"), getattr(dut, f"mon{n}_addr"), getattr(dut, f"mon{n}_data"))
                     for n in range(1, layers + 1)]

    async def reset(self) -> None:
        dut = self.dut
        for port in (dut.rst, dut.we, dut.re, dut.addr, dut.wdata):
            port.value = 0
        Clock(dut.clk, PERIOD_NS, unit="ns").start()
        await FallingEdge(dut.clk)

    async def write(self, pairs: list[tuple[int, int]]) -> None:
        dut = self.dut
        dut.we.value = 1
        for addr, value in pairs:
            dut.addr.value = addr
            dut.wdata.value = value & 0xFFFFFFFF
            await FallingEdge(dut.clk)
        dut.we.value = 0

    async def read(self, addrs: list[int]) -> list[int]:
        """One read a cycle; the answers come back in order, ``rvalid`` marking them."""
        dut = self.dut
        out: list[int] = []

        async def cycle():
            await FallingEdge(dut.clk)
            if value(dut.rvalid):
                out.append(value(dut.rdata))

        dut.re.value = 1
        for addr in addrs:
            dut.addr.value = addr
            await cycle()
        dut.re.value = 0
        while len(out) < len(addrs):
            await cycle()
        return out

    async def run(self, monitor: bool, expect: tuple[CoreParams, Expectation] | None, bank: int,
                  max_cycles: int) -> list[list[StateWrite]]:
        dut = self.dut
        start = get_sim_time("ns")
        deadline = start + max_cycles * PERIOD_NS
        await self.write([(address(Region.CONTROL, Reg.START), 1 | bank << 1)])
        started = get_sim_time("ns")
        if not monitor and expect is None:
            timeout = Timer(max_cycles * PERIOD_NS, "ns")
            if await First(RisingEdge(dut.done), timeout) is timeout:
                raise SimulationTimeout(f"the program did not halt within {max_cycles} cycles")
            await FallingEdge(dut.clk)
            return []
        beats = Beats(BeatChecker(*expect) if expect is not None else None)
        watched = [en for en, _, _ in self.mons] + [dut.step_done] + ([dut.wmon_en] if beats.checker else [])
        while True:
            now = get_sim_time("ns")
            active = False
            for n, (en, addr, data) in enumerate(self.mons, 1):
                lanes = value(en)
                if lanes:
                    active = True
                    beats.state_write(StateWrite(n, value(addr), lanes, value(data)), now)
            if beats.checker and value(dut.wmon_en):
                active = True
                beats.weight_write(value(dut.wmon_block), value(dut.wmon_addr), value(dut.wmon_en),
                                   value(dut.wmon_data), now)
            if value(dut.step_done):
                active = True
                beats.step_done(now)
            if value(dut.done):
                break
            if now >= deadline:
                raise SimulationTimeout(f"the program did not halt within {max_cycles} cycles")
            if not active:   # sleep until a pipeline writes (or the program ends), then sample mid-cycle
                await First(*(s.value_change for s in watched), RisingEdge(dut.done),
                            Timer(deadline - now, "ns"))
            await FallingEdge(dut.clk)
        now = get_sim_time("ns")
        return beats.finish(now, round((now - started) / PERIOD_NS))


@cocotb.test()
async def serve(dut) -> None:
    """Execute the host driver's requests until it says stop (or goes away)."""
    conn = Client(os.environ[ENV_ADDRESS], family="AF_UNIX", authkey=bytes.fromhex(os.environ[ENV_AUTHKEY]))
    bench = Bench(dut)
    await bench.reset()
    handlers = {"write": bench.write, "read": bench.read, "run": bench.run}
    while True:
        try:
            kind, args = conn.recv()
        except EOFError:   # the driver's process ended
            return
        if kind == "stop":
            conn.send(("ok", None))
            return
        try:
            conn.send(("ok", await handlers[kind](*args)))
        except Mismatch as exc:
            conn.send(("mismatch", str(exc)))
            raise
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            raise
