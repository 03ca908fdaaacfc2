"""The core's generated Verilog in Icarus or Verilator, behind the host driver's transport.

The simulator runs as a child process, started by cocotb's Python runner in a thread of this
process, with :mod:`epfpga.verification.bench` as its test; the test connects back over a Unix socket
and executes this side's requests (:meth:`write`, :meth:`read`, :meth:`run`), so the driver,
the trainers and the trace writer are the same as for the Amaranth simulator.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from multiprocessing.connection import Client, Listener
from pathlib import Path

from amaranth.back import verilog

from epfpga.errors import UserError
from epfpga.firmware.driver import RequestTransport, StateWrite
from epfpga.hdl.core import Core

from . import simulators
from .bench import ENV_ADDRESS, ENV_AUTHKEY
from .bus import SimulationError, SimulationTimeout
from .checker import Expectation, Mismatch


class RtlMismatch(Mismatch):
    """A monitor saw a beat that differs from the golden model; the message names it and the
    waveform file."""


class CocotbTransport(RequestTransport):
    """Bus transport to ``core``'s Verilog in ``sim`` (``icarus`` or ``verilator``).

    Parameters
    ----------
    core : Core
        Converted to Verilog here; the model is built once per Verilog text (cached).
    sim : str
    waves : bool
        Record a waveform (FST) of the whole session in :attr:`waves_file`.
    work_dir : Path, optional
        Where the session's log, results and waveform go; by default a fresh temporary
        directory, removed by :meth:`close` unless a check failed.
    max_cycles : int
        A program run that takes longer fails with :class:`~.bus.SimulationTimeout`.
    log : callable
        Progress messages (the one-time model build).
    netlist : str, optional
        Simulate not the RTL but the core's netlist as a board build synthesises it, with the
        device's cell models: ``ecp5`` (:mod:`~.netlist`).
    """

    def __init__(self, core: Core, sim: str, waves: bool = False, work_dir: Path | None = None,
                 max_cycles: int = 50_000_000, log=print, netlist: str | None = None):
        self.params, self.sim, self.max_cycles = core.params, sim, max_cycles
        if netlist is None:
            text = verilog.convert(core, name=simulators.TOP, emit_src=False)
        else:
            from .netlist import synthesised
            text = synthesised(netlist, core, log)
        self.model = simulators.build(sim, text, waves, log, netlist=netlist is not None)
        self.keep = work_dir is not None
        self.dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix=f"epfpga-{sim}-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.waves_file = self.dir / "waves.fst" if waves else None
        self.log_file = self.dir / "sim.log"
        self._failure: str | None = None
        address, key = str(self.dir / "bus.sock"), secrets.token_bytes(16)
        listener = Listener(address, family="AF_UNIX", authkey=key)
        self._thread = threading.Thread(target=self._simulate, args=(address, key), daemon=True)
        self._thread.start()
        try:
            self._conn = listener.accept()
        finally:
            listener.close()
        if self._failure is not None:
            raise SimulationError(self._failure)

    # -- the simulator, in its own thread ----------------------------------------------------------
    def _simulate(self, address: str, key: bytes) -> None:
        model = self.model
        # Icarus' dump module writes waves.fst in the run's directory
        test_args = ["--trace-file", str(self.waves_file)] if self.waves_file and self.sim == "verilator" else []
        try:
            model.runner().test(test_module="epfpga.verification.bench", hdl_toplevel=simulators.TOP, hdl_toplevel_lang="verilog",
                                build_dir=model.build_dir, test_dir=self.dir,
                                results_xml=str(self.dir / "results.xml"), waves=self.waves_file is not None,
                                test_args=test_args, timescale=simulators.TIMESCALE,
                                extra_env={ENV_ADDRESS: address, ENV_AUTHKEY: key.hex()}, log_file=self.log_file)
        except BaseException as exc:  # the runner exits when the test fails
            self._failure = f"the {self.sim} simulation ended ({type(exc).__name__} {exc}); see {self.log_file}"
        else:
            self._failure = f"the {self.sim} simulation ended; see {self.log_file}"
        finally:
            try:   # wake a driver still waiting for the bench to connect
                Client(address, family="AF_UNIX", authkey=key).close()
            except OSError:
                pass

    # -- the driver's side ---------------------------------------------------------------------------
    def _call(self, kind: str, *args):
        try:
            self._conn.send((kind, args))
            status, value = self._conn.recv()
        except (EOFError, OSError):
            self._thread.join(timeout=30)
            raise SimulationError(self._failure or f"the {self.sim} simulation went away; see {self.log_file}") from None
        if status == "mismatch":
            self.keep = True
            self._thread.join(timeout=60)   # the simulator ends and flushes its waveform
            where = f"; waveform: {self.waves_file}" if self.waves_file else ""
            raise RtlMismatch(f"{self.sim}: {value}{where}; log: {self.log_file}")
        if status == "timeout":
            raise SimulationTimeout(f"{self.sim}: {value}")
        if status == "error":
            self.keep = True
            raise SimulationError(f"{self.sim}: {value}; see {self.log_file}")
        return value

    def run(self, monitor: bool, expect: Expectation | None = None, bank: int = 0) -> list[list[StateWrite]]:
        # the bench has only the ports: it gets the parameters its checker needs with the run
        return self._call("run", monitor, None if expect is None else (self.params, expect), bank,
                          self.max_cycles)

    def close(self) -> None:
        """Stop the simulator; remove the session directory unless it is worth keeping."""
        if self._thread.is_alive():
            try:
                self._call("stop")
            except (SimulationError, UserError):
                pass
            self._thread.join()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
