"""The weight update's one read a word: for every batch and lane count the gateware takes, no
word's read falls in the cycle of another word's write, so one port serves a weight memory."""

from __future__ import annotations

import pytest

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.hdl.distribution import operand_lead
from epfpga.hdl import multiplier
from epfpga.hdl.update_plan import blocks, held_sums, held_words, single_port_weights, word_read_sample, write_stage


def params(batch: int, lanes: int, board: str = "icebreaker", pairs: bool = True) -> CoreParams:
    """(``board`` sizes the timing registers: the iCEBreaker has none, the ULX3S registers the
    shared operands' broadcast, one cycle more of lead up to 16 lanes, and the multipliers'
    products, a cycle more)"""
    return CoreParams.from_config(config_mod.from_dict(dict(sizes=[20, 12, 5], lanes=lanes, batch=batch, lrs=[0.1, 0.1],
                                                            hardware=dict(board=board, pairs=pairs))))


@pytest.mark.parametrize("pairs", [True, False])
@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
@pytest.mark.parametrize("batch", [1, 2, 4, 8, 16, 32, 64, 128])
@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16, 32, 64])
def test_reads_and_writes_of_a_weight_block_never_share_a_cycle(batch, lanes, board, pairs):
    """Words issue ``S`` cycles apart; word ``k`` is read in cycle ``k·S + r + lead`` and
    written in ``k·S + S − 1 + write_stage`` (cycles from the block's first issue).  ``W_1``
    takes a pair's samples a cycle, or one without pairs."""
    p = params(batch, lanes, board, pairs)
    for blk in blocks(p):
        if blk.kind != "W":
            continue
        r = word_read_sample(p, blk)
        if blk.samples < 2:
            assert r is None and not single_port_weights(p)
            continue
        words = blk.rows * blk.groups
        reads = {k * blk.samples + r + operand_lead(p) for k in range(words)}
        writes = {k * blk.samples + blk.samples - 1 + write_stage(p) for k in range(words)}
        assert 0 <= r < blk.samples and not reads & writes, (blk, r)
    assert single_port_weights(p) == (batch >= (4 if pairs and batch > 1 else 2))


def test_both_read_samples_are_taken():
    """The last sample where the write stage is not a multiple of the pass, else the first."""
    p = params(4, 4)     # W_1: 2 cycles a word, W_2: 4; the write stage 8 + 2 + 1 (the held sum)
    w1, w2 = (blk for blk in blocks(p) if blk.kind == "W")
    assert (write_stage(p), operand_lead(p)) == (11, 0) and (w1.samples, w2.samples) == (2, 4)
    assert (word_read_sample(p, w1), word_read_sample(p, w2)) == (1, 3)
    p = params(4, 4, "ulx3s-85f")     # the broadcast registered: the read 1, the write 11
    assert (write_stage(p), operand_lead(p)) == (11, 1)
    assert [word_read_sample(p, blk) for blk in blocks(p) if blk.kind == "W"] == [0, 3]
    p = params(4, 32)    # the write 2 + 8 + 2 + 1 cycles after issue, the read 2
    assert (write_stage(p), operand_lead(p)) == (13, 2)
    assert [word_read_sample(p, blk) for blk in blocks(p) if blk.kind == "W"] == [1, 3]


@pytest.mark.parametrize("lanes, batch, pairs, held, held_ecp5", [
    (2, 4, False, True, True),     # digits' target on the iCEBreaker: every word read in its last sample
    (1, 8, True, True, True),      # W_1 a pair's 4 cycles a word, W_2 8
    (2, 4, True, False, False),    # W_1 2 cycles a word: not longer than the 3 (2 on the ECP5) from its read to the sweep
    (4, 2, False, False, False),
    (8, 16, True, True, False),    # on the ECP5 each block reads its word in its first sample
])
def test_the_word_goes_to_the_sweep_from_its_read_only_where_the_read_holds_it(lanes, batch, pairs, held, held_ecp5):
    """Every ``W`` block reads its word in the last sample, and a pass is longer than the
    multipliers' latency and the held batch sum's cycle: the next word's read comes after the
    sweep takes the word.  On every board: the iCE40's batch sum is held a cycle, the ECP5's
    is not (and its weight update's multipliers have no fabric register)."""
    for board, want in (("icebreaker", held), ("ulx3s-85f", held_ecp5)):
        p = params(batch, lanes, board, pairs)
        assert held_words(p) == want, board
        late = multiplier.update_latency(p) + held_sums(p)     # (the held sum's cycle: the iCEBreaker's)
        rule = all(blk.samples > late and (blk.kind == "b" or word_read_sample(p, blk) == blk.samples - 1)
                   for blk in blocks(p) if blk.kind != "diff")
        assert want == rule, board
