"""The ULX3S's SDRAM chip record: its size, its clocks' rounding and the CAS latency it allows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from epfpga.contract.sdram import TIMINGS, ULX3S_SDRAM


def test_geometry_is_the_boards_32_mb():
    assert ULX3S_SDRAM.bytes == 32 * 2**20
    assert ULX3S_SDRAM.address_bits == 24   # 4 banks x 8192 rows x 512 columns of 16 bits


@pytest.mark.parametrize("clock_hz", [25e6, 50e6, 72.7e6, 100e6, 133e6])
def test_cycles_cover_each_minimum_and_no_more(clock_hz):
    period = 1e9 / clock_hz
    for name in TIMINGS:
        if name == "tMRD":
            assert ULX3S_SDRAM.cycles(name, clock_hz) == ULX3S_SDRAM.tMRD
            continue
        n = ULX3S_SDRAM.cycles(name, clock_hz)
        assert n * period >= getattr(ULX3S_SDRAM, name) - 1e-9, name
        assert (n - 1) * period < getattr(ULX3S_SDRAM, name), name


def test_a_minimum_on_a_clock_edge_is_not_rounded_up():
    # 20 ns at 50 MHz is exactly one clock; 66 ns at 100 MHz is 6.6, so 7
    assert ULX3S_SDRAM.cycles("tRCD", 50e6) == 1
    assert ULX3S_SDRAM.cycles("tRC", 100e6) == 7
    assert replace(ULX3S_SDRAM, tRP=30).cycles("tRP", 100e6) == 3


@pytest.mark.parametrize(("clock_hz", "cl"), [(50e6, 2), (100e6, 2), (100.1e6, 3), (133e6, 3)])
def test_cas_latency(clock_hz, cl):
    assert ULX3S_SDRAM.cas_latency(clock_hz) == cl


def test_a_clock_above_the_chips_is_refused():
    with pytest.raises(ValueError, match="at most 133 MHz, not 140"):
        ULX3S_SDRAM.cas_latency(140e6)
