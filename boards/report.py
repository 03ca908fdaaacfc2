"""nextpnr's report reduced to the figures the builds record (``report.json``)."""

from __future__ import annotations

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
