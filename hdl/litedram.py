"""LiteDRAM's SDR controller for the ULX3S's SDRAM, generated as Verilog for an ``Instance``.

LiteDRAM is the field's open SDRAM controller (bank machines, refresher, ECP5 I/O registers);
it is written in Migen, so it is generated here into one Verilog module and instantiated by
:class:`~epfpga.hdl.sdram.SDRAMController` (``docs/architecture.md`` says why it is not
rewritten in Amaranth).  The controller's timing is not LiteDRAM's table: it is
:data:`~epfpga.contract.sdram.ULX3S_SDRAM`'s datasheet minimums, rounded up to the build's
clock by :func:`controller_timings`, the one place a cycle count is decided.

With no CPU, LiteDRAM leaves the chip's power-up sequence to its Wishbone control port;
:func:`init_steps` writes that sequence out as register writes, which
:class:`~epfpga.hdl.sdram_init.SDRAMInit` replays at reset.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import tempfile
from dataclasses import dataclass
from enum import IntFlag
from functools import cache
from importlib import metadata
from math import floor
from pathlib import Path

from epfpga.contract.sdram import SDRAMChip
from epfpga.errors import UserError

CORE = "litedram_core"
DEVICE = "LFE5U-85F-6BG381C"
_DQ_INPUT = re.compile(r"^(\s*)input(\s+wire\s+\[\d+:0\]\s+sdram_dq,)$", re.M)


class Command(IntFlag):
    """The DFII's ``pi0_command`` register: one SDRAM command by its active-low pins."""

    CS = 1
    WE = 2
    CAS = 4
    RAS = 8


class Control(IntFlag):
    """The DFII's ``control`` register: who drives the chip, and its CKE."""

    HARDWARE = 1
    CKE = 2
    ODT = 4
    RESET_N = 8


PRECHARGE_ALL = Command.RAS | Command.WE | Command.CS
AUTO_REFRESH = Command.RAS | Command.CAS | Command.CS
LOAD_MODE = Command.RAS | Command.CAS | Command.WE | Command.CS
A10 = 1 << 10   # with PRECHARGE: all banks


MIN_REFRESH_CYCLES = 100   # LiteDRAM's refresher refuses a tREFI of fewer clocks


def check_clock(chip: SDRAMChip, clock_hz: float) -> None:
    """Raise ``ValueError`` unless the controller can drive ``chip`` at ``clock_hz``."""
    chip.cas_latency(clock_hz)   # (at most the chip's fastest clock)
    if chip.tREFI * clock_hz / 1e9 < MIN_REFRESH_CYCLES:
        raise ValueError(f"LiteDRAM needs at least {MIN_REFRESH_CYCLES} clocks between refreshes: "
                         f"{MIN_REFRESH_CYCLES / chip.tREFI * 1e3:.1f} MHz or more, not {clock_hz / 1e6:g}")


def controller_timings(chip: SDRAMChip, clock_hz: float) -> dict[str, int | None]:
    """The controller's waits at ``clock_hz``, in clocks (LiteDRAM's ``TimingSettings``)."""
    def cycles(name):
        return chip.cycles(name, clock_hz)
    return dict(
        tRCD=cycles("tRCD"),
        tRP=cycles("tRP"),
        tRAS=cycles("tRAS"),
        tRC=cycles("tRC"),
        tRFC=cycles("tRFC"),
        tRRD=cycles("tRRD"),
        tWR=cycles("tWR"),
        tREFI=floor(chip.tREFI * clock_hz / 1e9),
        tWTR=2, tCCD=1, tFAW=None, tZQCS=None)


def describe(chip: SDRAMChip, clock_hz: float) -> dict:
    """The SDRAM in a build's report: the chip, the controller and its clock (the system's)."""
    return {"chip": chip.name, "bytes": chip.bytes, "controller": f"LiteDRAM {metadata.version('litedram')}",
            "clock_mhz": clock_hz / 1e6, "cas_latency": chip.cas_latency(clock_hz),
            "waits_in_clocks": {k: v for k, v in controller_timings(chip, clock_hz).items() if v is not None}}


@dataclass(frozen=True)
class InitStep:
    """Write ``value`` to the control register ``register``, then wait ``wait`` clocks."""

    register: str
    value: int
    wait: int = 0


