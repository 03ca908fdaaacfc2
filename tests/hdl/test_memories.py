"""Memory specs: LUT RAM asked for only where a memory is one LUT-RAM cell deep, and only on
the ECP5 (the iCE40 has none, and yosys refuses the request there)."""

from __future__ import annotations

import re

from amaranth.back import rtlil

from epfpga import config as config_mod
from epfpga.hdl import memories as mem
from epfpga.hdl.neuron_update import NeuronUpdate
from epfpga.hdl.params import CoreParams
from epfpga.verification.netlist import ECP5


def styled(p: CoreParams, platform, style: str = "distributed") -> set[str]:
    text = rtlil.convert(NeuronUpdate(p), platform=platform)
    return set(re.findall(rf'attribute \\ram_style "{style}"\n\s*memory width \d+ size \d+ \\(\w+)', text))


def test_shallow_memories_ask_for_lut_ram_on_the_ecp5_only():
    wide = CoreParams.from_config(config_mod.from_dict(dict(sizes=[64, 40, 10], lanes=16, batch=2, lrs=[0.5, 0.5])))
    assert mem.accumulators(wide, 1).depth == 2 * 4 and mem.drive(wide).depth == 3
    assert styled(wide, ECP5()) == {"acc1", "drive"}
    assert styled(wide, None) == set()
    deep = CoreParams.from_config(config_mod.from_dict(dict(sizes=[64, 256, 10], lanes=4, batch=2, lrs=[0.5, 0.5])))
    assert mem.accumulators(deep, 1).depth == 128 and styled(deep, ECP5()) == set()


def test_one_or_two_words_go_to_flip_flops():
    """784-128-10's drive at P = 64 is two words: in LUT RAM, 1,088 cells of 16 words."""
    p = CoreParams.from_config(config_mod.load("mnist").replace(lanes=64))
    assert mem.drive(p).depth == 2 and mem.biases(p, 1).depth == 2 and mem.biases(p, 2).depth == 1
    assert mem.shallow(2) == "logic" and mem.shallow(3) == "distributed" and mem.shallow(49) is None
    assert styled(p, ECP5(), "logic") == {"drive"} and styled(p, ECP5()) == {"acc1"}
    assert styled(p, None, "logic") == set()
