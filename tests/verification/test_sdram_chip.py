"""The SDRAM chip model alone, on scripts of commands: every check is silent at the datasheet's
minimum and names its parameter one clock short; data comes back at the right edge."""

from __future__ import annotations

from dataclasses import replace

import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.verification.sdram_sim import check_chip

CLOCK_HZ = 100_000_000   # 10 ns a clock; CAS latency 2
# CKE up for exactly 100 us of NOPs, PRECHARGE ALL, two refreshes tRFC apart, LOAD MODE with CAS
# latency 2 (32 = 2 << 4), then tMRD.
POWER_UP = "CKE 1\nNOP 10000\nPRE 0 1024\nREF\nNOP 6\nREF\nNOP 6\nMRS 32\n"
INIT = POWER_UP + "NOP 1\n"


def run(script, chip=ULX3S_SDRAM, clock_hz=CLOCK_HZ):
    return check_chip(script, chip, clock_hz, log=lambda _: None)


# (name, the script at the minimum, the script one clock short, what the violation says)
CASES = [
    ("tRCD", "ACT 0 5\nNOP 1\nREAD 0 3", "ACT 0 5\nREAD 0 3",
     "tRCD violated: READ to bank 0 10.00 ns after ACTIVE (needs 20.00 ns)"),
    ("tRP", "ACT 0 5\nNOP 4\nPRE 0 0\nNOP 1\nACT 0 6", "ACT 0 5\nNOP 4\nPRE 0 0\nACT 0 6",
     "tRP violated: ACTIVE to bank 0 10.00 ns after PRECHARGE (needs 20.00 ns)"),
    ("tRAS", "ACT 0 5\nNOP 4\nPRE 0 0", "ACT 0 5\nNOP 3\nPRE 0 0",
     "tRAS violated: PRECHARGE to bank 0 40.00 ns after ACTIVE (needs 44.00 ns)"),
    ("tRFC", "REF\nNOP 6\nACT 0 5", "REF\nNOP 5\nACT 0 5",
     "tRFC violated: ACTIVE to bank 0 60.00 ns after AUTO REFRESH (needs 66.00 ns)"),
    ("tRRD", "ACT 0 5\nNOP 1\nACT 1 5", "ACT 0 5\nACT 1 5",
     "tRRD violated: ACTIVE to bank 1 10.00 ns after an ACTIVE to another bank (needs 15.00 ns)"),
    ("tWR", "ACT 0 5\nNOP 4\nWRITE 0 3 1 0\nNOP 1\nPRE 0 0", "ACT 0 5\nNOP 5\nWRITE 0 3 1 0\nPRE 0 0",
     "tWR violated: PRECHARGE to bank 0 10.00 ns after the last WRITE (needs 15.00 ns)"),
    ("refresh with a bank open", "ACT 0 5\nNOP 4\nPRE 0 0\nNOP 1\nREF", "ACT 0 5\nNOP 4\nREF",
     "AUTO REFRESH with bank 0 open"),
    ("READ to a closed bank", "ACT 2 5\nNOP 1\nREAD 2 0", "ACT 1 5\nNOP 1\nREAD 2 0",
     "READ to bank 2, which is closed"),
    ("ACTIVE to an open bank", "ACT 0 5\nNOP 4\nPRE 0 0\nNOP 1\nACT 0 5", "ACT 0 5\nNOP 6\nACT 0 7",
     "ACTIVE to bank 0, which is open (row 5)"),
    ("the data bus driven from both ends", "ACT 0 5\nNOP 1\nREAD 0 3\nNOP 2\nWRITE 0 3 1 0",
     "ACT 0 5\nNOP 1\nREAD 0 3\nNOP 1\nWRITE 0 3 1 0",
     "dq driven by the controller while the chip returns a READ's data"),
    # READ with auto precharge 20 ns after ACTIVE: the precharge starts at tRAS (44 ns), not at 30
    ("auto precharge", "ACT 0 5\nNOP 1\nREAD 0 1027\nNOP 4\nACT 0 6", "ACT 0 5\nNOP 1\nREAD 0 1027\nNOP 3\nACT 0 6",
     "tRP violated: ACTIVE to bank 0 16.00 ns after PRECHARGE (needs 20.00 ns)"),
]


