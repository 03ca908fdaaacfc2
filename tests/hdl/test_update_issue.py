"""The weight update's issue stage against the plan (``blocks``): every block's words once per
sample of its pass, in order, with their addresses (the diff block's: its pair's slot), the
first and last sample of each pass, and a drain between blocks held by ``in_flight``."""

from __future__ import annotations

import pytest
from amaranth.utils import ceil_log2

from epfpga.hdl.update_issue import UpdateIssue, first_word
from epfpga.hdl.update_plan import blocks

from .neuron_params import params
from .sim_helpers import simulate


def expected(p) -> list[tuple]:
    """``(block, addr, b, first_b, last_b, odd)`` of each word, in issue order."""
    words = []
    for k, blk in enumerate(blocks(p)):
        for i in range(blk.rows):
            for g in range(blk.groups):
                if blk.kind == "diff":
                    addr = ((i >> (p.halves - 1)) << ceil_log2(p.slot_stride(1))) | g   # its pair's slot
                else:
                    addr = first_word(p, blk) + i * blk.groups + g
                odd = int(p.halves > 1 and i % 2 == 1)      # (read in the diff block only)
                words += [(k, addr, b, int(b == 0), int(b == blk.samples - 1), odd) for b in range(blk.samples)]
    return words


def run(p, hold: int):
    dut = UpdateIssue(p)
    words, busy = [], 0

    async def tb(ctx):
        nonlocal busy
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        since = None
        while ctx.get(dut.busy):
            busy += 1
            since = None if since is None else since + 1
            tok = ctx.get(dut.token)
            if tok.valid:
                words.append((ctx.get(dut.block), tok.addr, ctx.get(dut.b), tok.first_b, tok.last_b, tok.odd))
                since = 0
            ctx.set(dut.in_flight, since is not None and 1 <= since <= hold)
            await ctx.tick()
            assert busy < 100_000

    simulate(dut, tb)
    return words, busy


@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])     # the block's limits registered, and decoded
@pytest.mark.parametrize("sizes, lanes", [((20, 12, 5), 4), ((20, 9, 7, 5), 2)])
@pytest.mark.parametrize("batch", [1, 2, 8])
def test_an_update_issues_every_block_in_order_and_drains_between_them(sizes, lanes, batch, board):
    p = params(sizes=sizes, lanes=lanes, batch=batch, board=board)
    hold = 3
    words, busy = run(p, hold)
    assert words == expected(p)
    assert busy == len(words) + len(blocks(p)) * (hold + 1)
