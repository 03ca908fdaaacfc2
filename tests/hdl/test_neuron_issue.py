"""The issue stage against the schedule model: the words a drive pass and a step issue, in
order, with their rows, words, samples and weight addresses, the drive's gaps, a pass's drain
held by ``in_flight``, and steps that chain."""

from __future__ import annotations

import pytest

from epfpga.hdl import memories as mem
from epfpga.hdl.neuron_issue import NeuronIssue
from epfpga.hdl.neuron_timing import chains, drive_gaps, drive_issue_cycles

from .neuron_params import params
from .sim_helpers import simulate


def expected(p, drive: bool) -> list[tuple]:
    """``(layer, i, g, h, addr)`` of each word, in issue order."""
    words = []
    for n in ([1] if drive else range(2, p.layers + 1)):
        base, groups = mem.weight_memory(p, n).base(n), p.weight_groups(n)
        for h in ([0] if drive else range(p.halves)):
            words += [(n, i, g, h, base + i * groups + g) for i in range(p.sizes[n]) for g in range(groups)]
    return words


def run(p, *, drive: bool, steps: int = 1, hold: int = 0):
    """Start a pass (``steps`` steps asked at once); ``in_flight`` for the ``hold`` cycles after
    each pass's last issue.  Returns the words issued, with the cycle of each, the cycles busy,
    and the cycles of ``next_step``."""
    dut = NeuronIssue(p)
    words, nexts = [], []
    busy = 0

    async def tb(ctx):
        nonlocal busy
        ctx.set(dut.drive, drive)
        ctx.set(dut.more, steps > 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        left, cycle, since = steps, 0, None
        while ctx.get(dut.busy):
            busy += 1
            tok = ctx.get(dut.token)
            since = None if since is None else since + 1
            if tok.valid:
                # (the iCEBreaker's token carries its row as its word and lane only)
                row = tok.i_word * p.lanes + tok.i_lane
                words.append((cycle, (ctx.get(dut.layer), row, tok.g, tok.h, ctx.get(dut.addr))))
                since = 0 if tok.last_row and tok.last_g else since
            ctx.set(dut.in_flight, since is not None and 1 <= since <= hold)
            taken = ctx.get(dut.next_step)
            cycle += 1
            await ctx.tick()
            if taken:      # (the sequencer's count of steps is a register)
                nexts.append(cycle - 1)
                left -= 1
                ctx.set(dut.more, left > 1)
            assert cycle < 10_000

    simulate(dut, tb)
    return words, busy, nexts


@pytest.mark.parametrize("sizes, lanes", [((20, 12, 5), 4), ((3, 4, 3), 4), ((20, 9, 7, 5), 2)])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])
def test_a_drive_pass_issues_the_rows_of_w1(sizes, lanes, batch, board):
    p = params(sizes=sizes, lanes=lanes, batch=batch, board=board)
    words, busy, _ = run(p, drive=True)
    assert [w for _, w in words] == expected(p, drive=True)
    assert words[-1][0] + 1 == drive_issue_cycles(p)
    gaps = {b - a for (a, _), (b, _) in zip(words, words[1:])}
    assert gaps == ({2} if drive_gaps(p) else {1})
    assert busy == drive_issue_cycles(p) + 1        # the drain's cycle that sees nothing in flight


@pytest.mark.parametrize("sizes, lanes", [((20, 12, 5), 4), ((20, 9, 7, 5), 2)])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])
def test_a_step_issues_each_matrix_for_each_sample_and_drains_while_words_are_in_flight(sizes, lanes, batch, board):
    p = params(sizes=sizes, lanes=lanes, batch=batch, board=board)
    hold = 5
    words, busy, nexts = run(p, drive=False, hold=hold)
    assert [w for _, w in words] == expected(p, drive=False)
    assert not nexts
    passes = p.layers - 1
    assert busy == len(words) + passes * (hold + 1)     # back to back within a pass; each drains


def test_steps_that_chain_follow_one_another_without_a_drain():
    p = params(sizes=(64, 32, 10), lanes=4, batch=4)
    assert chains(p)
    words, busy, nexts = run(p, drive=False, steps=3, hold=4)
    per_step = expected(p, drive=False)
    assert [w for _, w in words] == per_step * 3
    assert [c for c, _ in words] == list(range(len(words)))
    assert nexts == [len(per_step) - 1, 2 * len(per_step) - 1]
    assert busy == len(words) + 4 + 1
