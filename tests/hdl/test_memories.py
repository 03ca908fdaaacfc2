"""Memory specs: LUT RAM asked for only where a memory is one LUT-RAM cell deep, and only on
the ECP5 (the iCE40 has none, and yosys refuses the request there)."""

from __future__ import annotations

import re

from amaranth.back import rtlil

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.hdl import memories as mem
from epfpga.hdl.device import ECP5
from epfpga.hdl.neuron_update import NeuronUpdate
from epfpga.hdl.update_plan import diff_memory


def styled(p: CoreParams, platform, style: str = "distributed") -> set[str]:
    text = rtlil.convert(NeuronUpdate(p), platform=platform)
    return set(re.findall(rf'attribute \\ram_style "{style}"\n(?:\s*attribute [^\n]*\n)*\s*memory width \d+ size \d+ \\(\w+)', text))


def test_shallow_memories_ask_for_lut_ram_on_the_ecp5_only():
    wide = CoreParams.from_config(config_mod.from_dict(dict(sizes=[64, 40, 10], lanes=16, batch=2, lrs=[0.5, 0.5])))
    assert mem.accumulators(wide, 1).depth == 2 * 2 * 4      # the sums and the drive of the pair
    assert styled(wide, ECP5()) == {"acc1"}
    assert styled(wide, None) == set()
    deep = CoreParams.from_config(config_mod.from_dict(dict(sizes=[64, 256, 10], lanes=4, batch=2, lrs=[0.5, 0.5])))
    assert mem.accumulators(deep, 1).depth == 256 and styled(deep, ECP5()) == set()


def test_one_or_two_words_go_to_flip_flops_and_the_drive_shares_the_sums_cells():
    """784-128-10 at P = 64: the biases are one or two words of 1,024 bits (in LUT RAM, 256
    cells of 16 words each); layer 1's sums and drive are 8 words, one cell deep."""
    p = CoreParams.from_config(config_mod.load("mnist").replace(lanes=64))
    assert mem.biases(p, 1).depth == 2 and mem.biases(p, 2).depth == 1 and mem.accumulators(p, 1).depth == 8
    assert mem.biases(p, 1).style == "logic" and mem.biases(p, 2).style == "logic"
    assert mem.shallow(2) == "logic" and mem.shallow(3) == "distributed" and mem.shallow(49) is None
    assert styled(p, ECP5(), "logic") == set() and styled(p, ECP5()) == {"acc1"}


def test_the_biases_share_a_block_ram_where_the_first_layer_has_one():
    """Where the first layer's biases are in block RAM (every memory on the iCE40, which has
    no LUT RAM; one deeper than LUT RAM takes on the ECP5) the layers' biases share it up to a
    block's 256 words, but no further: ``digits`` at P = 4 keeps ``b_2``'s 3 words after
    ``b_1``'s 64 on both.  On the ECP5 a first layer's few words in LUT RAM keep a memory a
    layer (784-128-10 at P = 32)."""
    def params(config, lanes, board, **keys):
        cfg = config_mod.load(config).replace(lanes=lanes, **keys)
        return CoreParams.from_config(cfg.replace(hardware=cfg.hardware.__class__(board=board)))

    def layout(p):
        return [(bm.spec.name, bm.spec.depth, bm.bases) for bm in mem.bias_memories(p)]

    p = params("digits", 4, "icebreaker")
    assert layout(p) == [("b1_2", 67, (0, 64))]
    assert mem.bias_index(p, 2) == 0 and mem.bias_memory(p, 2).base(2) == 64
    assert mem.biases(p, 2).depth == 3 and mem.bias_ports(p).addr_width == 7
    assert layout(params("digits", 4, "ulx3s-85f")) == [("b1_2", 67, (0, 64))]
    assert mem.bias_index(params("digits", 4, "ulx3s-85f"), 2) == 0
    assert layout(params("mnist", 32, "ulx3s-85f")) == [("b1", 4, (0,)), ("b2", 1, (0,))]
    assert layout(params("mnist", 32, "icebreaker")) == [("b1_2", 5, (0, 4))]
    assert layout(params("digits", 1, "icebreaker")) == [("b1", 256, (0,)), ("b2", 10, (0,))]   # 266 > 256
    wide = params("digits", 4, "icebreaker", sizes=(64, 1000, 10))      # b1 250 words, b2 3: 253
    assert layout(wide) == [("b1_2", 253, (0, 250))]


def test_the_weights_share_a_memory_up_to_twice_the_first_layers_power_of_two_on_the_ecp5():
    """``digits`` at P = 4: ``W_1`` is 4,096 words, a power of two already; on the ECP5 ``W_2``'s
    640 go after it (in 8,192-word blocks), and in the iCEBreaker's SPRAM too (16 K words a
    block), but a layer one word a lane past the doubled depth keeps a memory of its own."""
    def layout(board, sizes=(64, 256, 10)):
        cfg = config_mod.load("digits").replace(lanes=4, sizes=sizes)
        p = CoreParams.from_config(cfg.replace(hardware=cfg.hardware.__class__(board=board)))
        return [(wm.spec.name, wm.spec.depth, wm.bases) for wm in mem.weight_memories(p)]

    assert layout("ulx3s-85f") == [("W1_2", 4736, (0, 4096))]
    assert layout("icebreaker") == [("W1_2", 4736, (0, 4096))]
    assert layout("ulx3s-85f", (64, 256, 64)) == [("W1_2", 8192, (0, 4096))]     # W_2: 64 rows of 64 words
    assert layout("ulx3s-85f", (64, 256, 65)) == [("W1", 4096, (0,)), ("W2", 4160, (0,))]


def test_one_sample_at_a_time_keeps_one_copy_of_the_inputs_and_half_the_scratch():
    """``hardware.pairs = false``: the accumulators hold one sample's sums and drive, the state
    memories ping, pong and ``s*`` of one sample, the inputs one memory (no even and odd banks),
    and the differences one sample a word."""
    cfg = config_mod.load("digits").replace(lanes=2, batch=4)
    pair = CoreParams.from_config(cfg)
    alone = CoreParams.from_config(cfg.replace(hardware=cfg.hardware.__class__(pairs=False)))
    assert mem.accumulators(pair, 1).depth == 2 * mem.accumulators(alone, 1).depth == 4 * 128
    assert (pair.state_slots, alone.state_slots) == (3 * 2 + 8, 3 + 8)
    assert mem.input_banks(pair) is not None and mem.input_banks(alone) is None
    assert (diff_memory(pair).lanes, diff_memory(alone).lanes) == (4, 2)
    assert diff_memory(pair).depth * 2 == diff_memory(alone).depth == 4 * 128
