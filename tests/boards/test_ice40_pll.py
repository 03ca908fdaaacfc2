"""The iCE40 PLL's dividers: within the device's limits, and the ones icestorm's icepll picks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from epfpga.boards.ice40_pll import PFD_HZ, VCO_HZ, ice40_pll_config


@pytest.mark.parametrize("f_out", [24, 30, 40.5, 48, 60, 100])
def test_icepll_picks_the_same_dividers(tmp_path, f_out):
    icepll = Path(sys.executable).parent / "yowasp-icepll"
    proc = subprocess.run([str(icepll), "-i", "12", "-o", str(f_out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    theirs = {k: int(v) for k, v in re.findall(r"^(DIVR|DIVF|DIVQ|FILTER_RANGE):\s+(\d+)", proc.stdout, re.M)}
    c = ice40_pll_config(12e6, f_out * 1e6)
    assert {"DIVR": c.divr, "DIVF": c.divf, "DIVQ": c.divq, "FILTER_RANGE": c.filter_range} == theirs
    achieved = float(re.search(r"F_PLLOUT:\s+([\d.]+) MHz \(achieved\)", proc.stdout)[1])
    assert c.f_out_hz / 1e6 == pytest.approx(achieved, abs=5e-4)
    assert PFD_HZ[0] <= c.f_pfd_hz <= PFD_HZ[1] and VCO_HZ[0] <= c.vco_hz <= VCO_HZ[1]


def test_40_mhz_is_not_exact_from_12_mhz():
    """The output steps by 0.75 MHz near 40 MHz: 40 MHz is made as 39.75, so a board preset
    that needs at least 40 MHz asks for 40.5."""
    assert ice40_pll_config(12e6, 40e6).f_out_hz == 39.75e6
    assert ice40_pll_config(12e6, 40.5e6).f_out_hz == 40.5e6


@pytest.mark.parametrize("f_out, message", [
    (300e6, "300 MHz is outside the iCE40 PLL's output range, 16-275 MHz"),
    (12e6, "12 MHz is outside the iCE40 PLL's output range"),
])
def test_clocks_outside_the_output_range_are_refused(f_out, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ice40_pll_config(12e6, f_out)
