"""LiteDRAM's controller as generated for the ULX3S: its timing from the chip's datasheet, its
power-up sequence, and the Verilog the wrapper instantiates."""

from __future__ import annotations

import re

import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.hdl.litedram import (A10, AUTO_REFRESH, LOAD_MODE, PRECHARGE_ALL, Control, controller_timings,
                                 generate, init_steps)

CLOCK_HZ = 100_000_000


def test_the_controller_waits_the_datasheets_minimums_rounded_up():
    t = controller_timings(ULX3S_SDRAM, CLOCK_HZ)
    assert {k: t[k] for k in ("tRCD", "tRP", "tRAS", "tRC", "tRFC", "tRRD", "tWR")} == \
        {"tRCD": 2, "tRP": 2, "tRAS": 5, "tRC": 7, "tRFC": 7, "tRRD": 2, "tWR": 2}
    assert t["tREFI"] == 781   # 7,812.5 ns: refreshing late is the violation, so round down


def commands(steps):
    """The SDRAM commands of an init sequence: ``(command, address, wait after)``."""
    out, address = [], None
    for step in steps:
        if step.register == "sdram_dfii_pi0_address":
            address = step.value
        elif step.register == "sdram_dfii_pi0_command":
            command = step.value
        elif step.register == "sdram_dfii_pi0_command_issue":
            out.append((command, address, step.wait))
    return out


@pytest.mark.parametrize("clock_hz", [50_000_000, CLOCK_HZ, 133_000_000])
def test_the_power_up_sequence_is_the_datasheets(clock_hz):
    steps = init_steps(ULX3S_SDRAM, clock_hz)
    period = 1e9 / clock_hz
    assert steps[0].register == "sdram_dfii_control" and steps[0].value & Control.CKE
    assert not steps[0].value & Control.HARDWARE
    assert steps[0].wait * period >= ULX3S_SDRAM.power_up
    cl = ULX3S_SDRAM.cas_latency(clock_hz)
    seq = commands(steps)
    assert [(c, a) for c, a, _ in seq] == [(PRECHARGE_ALL, A10), (AUTO_REFRESH, 0), (AUTO_REFRESH, 0),
                                           (LOAD_MODE, cl << 4)]
    waits = [w * period for _, _, w in seq]
    assert waits[0] >= ULX3S_SDRAM.tRP and min(waits[1:3]) >= ULX3S_SDRAM.tRFC
    assert seq[3][2] >= ULX3S_SDRAM.tMRD
    assert [(s.register, s.value) for s in steps[-2:]] == [
        ("sdram_dfii_control", Control.HARDWARE | Control.CKE | Control.ODT | Control.RESET_N),
        ("ddrctrl_init_done", 1)]


def test_the_generated_core_has_every_register_the_sequence_writes():
    core = generate(ULX3S_SDRAM, CLOCK_HZ)
    assert {s.register for s in init_steps(ULX3S_SDRAM, CLOCK_HZ)} <= set(core.registers)
    assert core.cas_latency == 2 and core.address_bits == 24 and core.data_bits == 16
    assert core.timings == controller_timings(ULX3S_SDRAM, CLOCK_HZ)
    assert generate(ULX3S_SDRAM, CLOCK_HZ) is core   # generated once per chip and clock


def test_the_data_pins_are_inout():
    header = re.search(r"^module litedram_core \((.*?)\);", generate(ULX3S_SDRAM, CLOCK_HZ).verilog, re.M | re.S)[1]
    assert re.search(r"inout\s+wire\s+\[15:0\]\s+sdram_dq,", header)
    assert "user_port_native_0_cmd_addr" in header and "wb_ctrl_ack" in header


def test_cas_latency_3_above_100_mhz():
    assert generate(ULX3S_SDRAM, 133_000_000).cas_latency == 3
