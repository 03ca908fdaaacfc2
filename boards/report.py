"""nextpnr's report reduced to the figures the builds record (``report.json``)."""

from __future__ import annotations

import re
from pathlib import Path

# the cells that count as each resource, by family
CELLS = {
    "ecp5": {"lut": ("TRELLIS_COMB",), "ff": ("TRELLIS_FF",), "dsp": ("MULT18X18D",), "bram": ("DP16KD",),
             "lutram": ("TRELLIS_RAMW",)},
    "ice40": {"lut": ("ICESTORM_LC",), "dsp": ("ICESTORM_DSP",), "bram": ("ICESTORM_RAM",),
              "spram": ("ICESTORM_SPRAM",)},
}


def critical_path(report: dict) -> dict | None:
    """The slowest clock-to-clock path of nextpnr's report: where it starts and ends, and how
    much of it is routing."""
    paths = [p["path"] for p in report.get("critical_paths", []) if p["from"] == p["to"] and p["path"]]
    if not paths:
        return None
    delay, path = max(((sum(s["delay"] for s in steps), steps) for steps in paths), key=lambda dp: dp[0])
    return {"from": f"{path[0]['from']['cell']}.{path[0]['from']['port']}",
            "to": f"{path[-1]['to']['cell']}.{path[-1]['to']['port']}",
            "ns": round(delay, 2),
            "routing_ns": round(sum(s["delay"] for s in path if s["type"] == "routing"), 2)}


def summarise(report: dict, family: str) -> dict:
    """LUTs, FFs, DSPs, block RAMs (``None`` where the family's cells do not tell), Fmax of the
    slowest clock, the critical path and the used part of the utilisation table."""
    util = report.get("utilization", {})

    def used(names: tuple[str, ...]) -> int:
        return sum(util[n]["used"] for n in names if n in util)

    figures = {name: used(cells) for name, cells in CELLS[family].items()}
    figures.setdefault("ff", None)   # iCE40 logic cells hold both
    fmax = report.get("fmax", {})
    figures["fmax_mhz"] = min((v["achieved"] for v in fmax.values()), default=None)
    figures["critical_path"] = critical_path(report)
    figures["utilization"] = {k: v for k, v in util.items() if v["used"]}
    return figures


def utilisation_from_log(log: Path) -> dict[str, dict[str, int]]:
    """nextpnr's 'Device utilisation' table from its log (a design it could not place writes
    no report); empty where there is no log."""
    text = log.read_text() if log.is_file() else ""
    return {name: {"used": int(used), "available": int(avail)}
            for name, used, avail in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text, re.M)}


def overused(util: dict[str, dict[str, int]]) -> list[str]:
    """The cells a design has more of than the device: ``ICESTORM_LC 9,148 of 5,280 (173 %)``."""
    return [f"{name} {v['used']:,} of {v['available']:,} ({v['used'] / v['available']:.0%})"
            for name, v in util.items() if v["used"] > v["available"]]


def ice40_flip_flops(yosys_log: Path) -> int:
    """The flip-flops yosys mapped (``SB_DFF*``, from its last ``stat``, whose design-hierarchy
    table repeats them): nextpnr's iCE40 logic cells hold a LUT and a flip-flop each, so its
    table does not count them."""
    stat = yosys_log.read_text().rsplit("Printing statistics", 1)[-1].split("=== design hierarchy ===")[0]
    return sum(int(n) for n in re.findall(r"^\s+(\d+)\s+SB_DFF\w*$", stat, re.M))