def init_steps(chip: SDRAMChip, clock_hz: float) -> tuple[InitStep, ...]:
    """The chip's power-up sequence (its datasheet's): CKE high and ``power_up`` of NOPs,
    PRECHARGE ALL, two AUTO REFRESHes, LOAD MODE REGISTER (burst length 1, the CAS latency),
    then the controller takes over and its user port opens."""
    software = Control.CKE | Control.ODT | Control.RESET_N

    def command(cmd, address, wait):
        return (InitStep("sdram_dfii_pi0_address", address), InitStep("sdram_dfii_pi0_baddress", 0),
                InitStep("sdram_dfii_pi0_command", int(cmd)), InitStep("sdram_dfii_pi0_command_issue", 1, wait))

    return (InitStep("sdram_dfii_control", int(software), wait=chip.cycles("power_up", clock_hz)),
            *command(PRECHARGE_ALL, A10, chip.cycles("tRP", clock_hz)),
            *command(AUTO_REFRESH, 0, chip.cycles("tRFC", clock_hz)),
            *command(AUTO_REFRESH, 0, chip.cycles("tRFC", clock_hz)),
            *command(LOAD_MODE, chip.cas_latency(clock_hz) << 4, chip.tMRD),
            InitStep("sdram_dfii_control", int(software | Control.HARDWARE)),
            InitStep("ddrctrl_init_done", 1))   # opens the user port


@dataclass(frozen=True)
class LiteDRAMCore:
    """The generated controller: its Verilog, its control registers' Wishbone word addresses,
    and its native port's widths."""

    verilog: str
    registers: dict[str, int]
    address_bits: int
    data_bits: int
    cas_latency: int
    timings: dict[str, int | None]


_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


@cache
def generate(chip: SDRAMChip, clock_hz: int) -> LiteDRAMCore:
    """LiteDRAM's GENSDRPHY controller for ``chip`` at ``clock_hz``, one native user port."""
    try:
        from litedram import modules, phy
        from litedram.common import TimingSettings
        from litedram.gen import LiteDRAMCore as Generator
        from litex.build.lattice.platform import LatticePlatform
        from litex.soc.integration.builder import Builder
    except ImportError as exc:
        raise UserError(f"the SDRAM controller needs LiteDRAM ({exc}): run 'bash scripts/setup.sh'") from None
    timings = controller_timings(chip, clock_hz)

    class Module(modules.SDRModule):
        nbanks, nrows, ncols = chip.banks, chip.rows, chip.columns

        def __init__(self, clk_freq, rate):
            self.clk_freq, self.rate, self.speedgrade = clk_freq, rate, None
            self.geom_settings = modules.GeomSettings(
                bankbits=(chip.banks - 1).bit_length(), rowbits=(chip.rows - 1).bit_length(),
                colbits=(chip.columns - 1).bit_length())
            self.timing_settings = TimingSettings(**timings)
            self.timing_settings.fine_refresh_mode = None

    config = {"cpu": None, "device": DEVICE, "memtype": "SDR", "sdram_module": Module,
              "sdram_module_nb": chip.data_bits // 8, "sdram_rank_nb": 1, "sdram_phy": phy.GENSDRPHY,
              "input_clk_freq": float(clock_hz), "sys_clk_freq": float(clock_hz),
              "user_ports": {"native_0": {"type": "native"}}}
    quiet = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="epfpga-litedram-") as out, \
            contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        logging.disable(logging.INFO)
        try:
            soc = Generator(LatticePlatform(DEVICE, io=[], toolchain="trellis"), config, integrated_rom_size=0)
            Builder(soc, output_dir=out, compile_gateware=False, compile_software=False).build(
                build_name=CORE, regular_comb=False)
        finally:
            logging.disable(logging.NOTSET)
        text = (Path(out) / "gateware" / f"{CORE}.v").read_text()
        csr = json.loads((Path(out) / "csr.json").read_text())["csr_registers"]
    cas_latency = soc.sdrphy.settings.cl
    if cas_latency != chip.cas_latency(clock_hz):
        raise AssertionError(f"LiteDRAM chose CAS latency {cas_latency} at {clock_hz / 1e6:g} MHz, "
                             f"the chip needs {chip.cas_latency(clock_hz)}")
    # LiteDRAM declares the data pins an input although its TRELLIS_IO drives them.
    text, n = _DQ_INPUT.subn(r"\1inout\2", text)
    if n != 1:
        raise AssertionError(f"LiteDRAM's {CORE}.v: no 'input wire [..] sdram_dq,' to make inout")
    # Without its comments (a date and a hierarchy in an order of its own), the text is the same
    # in every process, so the simulators' models built from it are cached (verification/simulators.py).
    text = "".join(line for line in _BLOCK_COMMENT.sub("", text).splitlines(keepends=True)
                   if not line.lstrip().startswith("//"))
    return LiteDRAMCore(verilog=text, registers={name: r["addr"] >> 2 for name, r in csr.items()},
                        address_bits=chip.address_bits, data_bits=chip.data_bits, cas_latency=cas_latency,
                        timings=timings)
