"""``epfpga build`` and ``epfpga program`` for the ULX3S-85F: the fit check before synthesis,
a real build of a small system through amaranth-boards and YoWASP, and the loader's command."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest

from epfpga import config as config_mod
from epfpga.boards import build
from epfpga.contract.params import CoreParams
from epfpga.errors import UserError
from epfpga.hdl import memories as mem
from epfpga.hdl.block_ram import spram_blocks

TINY = dict(sizes=[5, 6, 3], lanes=1, batch=2, lrs=[0.5, 0.5], t1=3, t2=2)


def epfpga(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "epfpga.cli", *args], capture_output=True, text=True,
                          timeout=1200, cwd=cwd, env=env)


def toml(tmp_path, **config) -> str:
    path = tmp_path / "c.toml"
    path.write_text(config_mod.dumps(config_mod.from_dict(config)))
    return str(path)


def test_a_config_that_does_not_fit_exits_2_before_synthesis(tmp_path):
    config = dict(sizes=[784, 512, 10], lanes=16, batch=16, lrs=[0.5, 0.5])
    proc = epfpga("build", "--board", "ulx3s-85f", "--config", toml(tmp_path, **config), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Mbit of block RAM, the LFE5U-85F has 3.66 Mbit" in proc.stderr
    assert not (tmp_path / "o").exists()   # nothing was synthesised


def test_the_fit_check_counts_two_multipliers_a_lane():
    """64 lanes (the gateware's most) take 128 of the 85F's 156 multipliers; a device with
    fewer refuses them, naming how many are missing."""
    ulx3s = build.BOARDS["ulx3s-85f"]
    wide = CoreParams.from_config(config_mod.from_dict(dict(TINY, lanes=64)))
    build.check_fit(ulx3s, wide)
    with pytest.raises(UserError, match="64 lanes need 128 multipliers, the LFE5U-85F has 127 [(]1 too many[)]"):
        build.check_fit(dataclasses.replace(ulx3s, multipliers=127), wide)


def test_a_small_system_builds_from_any_folder_without_the_venv_on_path(tmp_path):
    (tmp_path / "here").mkdir()
    out = tmp_path / "elsewhere" / "build"
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"]}
    proc = epfpga("build", "--board", "ulx3s-85f", "--config", toml(tmp_path, **TINY), "--seed", "7", "--out", str(out),
                  cwd=tmp_path / "here", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 7 and " --seed 7" in (out / "build_top.sh").read_text()   # (nextpnr's placer)
    for key in ("board", "device", "lut", "ff", "dsp", "bram", "fmax_mhz", "target_mhz", "cycles_per_sample",
                "samples_per_s", "critical_path", "memories", "compute_bound_samples_per_s", "link_bound_samples_per_s"):
        assert key in report, key
    assert report["board"] == "ulx3s-85f" and report["target_mhz"] == 60 and report["lut"] > 0
    assert report["samples_per_s"] == min(report["compute_bound_samples_per_s"], report["link_bound_samples_per_s"])
    router = report["router"]     # the router's progress, as its log gave it
    assert report["routed"] and router["router"] == "router1" and router["complete"]
    assert router["steps"][-1]["remaining"] == 0 and router["steps"][-1]["arcs"] >= 1000
    assert (out / "top.bit").stat().st_size > 100_000
    dry = epfpga("program", "--board", "ulx3s-85f", str(out), "--dry-run")
    assert dry.returncode == 0 and dry.stdout.strip() == f"openFPGALoader --board ulx3s {out / 'top.bit'}"


def test_the_build_help_names_each_board_default_clock_and_baud():
    text = " ".join(epfpga("build", "--help").stdout.split())
    for b in build.BOARDS.values():
        assert f"{b.clock_mhz:g} on the {b.name}" in text and f"{b.baud} on the {b.name}" in text, b.name


def test_program_without_a_bitstream_exits_2(tmp_path):
    proc = epfpga("program", "--board", "ulx3s-85f", str(tmp_path), "--dry-run")
    assert proc.returncode == 2 and "no bitstream" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--lanes", "128"], "config key 'lanes' = 128: the gateware needs a power of two <= 64"),
    (["--clock", "1000"], "--clock/--baud: 1000 MHz is outside the ECP5 PLL's output range, 3.125-400 MHz"),
    (["--clock", "0.5"], "--clock/--baud: 0.5 MHz is outside the ECP5 PLL's output range, 3.125-400 MHz"),
])
def test_lanes_and_clocks_the_board_cannot_take_exit_2_before_synthesis(tmp_path, args, message):
    proc = epfpga("build", "--board", "ulx3s-85f", "--config", "digits", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [f"epfpga: error: {message}"], proc.stderr
    assert not (tmp_path / "o").exists()


def test_an_sdram_clock_the_chip_cannot_take_exits_2_before_synthesis(tmp_path):
    config = toml(tmp_path, **TINY, hardware={"sdram": True})
    proc = epfpga("build", "--board", "ulx3s-85f", "--config", config, "--clock", "140", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "--clock/--baud: IS42S16160 (MT48LC16M16A2-75) runs at most 133 MHz, not 140" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_small_system_with_the_sdram_builds_and_reports_it(tmp_path):
    out = tmp_path / "build"
    proc = epfpga("build", "--board", "ulx3s-85f", "--config", toml(tmp_path, **TINY, hardware={"sdram": True}),
                  "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["sdram"]["controller"] == "LiteDRAM 2024.12" and report["sdram"]["clock_mhz"] == 60
    assert report["sdram"]["cas_latency"] == 2 and report["sdram"]["bytes"] == 32 * 2**20
    assert (out / "top.bit").stat().st_size > 100_000
    # the SDRAM's pins are constrained: its clock, the data and the address lines
    lpf = (out / "top.lpf").read_text()
    for site in ("F19", "J16", "M20"):
        assert f'"{site}"' in lpf, site


# -- the iCEBreaker ------------------------------------------------------------------------------

def test_784_128_10_does_not_fit_the_icebreaker_and_the_message_names_the_spram(tmp_path):
    proc = epfpga("build", "--board", "icebreaker", "--config", "mnist", "--lanes", "4", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert ("its weights need 1.63 Mbit (1,626,112 bits) of SPRAM, the iCE40UP5K has 1 Mbit "
            "(4 x 256 kbit = 1,048,576 bits)") in proc.stderr
    assert not (tmp_path / "o").exists()


def test_the_icebreaker_fit_check_names_every_shortfall_in_one_line():
    icebreaker = build.BOARDS["icebreaker"]

    def params(**config):
        return CoreParams.from_config(config_mod.from_dict(dict(TINY, **config, hardware={"board": "icebreaker"})))

    build.check_fit(icebreaker, params(batch=4, lanes=4))
    with pytest.raises(UserError) as info:
        build.check_fit(icebreaker, params(batch=2, lanes=8))
    assert str(info.value) == (
        "config does not fit the icebreaker: 8 lanes need 16 multipliers, the iCE40UP5K has 8 (8 too many); "
        "its weights need 8 SPRAMs (8 lanes, a column each), the iCE40UP5K has 4; the SPRAM has one port, "
        "and at batch 2 the update reads a W_1 word every cycle (batch >= 4 leaves a cycle for each write); "
        "the preset digits-icebreaker fits it: epfpga build --board icebreaker --config digits-icebreaker")


def test_digits_is_refused_by_the_icebreaker_naming_its_preset_which_fits(tmp_path):
    """The digits preset, even at P = 2, needs more block RAM than the UP5K has; the refusal
    names the preset that fits, which passes the same check."""
    proc = epfpga("build", "--board", "icebreaker", "--config", "digits", "--lanes", "2", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "memories need" in proc.stderr and proc.stderr.strip().endswith(
        "the preset digits-icebreaker fits it: epfpga build --board icebreaker --config digits-icebreaker")
    preset = config_mod.load("digits-icebreaker")
    build.check_fit(build.BOARDS["icebreaker"], CoreParams.from_config(preset))
    assert (preset.lanes, preset.batch, preset.hardware.pairs) == (2, 4, False)


def test_digits_at_4_lanes_keeps_both_weight_layers_in_one_spram_a_lane():
    """W_2 goes after W_1's 4,096 words in each lane's SPRAM (4,736 of 16,384 words); on the
    ECP5 too, in 8,192-word blocks (``memories.weight_memories``)."""
    digits = config_mod.load("digits").replace(lanes=4, batch=4)
    ice = CoreParams.from_config(digits.replace(hardware=dataclasses.replace(digits.hardware, board="icebreaker")))
    assert [(wm.spec.name, wm.spec.depth) for wm in mem.weight_memories(ice)] == [("W1_2", 4736)]
    assert [wm.spec.name for wm in mem.weight_memories(CoreParams.from_config(digits))] == ["W1_2"]
    build.check_fit(build.BOARDS["icebreaker"], ice)


def test_the_hint_names_the_board_preset_except_to_the_preset_itself():
    """Both refusals (before synthesis and after it, where nextpnr finds a resource short) end
    with the board's preset, unless the config is that preset; a board with none adds nothing."""
    icebreaker = build.BOARDS["icebreaker"]
    assert build.preset_hint(icebreaker, config_mod.load("mnist")) == (
        "; the preset digits-icebreaker fits it: epfpga build --board icebreaker --config digits-icebreaker")
    assert build.preset_hint(icebreaker, config_mod.load("digits-icebreaker")) == ""
    assert build.preset_hint(dataclasses.replace(icebreaker, preset=None), config_mod.load("mnist")) == ""


def test_784_64_10_at_2_lanes_keeps_w2_after_w1_in_two_sprams_a_lane():
    """W_1's 25,088 words a lane take two SPRAMs, and W_2's 320 go after them: four SPRAMs, not
    the six that W_2 in SPRAMs of its own took, so the UP5K holds it."""
    mnist = config_mod.load("mnist").replace(sizes=(784, 64, 10), lanes=2, batch=4)
    ice = CoreParams.from_config(mnist.replace(hardware=dataclasses.replace(mnist.hardware, board="icebreaker",
                                                                            pairs=False)))
    assert [(wm.spec.name, wm.spec.depth, spram_blocks(wm.spec)) for wm in mem.weight_memories(ice)] == [("W1_2", 25408, 2)]
    build.check_fit(build.BOARDS["icebreaker"], ice)


def test_the_icebreaker_top_has_its_pll_spram_and_pins(tmp_path):
    """The platform's files without the tools: the PLL's dividers for 48 MHz from 12 MHz, a
    SPRAM a lane for the weights, the UART and the LEDs constrained to their pins."""
    from amaranth_boards.icebreaker import ICEBreakerPlatform

    from epfpga.boards.icebreaker import ICEBreakerTop
    params = CoreParams.from_config(config_mod.from_dict(dict(TINY, batch=4, lanes=2, hardware={"board": "icebreaker"})))
    top = ICEBreakerTop(params, 48e6, 12_000_000)
    plan = ICEBreakerPlatform().prepare(top, name="top")
    il, pcf = plan.files["top.il"], plan.files["top.pcf"]
    assert il.count("cell \\SB_PLL40_PAD") == 1 and "parameter \\DIVF 63" in il and "parameter \\DIVQ 4" in il
    assert il.count("cell \\SB_SPRAM256KA") == 2
    for pin in ("35", "6", "9", "37", "27", "11"):    # clock, UART rx/tx, LEDs busy, done, error
        assert re.search(rf"^set_io \S+ {pin}$", pcf, re.M), pin
    assert top.system.clock_hz == 48_000_000 and top.system.divisor == 4


def test_program_prints_the_icebreaker_loader_command(tmp_path):
    (tmp_path / "top.bin").write_bytes(b"\0" * 16)
    dry = epfpga("program", "--board", "icebreaker", str(tmp_path), "--dry-run")
    assert dry.returncode == 0 and dry.stdout.strip() == f"openFPGALoader --board icebreaker {tmp_path / 'top.bin'}"


@pytest.mark.slow
def test_a_small_system_builds_for_the_icebreaker(tmp_path):
    """A full iCE40 build (2 minutes): SPRAM, SB_MAC16, the PLL; the bitstream and the report.
    Without the coded inputs, which cost about 260 logic cells, and with 256-byte payloads: the
    5-6-3 system fills 4,989 of the 5,280 logic cells and 16 of the 30 EBR (docs/results.md)."""
    out = tmp_path / "build"
    config = dict(TINY, batch=4, hardware={"board": "icebreaker", "coded_inputs": False, "max_payload": 256})
    proc = epfpga("build", "--board", "icebreaker", "--config", toml(tmp_path, **config), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["board"] == "icebreaker" and report["dsp"] == 2 and report["target_mhz"] == 30
    assert report["baud"] == 12_000_000     # the line on the I/O cells' double-data-rate registers
    assert report["utilization"]["ICESTORM_SPRAM"]["used"] == 1 and report["ff"] < report["lut"]
    assert report["utilization"]["ICESTORM_RAM"]["used"] == 16     # (the queue 2, the frame buffer 1)
    assert (out / "top.bin").stat().st_size > 100_000


def test_a_router_still_routing_after_route_minutes_is_stopped_with_exit_1_and_a_report(tmp_path):
    out = tmp_path / "build"
    proc = epfpga("build", "--board", "ulx3s-85f", "--config", toml(tmp_path, **TINY), "--route-minutes", "0.001",
                  "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (f"epfpga: the ulx3s-85f build of custom: still routing after 0.001 min; "
                                                    f"the router's progress is in {out / 'report.json'}")
    report = json.loads((out / "report.json").read_text())
    assert report["routed"] is False and report["route_minutes"] == 0.001 and not report["router"]["complete"]
    assert report["utilization"]["TRELLIS_COMB"]["used"] > 0      # what placement took
    assert not (out / "top.bit").exists()
