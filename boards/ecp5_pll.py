"""The ECP5's PLL (``EHXPLLL``): the dividers for a wanted clock, and the instance.

With the feedback from ``CLKOP``, ``f_out = f_in · CLKFB_DIV / CLKI_DIV``; the phase detector
runs at ``f_in / CLKI_DIV`` (3.125–400 MHz), the VCO at ``f_out · CLKOP_DIV`` (400–800 MHz)
and the output at 3.125–400 MHz, the limits of the ECP5 family data sheet.  A wanted clock
outside the output's range, or whose nearest setting is more than :data:`~.pll.TOLERANCE`
away, is one the PLL cannot make.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Instance, Signal

from .pll import check_nearest, check_range

PFD_HZ = (3.125e6, 400e6)
VCO_HZ = (400e6, 800e6)
OUT_HZ = (3.125e6, 400e6)


@dataclass(frozen=True)
class PllConfig:
    clki_div: int
    clkfb_div: int
    clkop_div: int
    f_in_hz: float

    @property
    def f_out_hz(self) -> float:
        return self.f_in_hz * self.clkfb_div / self.clki_div

    @property
    def vco_hz(self) -> float:
        return self.f_out_hz * self.clkop_div


def pll_config(f_in_hz: float, f_out_hz: float) -> PllConfig:
    """The dividers whose output is closest to ``f_out_hz`` (the VCO nearest the middle of its
    range among equals); :attr:`PllConfig.f_out_hz` says what it makes.  ``ValueError`` names
    a clock the PLL cannot make."""
    check_range("ECP5", f_out_hz, OUT_HZ)
    best, key = None, None
    for clki in range(1, 129):
        if not PFD_HZ[0] <= f_in_hz / clki <= PFD_HZ[1]:
            continue
        for clkfb in range(1, 81):
            out = f_in_hz * clkfb / clki
            if not OUT_HZ[0] <= out <= OUT_HZ[1]:
                continue
            for clkop in range(1, 129):
                if VCO_HZ[0] <= out * clkop <= VCO_HZ[1]:
                    k = (abs(out - f_out_hz), abs(out * clkop - sum(VCO_HZ) / 2))
                    if key is None or k < key:
                        best, key = PllConfig(clki, clkfb, clkop, f_in_hz), k
    check_nearest("ECP5", f_in_hz, f_out_hz, best and best.f_out_hz)
    return best


def ehxplll(config: PllConfig, clk_in, clk_out, locked) -> Instance:
    """The ``EHXPLLL`` instance of ``config`` (``CLKOP`` fed back)."""
    zero = Signal()
    return Instance(
        "EHXPLLL",
        a_FREQUENCY_PIN_CLKI=f"{config.f_in_hz / 1e6:g}", a_FREQUENCY_PIN_CLKOP=f"{config.f_out_hz / 1e6:g}",
        a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
        p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
        p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB", p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
        p_CLKI_DIV=config.clki_div, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=config.clkop_div,
        p_CLKOP_CPHASE=config.clkop_div - 1, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=config.clkfb_div,
        i_RST=zero, i_STDBY=zero, i_CLKI=clk_in, o_CLKOP=clk_out, i_CLKFB=clk_out,
        i_PHASESEL0=zero, i_PHASESEL1=zero, i_PHASEDIR=zero, i_PHASESTEP=zero, i_PHASELOADREG=zero,
        i_PLLWAKESYNC=zero, i_ENCLKOP=zero, o_LOCK=locked,
    )
