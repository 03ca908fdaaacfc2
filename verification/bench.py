"""The cocotb testbench of the core's generated Verilog, run inside Icarus or Verilator.

:class:`~epfpga.verification.cocotb_transport.CocotbTransport` starts the simulator with this
module as its cocotb test and talks to it over a socket; the one test, :func:`serve`, executes
the host driver's requests as they arrive through the one :class:`~.bus.BusDriver`, on
:class:`CocotbPins`: inputs driven on the falling edge so that the rising edge samples them,
outputs read on the falling edge.  A run is either

* **transaction-level**: Python sets ``START`` and sleeps until ``done`` rises, so the
  clock runs inside the simulator; or
* **monitored**: the monitors wake on every write of the two pipelines (not on every cycle)
  and record the state writes for the trace, and, given an
  :class:`~.checker.Expectation`, check every beat against the golden model as it happens.
  The first wrong beat fails the test at once; the simulator then ends and writes its
  waveform file.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Client

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from epfpga.contract.params import CoreParams

from .bus import BusDriver, SimulationTimeout
from .checker import PERIOD_NS, BeatChecker, Expectation, Mismatch

ENV_ADDRESS = "EPFPGA_BENCH_ADDRESS"
ENV_AUTHKEY = "EPFPGA_BENCH_AUTHKEY"


def value(signal) -> int:
    """``signal`` as an integer; X or Z bits are an error that names the signal."""
    try:
        return int(signal.value)
    except ValueError:
        raise ValueError(f"{signal._name} = {signal.value} has X/Z bits at {get_sim_time('ns'):g} ns") from None


class CocotbPins:
    """:class:`~.bus.Pins` of ``epfpga_core``'s top-level ports under cocotb."""

    def __init__(self, dut):
        self.dut = dut

    def set(self, port: str, value: int) -> None:
        getattr(self.dut, port).value = value

    def get(self, port: str) -> int:
        return value(getattr(self.dut, port))

    async def cycle(self) -> None:
        await FallingEdge(self.dut.clk)

    async def until_high(self, port: str, cycles: int) -> bool:
        timeout = Timer(cycles * PERIOD_NS, "ns")
        if await First(RisingEdge(getattr(self.dut, port)), timeout) is timeout:
            return False
        await FallingEdge(self.dut.clk)
        return True

    async def quiet(self, ports: list[str], cycles: int) -> None:
        await First(*(getattr(self.dut, p).value_change for p in ports), Timer(max(1, cycles) * PERIOD_NS, "ns"))

    def time_ns(self) -> float:
        return get_sim_time("ns")


async def reset(dut) -> None:
    for port in (dut.rst, dut.we, dut.re, dut.addr, dut.wdata):
        port.value = 0
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    await FallingEdge(dut.clk)


@cocotb.test()
async def serve(dut) -> None:
    """Execute the host driver's requests until it says stop (or goes away)."""
    conn = Client(os.environ[ENV_ADDRESS], family="AF_UNIX", authkey=bytes.fromhex(os.environ[ENV_AUTHKEY]))
    layers = 0
    while hasattr(dut, f"mon{layers + 1}_en"):
        layers += 1
    await reset(dut)
    bus = BusDriver(CocotbPins(dut), layers)

    async def run(monitor: bool, expect: tuple[CoreParams, Expectation] | None, bank: int, max_cycles: int):
        return await bus.run(monitor, BeatChecker(*expect) if expect is not None else None, bank, max_cycles)

    handlers = {"write": bus.write, "read": bus.read, "run": run}
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
        except SimulationTimeout as exc:
            conn.send(("timeout", str(exc)))
            raise
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            raise
