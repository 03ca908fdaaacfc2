"""The iCE40's PLL (``SB_PLL40_PAD``, simple feedback): the dividers for a wanted clock, and
the instance.

``f_out = f_in · (DIVF + 1) / ((DIVR + 1) · 2**DIVQ)``; the phase detector runs at
``f_in / (DIVR + 1)`` (10–133 MHz), the VCO at ``f_out · 2**DIVQ`` (533–1066 MHz) and the
output at 16–275 MHz, the limits of the iCE40 sysCLOCK PLL guide that ``icepll`` applies.  The
dividers are the ones ``icepll`` picks (its search order, the first of equals), and a clock the
PLL cannot make is refused as on the ECP5 (:mod:`.pll`).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Instance

from .pll import check_nearest, check_range

PFD_HZ = (10e6, 133e6)
VCO_HZ = (533e6, 1066e6)
OUT_HZ = (16e6, 275e6)
FILTER_BOUNDS_MHZ = (17, 26, 44, 66, 101)   # FILTER_RANGE 1 … 6 by the phase detector's rate


@dataclass(frozen=True)
class Ice40PllConfig:
    divr: int
    divf: int
    divq: int
    f_in_hz: float

    @property
    def f_pfd_hz(self) -> float:
        return self.f_in_hz / (self.divr + 1)

    @property
    def vco_hz(self) -> float:
        return self.f_pfd_hz * (self.divf + 1)

    @property
    def f_out_hz(self) -> float:
        return self.vco_hz / 2 ** self.divq

    @property
    def filter_range(self) -> int:
        return 1 + sum(self.f_pfd_hz >= bound * 1e6 for bound in FILTER_BOUNDS_MHZ)


def ice40_pll_config(f_in_hz: float, f_out_hz: float) -> Ice40PllConfig:
    """The dividers whose output is closest to ``f_out_hz``; ``ValueError`` names a clock the
    PLL cannot make."""
    check_range("iCE40", f_out_hz, OUT_HZ)
    best = None
    for divr in range(16):
        for divf in range(128):
            for divq in range(1, 7):
                c = Ice40PllConfig(divr, divf, divq, f_in_hz)
                if not (PFD_HZ[0] <= c.f_pfd_hz <= PFD_HZ[1] and VCO_HZ[0] <= c.vco_hz <= VCO_HZ[1]):
                    continue
                if best is None or abs(c.f_out_hz - f_out_hz) < abs(best.f_out_hz - f_out_hz):
                    best = c
    check_nearest("iCE40", f_in_hz, f_out_hz, best and best.f_out_hz)
    return best


def sb_pll40_pad(config: Ice40PllConfig, pad, clk_out, locked) -> Instance:
    """The ``SB_PLL40_PAD`` instance of ``config``, fed from the clock pin ``pad`` itself (the
    iCEBreaker's 12 MHz oscillator is on a PLL's input pad)."""
    return Instance(
        "SB_PLL40_PAD",
        p_FEEDBACK_PATH="SIMPLE", p_DIVR=config.divr, p_DIVF=config.divf, p_DIVQ=config.divq,
        p_FILTER_RANGE=config.filter_range,
        i_PACKAGEPIN=pad, i_RESETB=1, i_BYPASS=0, o_PLLOUTGLOBAL=clk_out, o_LOCK=locked,
    )