@pytest.mark.parametrize(("name", "legal", "short", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_check(name, legal, short, message):
    rc, out = run(INIT + legal)
    assert rc == 0, out
    rc, out = run(INIT + short)
    assert rc == 1 and message in out[-1], out


def test_trc_on_its_own():
    chip = replace(ULX3S_SDRAM, tRC=80)   # at 10 ns, tRAS + tRP covers the datasheet's tRC
    assert run(INIT + "ACT 0 5\nNOP 4\nPRE 0 0\nNOP 2\nACT 0 6", chip)[0] == 0
    rc, out = run(INIT + "ACT 0 5\nNOP 4\nPRE 0 0\nNOP 1\nACT 0 6", chip)
    assert rc == 1 and "tRC violated: ACTIVE to bank 0 70.00 ns after its last ACTIVE (needs 80.00 ns)" in out[-1]


def test_tmrd():
    assert run(POWER_UP + "NOP 1\nACT 0 5")[0] == 0
    rc, out = run(POWER_UP + "ACT 0 5")
    assert rc == 1 and "tMRD violated: ACTIVE to bank 0 1 clocks after LOAD MODE (needs 2)" in out[-1]


def test_power_up_wait():
    rc, out = run("CKE 1\nNOP 9999\nPRE 0 1024")
    assert rc == 1 and "power-up violated: PRECHARGE to bank 0 99990.00 ns after CKE rose (needs 100000.00 ns)" in out[-1]
    rc, out = run("NOP 20000\nPRE 0 1024")
    assert rc == 1 and "PRECHARGE with CKE low" in out[-1]


def test_commands_before_the_mode_register():
    rc, out = run("CKE 1\nNOP 10000\nPRE 0 1024\nNOP 2\nACT 0 5")
    assert rc == 1 and "ACTIVE before the mode register is loaded" in out[-1]


def test_refresh_interval():
    every_tREFI = "NOP 780\nREF\n" * 12   # 7,810 ns apart: on time
    assert run(INIT + every_tREFI)[0] == 0
    # refreshes are due every 7,812.5 ns after the first; more than one behind is a violation
    rc, out = run(INIT + "NOP 2400\nREF")
    assert rc == 1 and "tREFI violated: 1 AUTO REFRESHes in" in out[-1], out


@pytest.mark.parametrize(("clock_hz", "ok"), [(100e6, True), (133e6, False)])
def test_cas_latency_2_needs_a_slow_enough_clock(clock_hz, ok):
    power_up = "CKE 1\nNOP 13300\nPRE 0 1024\nNOP 3\nREF\nNOP 9\nREF\nNOP 9\nMRS 32\n"   # times for 7.5 ns too
    rc, out = run(power_up, clock_hz=clock_hz)
    assert (rc == 0) == ok, out
    if not ok:
        assert "CAS latency violated: 2 at a 7.52 ns clock (needs 10.00 ns)" in out[-1]
    assert run(power_up.replace("MRS 32", "MRS 48"), clock_hz=clock_hz)[0] == 0


def test_a_read_returns_the_written_word_cl_minus_1_edges_later():
    # byte masks: DM bit 0 keeps the low byte, bit 1 the high one
    rc, out = run(INIT + "ACT 1 9\nNOP 1\nWRITE 1 7 4660 0\nWRITE 1 7 43981 1\nWRITE 1 8 65535 2\n"
                  "READ 1 7\nREAD 1 8\nREAD 1 9\nNOP 3")
    assert rc == 0, out
    drives = [line.split() for line in out if line.startswith("drive")]
    read_at = 10_017 + 6   # INIT ends at edge 10,017; ACT, NOP and three WRITEs, then the READ
    assert [(int(edge), int(word)) for _, edge, word in drives] == [
        (read_at + 1, 0xab34), (read_at + 2, 0x00ff), (read_at + 3, 0)]
