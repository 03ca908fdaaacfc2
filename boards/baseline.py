"""The committed build of each board preset (``boards/baselines/<board>.json``) and the check
that a new build has not got slower or bigger.

Timing and packing depend on the toolchain (the YoWASP versions pinned in ``pyproject.toml``)
as much as on the gateware, so a baseline is only comparable to a build by the same versions:
refresh it with ``scripts/baseline.py`` when either changes on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "baselines"
TOLERANCE = 0.05                         # 5 %
RESOURCES = ("lut", "ff", "dsp", "bram")
# the build arguments a baseline records, and so repeats (the placer's seed: ``None`` for
# nextpnr's own; one netlist places the same way for one seed, and Fmax moves by several per
# cent from seed to seed, docs/toolchain.md)
ARGUMENTS = ("config", "lanes", "target_mhz", "baud", "seed")


def path(board: str) -> Path:
    return FOLDER / f"{board}.json"


def load(board: str) -> dict:
    return json.loads(path(board).read_text())


def regressions(baseline: dict, report: dict, tolerance: float = TOLERANCE) -> list[str]:
    """Where ``report`` is worse than ``baseline`` by more than ``tolerance``: Fmax lower, or a
    resource larger.  Empty when it is not."""
    out = []
    if report["fmax_mhz"] < (1 - tolerance) * baseline["fmax_mhz"]:
        out.append(f"Fmax {report['fmax_mhz']:.1f} MHz, the baseline {baseline['fmax_mhz']:.1f} MHz "
                   f"({report['fmax_mhz'] / baseline['fmax_mhz'] - 1:+.1%})")
    for key in RESOURCES:
        if report[key] > (1 + tolerance) * baseline[key]:
            out.append(f"{key} {report[key]:,}, the baseline {baseline[key]:,} ({report[key] / baseline[key] - 1:+.1%})")
    return out
