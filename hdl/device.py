"""The one place the gateware asks which device it is built for."""

from __future__ import annotations

#: The attribute of a register whose value before its first load nothing reads: the iCE40's
#: synthesis drops its initial value (``epfpga.yowasp``), so that yosys makes it a block RAM's
#: read with no logic to give that value.
UNDEFINED_INIT = "undefined_init"


class ECP5:
    """The ECP5 as the gateware asks after it, without a board's platform (the netlist's and
    ``scripts/synth_core.py``'s stand-in for one), with the floorplan ``sites``."""

    family = "ecp5"

    def __init__(self, sites: dict[str, str] | None = None):
        self.sites = sites or {}


def is_ecp5(platform) -> bool:
    """``platform`` is an ECP5 (a board's platform, or the netlist's stand-in); ``None`` (the
    simulators' Verilog) and the iCE40 are not."""
    return getattr(platform, "family", None) == "ecp5"


def site(platform, block: str) -> dict[str, str]:
    """The instance attributes that put hard block ``block`` (``mul7``, ``W1_2.r0_bram12``) at
    the site the build's floorplan gives it (``platform.sites``, nextpnr's names); none where
    it gives none, and the placer chooses."""
    bel = getattr(platform, "sites", {}).get(block)
    return {"a_BEL": bel} if bel else {}


class ICE40:
    """The iCE40 as the gateware asks after it, without a board's platform (the netlist's and
    ``scripts/synth_core.py``'s stand-in for one); amaranth's iCE40 platforms have the same
    ``family``."""

    family = "iCE40"


def is_ice40(platform) -> bool:
    """``platform`` is an iCE40 (a board's platform, or the stand-in)."""
    return getattr(platform, "family", None) == "iCE40"
