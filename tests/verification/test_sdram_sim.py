"""LiteDRAM's controller on the SDRAM chip model, in Verilator: random traffic for 20 ms of
simulated time (thousands of refreshes) with no timing violation and every word read back as
written; and the same bench failing, naming the parameter, once the controller waits a clock
too few."""

from __future__ import annotations

import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.hdl import litedram
from epfpga.verification.sdram_sim import run

CYCLES = 2_000_000


def quiet(_):
    pass


@pytest.mark.parametrize("clock_hz", [100_000_000, 133_000_000])   # CAS latency 2 and 3, each at its tightest
def test_the_controller_meets_the_datasheet(clock_hz):
    r = run(ULX3S_SDRAM, clock_hz, cycles=CYCLES, seed=1, log=quiet)
    assert r["error"] == "", r["error"]
    assert r["mismatches"] == 0
    assert r["reads"] > 50_000 and r["writes"] > 50_000 and r["activates"] > 50_000
    period = 1e9 / clock_hz
    assert r["ready_at"] * period >= ULX3S_SDRAM.power_up
    assert r["refreshes"] >= CYCLES * period / ULX3S_SDRAM.tREFI
    # The traffic makes the controller wait exactly its tRCD and tRP counts somewhere, so one
    # clock fewer is a violation the chip model sees.
    for name in ("tRCD", "tRP"):
        assert r["tightest_ns"][name] == pytest.approx(ULX3S_SDRAM.cycles(name, clock_hz) * period, abs=0.01), name


@pytest.mark.parametrize("name", ["tRCD", "tRP"])
def test_a_clock_too_few_is_named(monkeypatch, name):
    datasheet = litedram.controller_timings

    def short(chip, clock_hz):
        return datasheet(chip, clock_hz) | {name: chip.cycles(name, clock_hz) - 1}

    monkeypatch.setattr(litedram, "controller_timings", short)
    litedram.generate.cache_clear()
    try:
        r = run(ULX3S_SDRAM, 100_000_000, cycles=100_000, seed=1, log=quiet)
    finally:
        litedram.generate.cache_clear()
    assert r["error"].split(": ", 1)[1].startswith(f"{name} violated:"), r["error"]
