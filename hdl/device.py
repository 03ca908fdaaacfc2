"""The one place the gateware asks which device it is built for."""

from __future__ import annotations


def is_ecp5(platform) -> bool:
    """``platform`` is an ECP5 (a board's platform, or the netlist's stand-in); ``None`` (the
    simulators' Verilog) and the iCE40 are not."""
    return getattr(platform, "family", None) == "ecp5"
