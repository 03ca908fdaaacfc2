"""What the boards' PLLs share: how near a wanted clock must be made, and the errors that name
a clock a PLL cannot make."""

from __future__ import annotations

TOLERANCE = 0.025   # the ECP5 makes 46.875 MHz for 48 MHz from 25 MHz: the nearest its phase detector allows


def check_range(device: str, f_out_hz: float, out_hz: tuple[float, float]) -> None:
    """``ValueError`` for a wanted clock outside the PLL's output range."""
    if not out_hz[0] <= f_out_hz <= out_hz[1]:
        raise ValueError(f"{f_out_hz / 1e6:g} MHz is outside the {device} PLL's output range, "
                         f"{out_hz[0] / 1e6:g}-{out_hz[1] / 1e6:g} MHz")


def check_nearest(device: str, f_in_hz: float, f_out_hz: float, nearest_hz: float | None) -> None:
    """``ValueError`` where the nearest setting (``None``: none at all) is more than
    :data:`TOLERANCE` from the wanted clock."""
    if nearest_hz is None or abs(nearest_hz - f_out_hz) > TOLERANCE * f_out_hz:
        nearest = "" if nearest_hz is None else f" (the nearest is {nearest_hz / 1e6:g} MHz)"
        raise ValueError(f"no {device} PLL setting makes {f_out_hz / 1e6:g} MHz from {f_in_hz / 1e6:g} MHz "
                         f"within {TOLERANCE:.1%}{nearest}")
