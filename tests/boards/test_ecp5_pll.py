"""The ECP5 PLL's dividers: within the device's limits, and as Project Trellis' ecppll picks
them where a setting is exact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from epfpga.boards.ecp5_pll import PFD_HZ, VCO_HZ, pll_config


@pytest.mark.parametrize("f_out", [60e6, 50e6, 75e6, 100e6, 125e6])
def test_exact_clocks_from_25_mhz_within_the_limits(f_out):
    c = pll_config(25e6, f_out)
    assert c.f_out_hz == f_out
    assert PFD_HZ[0] <= 25e6 / c.clki_div <= PFD_HZ[1] and VCO_HZ[0] <= c.vco_hz <= VCO_HZ[1]


def test_48_mhz_is_not_reachable_and_the_nearest_is_taken():
    c = pll_config(25e6, 48e6)   # 48/25 needs a 1 MHz phase detector, below 3.125 MHz
    assert c.f_out_hz != 48e6 and abs(c.f_out_hz - 48e6) < 1.2e6


@pytest.mark.parametrize("f_out", [60, 100])
def test_ecppll_agrees_on_the_output_frequency(tmp_path, f_out):
    ecppll = Path(sys.executable).parent / "yowasp-ecppll"
    proc = subprocess.run([str(ecppll), "-i", "25", "-o", str(f_out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    theirs = float(re.search(r"clkout0 frequency: ([\d.]+) MHz", proc.stdout)[1])
    assert pll_config(25e6, f_out * 1e6).f_out_hz / 1e6 == pytest.approx(theirs)


@pytest.mark.parametrize("f_out, message", [
    (401e6, "401 MHz is outside the ECP5 PLL's output range, 3.125-400 MHz"),
    (3e6, "3 MHz is outside the ECP5 PLL's output range"),
])
def test_clocks_outside_the_output_range_are_refused(f_out, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        pll_config(25e6, f_out)


def test_a_clock_whose_nearest_setting_is_too_far_is_refused():
    """From 25 MHz the phase detector (at least 3.125 MHz) allows ``CLKI_DIV`` up to 8, so the
    slowest outputs are 25/8 and 25/7 MHz: 3.34 MHz is 6 % from both."""
    with pytest.raises(ValueError, match=r"3\.34 MHz from 25 MHz within 2\.5% \(the nearest is 3\.125 MHz\)"):
        pll_config(25e6, 3.34e6)
