"""The netlist that goes on the board: the core after the ECP5 or the iCE40 build's synthesis,
simulated with the cell models (yosys' own, and our MULT18X18D and DP16KD), bit-exact to the
fixed-point model through the same monitors and checker as the RTL, and on the same schedule."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.contract import programs
from epfpga.contract.params import CoreParams
from epfpga.hdl import schedule
from epfpga.hdl.core import Core
from epfpga.trace import compare
from epfpga.verification import netlist
from epfpga.verification.simulators import SimulatorError
from epfpga.verification.trainer import CheckedRtlTrainer

from tests.hdl.helpers import random_data, traces

# 48 inputs: W1 (72 words of 64 bits) goes to DP16KD in its 36-bit mode, the rest to LUT RAM;
# B = 4: the weight update's rounding units serve two lanes each (their streams in LUT RAM)
SMALL = dict(sizes=[48, 6, 3], lanes=4, batch=4, lrs=[0.1, 0.1], t1=3, t2=2, fixed={"rounding": "stochastic"})


def check(cfg, x, y, sim: str, target: str = "ecp5") -> None:
    rtl = CheckedRtlTrainer(cfg, sim=sim, netlist=target)
    if sim == "verilator":   # a netlist's C++ compiled for build time (simulators.NETLIST_OPT)
        log = (rtl.driver.transport.model.directory / "build.log").read_text()
        assert " -O0 " in log and " -O2 " not in log
    try:
        fixed, got = traces(cfg, x, y, rtl)
    finally:
        rtl.close()
    result = compare(fixed, got)
    assert result.first is None, result.first
    assert rtl.mismatches == 0
    model = schedule.program_cycles(rtl.hw, programs.training(cfg.estimator, cfg.t1, cfg.t2))
    for counters in rtl.cycles:
        assert {k: counters[k] for k in model.counters()} == model.counters()


def test_the_netlist_has_the_device_cells_and_no_inferred_multiply():
    text = netlist.ecp5(Core(CoreParams.from_config(config_mod.from_dict(SMALL))))
    top = text[:text.index("endmodule")]
    cells = set(re.findall(r"^\s+(\w+) (?:#\(|_\d+_|\\)", top, re.M))
    assert {"MULT18X18D", "DP16KD", "TRELLIS_DPR16X4", "TRELLIS_FF", "LUT4"} <= cells, cells
    assert len(re.findall(r"^\s+MULT18X18D ", top, re.M)) == 2 * 2 * 4    # two a lane for each engine (own_banks)


def test_a_small_config_is_bit_exact_in_verilator():
    cfg = config_mod.from_dict(SMALL)
    x, y = random_data(cfg, np.random.default_rng(5), batches=2)
    check(cfg, x, y, "verilator")


def icebreaker(cfg):
    return cfg.replace(hardware=dataclasses.replace(cfg.hardware, board="icebreaker"))


def test_the_ice40_netlist_has_spram_mac16_and_ebr():
    text = netlist.ice40(Core(CoreParams.from_config(icebreaker(config_mod.from_dict(SMALL)))))
    top = text[:text.index("endmodule")]
    count = {cell: len(re.findall(rf"^\s+{cell} ", top, re.M)) for cell in ("SB_SPRAM256KA", "SB_MAC16", "SB_RAM40_4K")}
    assert count["SB_SPRAM256KA"] == 4 and count["SB_MAC16"] == 2 * 4 and count["SB_RAM40_4K"] > 0, count


def test_a_small_config_is_bit_exact_on_the_ice40_netlist_in_verilator():
    """The iCEBreaker's synthesis: the weights in SPRAM (one port, the update reading each
    word once), the products on SB_MAC16, the other memories in EBR."""
    cfg = icebreaker(config_mod.from_dict(SMALL))
    x, y = random_data(cfg, np.random.default_rng(5), batches=2)
    check(cfg, x, y, "verilator", "ice40")


@pytest.mark.slow
def test_the_ice40_netlist_is_bit_exact_in_icarus_with_the_spram_starting_unknown():
    """Icarus propagates the SPRAM's unknown initial words: only what the host writes counts."""
    cfg = icebreaker(config_mod.from_dict(SMALL))
    x, y = random_data(cfg, np.random.default_rng(5), batches=2)
    check(cfg, x, y, "icarus", "ice40")


@pytest.mark.slow
@pytest.mark.parametrize("lanes, pairs", [(4, True), (2, False)])
def test_a_digits_mini_batch_is_bit_exact_on_the_ice40_netlist_in_verilator(lanes, pairs):
    """(P = 2, one sample at a time: the iCEBreaker's target, within its block RAM)"""
    cfg = icebreaker(config_mod.load("digits").replace(lanes=lanes, batch=4))
    cfg = cfg.replace(hardware=dataclasses.replace(cfg.hardware, pairs=pairs))
    ds = data_mod.load("digits")
    check(cfg, ds.train_x[:cfg.batch], ds.train_y[:cfg.batch], "verilator", "ice40")


@pytest.mark.slow
def test_a_digits_mini_batch_is_bit_exact_in_verilator():
    cfg = config_mod.load("digits").replace(lanes=4)
    ds = data_mod.load("digits")
    check(cfg, ds.train_x[:cfg.batch], ds.train_y[:cfg.batch], "verilator")


def test_an_unknown_target_is_refused():
    core = Core(CoreParams.from_config(config_mod.from_dict(SMALL)))
    core._MustUse__silence = True    # refused before it is elaborated
    with pytest.raises(SimulatorError, match="--netlist ice41: no such target [(]choose from ecp5, ice40[)]"):
        netlist.synthesised("ice41", core)
