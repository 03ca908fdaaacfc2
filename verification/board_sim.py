"""The simulated board: the system top's Verilog in Verilator behind a pseudo-terminal.

:class:`SimulatedBoard` builds ``verification/board_main.cpp`` with the system's Verilog (once per
gateware, cached beside the cocotb models in ``$EPFPGA_CACHE``), starts it, and gives the
path of the pty's slave in :attr:`~SimulatedBoard.port`: the host opens it with pyserial
exactly as it opens a board's USB-serial port.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from amaranth.back import verilog

from epfpga.config import Config
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import DEFAULT_BAUD
from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.errors import UserError
from epfpga.hdl.system import TOP, System
from epfpga.hdl.uart import MIN_DIVISOR, rate

from . import simulators
from .sdram_sim import sdram_sources, timing_args, verilator_args

SIM_CLOCK_HZ = 48_000_000    # with SIM_BAUD: divisor 4, the fewest clocks a bit the UART takes
SIM_BAUD = 12_000_000
USB_LATENCY_MS = 16.0        # an FTDI bridge's latency timer on Linux, unless set lower (1 at best)
BOARD_SIMULATORS = ("verilator",)   # the simulated board: the system top in Verilator behind a pty


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def build(system: System, log=_stderr) -> Path:
    """The board binary for ``system``: from the cache, or built now.  A system with the SDRAM
    gets the controller's core and the chip model (``verification/sdram_sim.py``)."""
    main = resources.files("epfpga.verification").joinpath("board_main.cpp").read_text()
    sources = {f"{TOP}.v": verilog.convert(system, name=TOP, emit_src=False), "board_main.cpp": main}
    args = []
    if system.params.sdram:
        sources |= sdram_sources(ULX3S_SDRAM, system.clock_hz)
        args = [*verilator_args(ULX3S_SDRAM), "-CFLAGS", "-DEPFPGA_SDRAM"]
    return simulators.program("board", TOP, sources, args=args, log=log)


class SimulatedBoard:
    """A running simulated board.

    Parameters
    ----------
    params : CoreParams
    clock_hz, baud : int
        Of the system top (the divisor is their ratio).
    usb_latency_ms : float
        The USB-serial bridge's latency timer: the device's bytes reach the host in packets of
        62, sent when full or when the timer expires, and simulated time runs while they wait
        (``verification/board_main.cpp``).  0: each reply as soon as it is out.
    log : callable
        Progress messages (the one-time build).

    Attributes
    ----------
    port : str
        The pty to open with pyserial.
    system : System
    stats : dict
        After :meth:`close`: ``cycles`` simulated, ``busy_cycles`` (the core ran),
        ``bytes_to_device``, ``bytes_from_device``, wall ``seconds``, ``divisor``; with the
        SDRAM, ``sdram_error`` (the chip model's first timing violation, or ``""``) and
        ``sdram_refreshes``.
    """

    def __init__(self, params: CoreParams, clock_hz: int = SIM_CLOCK_HZ, baud: int = SIM_BAUD,
                 usb_latency_ms: float = 0.0, log=_stderr):
        if not 0 <= usb_latency_ms <= 255:
            raise UserError(f"--usb-latency-ms {usb_latency_ms:g}: an FTDI latency timer is 0 to 255 ms")
        if rate(clock_hz, baud) != 1:
            raise UserError(f"--baud {baud}: the simulated board drives its pins once a cycle, so at "
                            f"{clock_hz / 1e6:g} MHz it takes at most {clock_hz / MIN_DIVISOR:g} baud "
                            f"({MIN_DIVISOR} cycles a bit)")
        try:
            self.system = System(params, clock_hz, baud)
        except ValueError as exc:   # a baud the UART cannot divide
            raise UserError(f"--baud {baud}: {exc}") from None
        self.usb_latency_cycles = round(usb_latency_ms * 1e-3 * clock_hz)
        binary = build(self.system, log)
        self.dir = Path(tempfile.mkdtemp(prefix="epfpga-board-"))
        self.stats: dict = {}
        chip = timing_args(ULX3S_SDRAM, clock_hz) if params.sdram else []
        self._proc = subprocess.Popen([str(binary), str(self.system.divisor), str(self.dir / "stats.json"),
                                       str(self.usb_latency_cycles), *chip],
                                      stdout=subprocess.PIPE, stderr=(self.dir / "board.log").open("w"), text=True)
        self.port = self._proc.stdout.readline().strip()
        if not self.port:
            self._proc.wait()
            raise simulators.SimulatorError(f"the simulated board did not start: "
                                            f"{(self.dir / 'board.log').read_text().strip()}")

    def close(self) -> dict:
        """Stop the simulation; returns (and keeps in :attr:`stats`) its counters."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait(timeout=30)
        try:
            self.stats = json.loads((self.dir / "stats.json").read_text())
        except (OSError, ValueError):
            self.stats = {}
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.stats


def open_port(config: Config, port: str | None, baud: int | None, sim: str | None,
              usb_latency_ms: float | None = None):
    """The device to talk to: ``(simulated board or None, port, baud)``.  ``port`` is a board's;
    ``sim`` starts a simulated board of ``config`` (its gateware built for ``baud``, behind a
    USB bridge of ``usb_latency_ms``, default :data:`USB_LATENCY_MS`) and gives its pty.
    Exactly one of the two must be given."""
    if sim is not None and port is not None:
        raise UserError(f"--sim {sim} and --port {port}: talk to either a board on its port or the simulated "
                        f"board (--sim verilator), not both")
    if sim is None and port is None:
        raise UserError("a board needs --port PORT (a board) or --sim verilator (the simulated board)")
    if sim is None:
        if usb_latency_ms is not None:
            raise UserError(f"--usb-latency-ms {usb_latency_ms:g}: a board's bridge has its own latency timer "
                            f"(/sys/bus/usb-serial/devices/ttyUSBn/latency_timer); the option sets the simulated one's")
        return None, port, baud or DEFAULT_BAUD
    if sim not in BOARD_SIMULATORS:
        raise UserError(f"--sim {sim}: the simulated board runs in {', '.join(BOARD_SIMULATORS)} only")
    simulators.prepare(sim)   # a missing simulator fails before anything is elaborated
    latency = USB_LATENCY_MS if usb_latency_ms is None else usb_latency_ms
    board = SimulatedBoard(CoreParams.from_config(config), baud=baud or SIM_BAUD, usb_latency_ms=latency)
    return board, board.port, board.system.baud
