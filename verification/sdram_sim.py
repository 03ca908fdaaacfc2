"""The SDRAM controller's bench: the controller on the chip model, in Verilator.

:func:`run` builds ``verification/sdram_main.cpp`` around
:class:`~epfpga.hdl.sdram.SDRAMController`'s Verilog (LiteDRAM's core, the wrapper, yosys' models
of the ECP5 I/O cells it instantiates) with the chip model ``verification/sdram_chip.h``, once
per gateware, and runs random traffic through it.  The chip model checks every command against
the datasheet (:mod:`epfpga.contract.sdram`), so a controller a cycle short of any timing fails
here with the parameter named.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

from amaranth import Module, Signal
from amaranth.back import verilog
from amaranth.hdl import IOPort

from epfpga.contract.sdram import SDRAMChip
from epfpga.hdl.litedram import CORE, generate
from epfpga.hdl.sdram import SDRAMController

from . import simulators
from .netlist import ecp5_cells

TOP = "epfpga_sdram"
BENCH_CLOCK_HZ = 100_000_000   # the chip's fastest clock at CAS latency 2: every wait at its tightest
CELLS = ("TRELLIS_FF", "IFS1P3BX", "OFS1P3BX", "FD1S3BX")   # LiteDRAM's ECP5 cells, but TRELLIS_IO (ours)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def bench_top(controller: SDRAMController) -> tuple[Module, list[Signal]]:
    """The controller with its streams as flat ports named for the C++ bench (Verilator mangles
    the ``__`` of Amaranth's interface names), its pins named as the system top's
    (``sdram__a`` …, which ``sdram_chip.h``'s ``sdram_clock`` reads)."""
    m = Module()
    m.submodules.controller = controller
    ports = []

    def port(name, value, out):
        signal = Signal(len(value), name=name)
        m.d.comb += (signal.eq(value) if out else value.eq(signal))
        ports.append(signal)

    for stream_name, stream in (("cmd", controller.cmd), ("wdata", controller.wdata)):
        port(f"{stream_name}_valid", stream.valid, False)
        port(f"{stream_name}_ready", stream.ready, True)
        port(f"{stream_name}_payload", stream.payload.as_value(), False)
    port("rdata_valid", controller.rdata.valid, True)
    port("rdata_ready", controller.rdata.ready, False)
    port("rdata_payload", controller.rdata.payload, True)
    port("ready", controller.ready, True)
    for name in controller.pins.signature.members:
        port(f"sdram__{name}", getattr(controller.pins, name), True)
    return m, ports


def geometry(chip: SDRAMChip) -> list[str]:
    """The chip's geometry as the C++ programs' preprocessor definitions."""
    return [f"SDRAM_BANKS={chip.banks}", f"SDRAM_ROWS={chip.rows}", f"SDRAM_COLUMNS={chip.columns}"]


def sdram_sources(chip: SDRAMChip, clock_hz: int) -> dict[str, str]:
    """What a Verilator build around the controller needs beside its own Verilog and main: the
    controller's core, the ECP5 cells it instantiates, the chip model."""
    files = resources.files("epfpga.verification")
    return {f"{CORE}.v": generate(chip, clock_hz).verilog, "ecp5_cells.v": ecp5_cells(*CELLS),
            "TRELLIS_IO.v": files.joinpath("models/TRELLIS_IO.v").read_text(),
            "sdram_chip.h": files.joinpath("sdram_chip.h").read_text()}


def verilator_args(chip: SDRAMChip) -> list[str]:
    """Verilator's options for a build with the controller and the chip model."""
    return ["--pins-inout-enables", *(arg for d in geometry(chip) for arg in ("-CFLAGS", f"-D{d}"))]


def build(chip: SDRAMChip, clock_hz: int, log=_stderr):
    """The bench binary for the controller of ``chip`` at ``clock_hz``."""
    controller = SDRAMController(chip, clock_hz, IOPort(chip.data_bits, name="sdram_dq"))
    top, ports = bench_top(controller)
    sources = {f"{TOP}.v": verilog.convert(top, name=TOP, ports=ports, emit_src=False),
               "sdram_main.cpp": resources.files("epfpga.verification").joinpath("sdram_main.cpp").read_text(),
               **sdram_sources(chip, clock_hz)}
    return simulators.program("sdram", TOP, sources, args=verilator_args(chip), log=log)


def timing_args(chip: SDRAMChip, clock_hz: float) -> list[str]:
    """The chip's datasheet figures at ``clock_hz`` as the C++ programs take them."""
    ns = [1e9 / clock_hz, chip.tRCD, chip.tRP, chip.tRAS, chip.tRC, chip.tRFC, chip.tRRD, chip.tWR, chip.tREFI,
          chip.power_up]
    return [*(repr(float(v)) for v in ns), str(chip.tMRD), repr(float(chip.cl2_min_period))]


def run(chip: SDRAMChip, clock_hz: int = BENCH_CLOCK_HZ, cycles: int = 100_000, seed: int = 1,
        log=_stderr) -> dict:
    """``cycles`` clocks of random traffic after the power-up sequence.  Returns the bench's
    figures (``reads``, ``writes``, ``mismatches``, ``refreshes``, ...) and ``error``: the chip
    model's first violation, or ``""``."""
    binary = build(chip, clock_hz, log)
    done = subprocess.run([str(binary), str(cycles), str(seed), *timing_args(chip, clock_hz)],
                          capture_output=True, text=True)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise simulators.SimulatorError(f"the SDRAM bench failed (exit {done.returncode}): "
                                        f"{done.stderr.strip() or done.stdout.strip()}") from None


def check_chip(script: str, chip: SDRAMChip, clock_hz: float, log=_stderr) -> tuple[int, list[str]]:
    """Run the chip model alone on ``script`` (``verification/sdram_chip_check.cpp`` says its
    format); returns its exit status and output lines."""
    files = resources.files("epfpga.verification")
    binary = simulators.native_program("sdram-chip", {
        name: files.joinpath(name).read_text() for name in ("sdram_chip_check.cpp", "sdram_chip.h")},
        args=[f"-D{d}" for d in geometry(chip)], log=log)
    done = subprocess.run([str(binary), *timing_args(chip, clock_hz)], input=script, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise simulators.SimulatorError(f"the chip model failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.returncode, done.stdout.splitlines()
