"""The row sums against their golden twin ``forward_sum``: rows of several words, back to back
and with idle cycles between words, states at their rails, at lane counts whose adder tree has
0, 1 and 2 registers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from epfpga.golden.fixed.neuron_update import forward_sum
from epfpga.hdl.row_sum import RowSum

from .neuron_params import params
from .sim_helpers import simulate


def run(dut: RowSum, words, gap: int) -> list[list[int]]:
    """Feed ``(first, products)`` words, ``gap`` idle cycles after each; the sums of both
    samples after every row's last word (the word before a ``first`` one, and the last)."""
    got = []

    async def tb(ctx):
        schedule = []
        for k, (first, products) in enumerate(words):
            schedule.append((1, first, products, k + 1 == len(words) or words[k + 1][0]))
            schedule += [(0, 0, None, False)] * gap
        schedule += [(0, 0, None, False)] * dut.latency
        for cycle, (valid, first, products, row_done) in enumerate(schedule):
            ctx.set(dut.valid, valid)
            ctx.set(dut.first, first)
            if products is not None:
                ctx.set(dut.products, products)
            else:      # an idle cycle's products are not the row's
                ctx.set(dut.products, [[12345] * len(dut.products[0])] * 2)
            done = cycle >= dut.latency and schedule[cycle - dut.latency][3]
            if done:
                got.append([ctx.get(dut.sums[h]) for h in range(2)])
            await ctx.tick()
            if done and "held" in dut.signature.members:   # the accumulators, a cycle later
                assert [ctx.get(dut.held[h]) for h in range(2)] == got[-1]

    simulate(dut, tb)
    return got


@pytest.mark.parametrize("lanes, board, registers", [(4, "icebreaker", 0), (4, "ulx3s-85f", 1), (16, "ulx3s-85f", 1),
                                                   (64, "ulx3s-85f", 2)])
@pytest.mark.parametrize("gap", [0, 1])
@pytest.mark.parametrize("held", [False, True])
def test_row_sums_equal_forward_sum(lanes, board, registers, gap, held):
    """(At 4 lanes the ECP5 registers the tree's root: its add and the accumulator's were one
    stage.)"""
    p = params(sizes=(3 * lanes - 1, 5, 3), lanes=lanes, board=board)
    dut = RowSum(p, held=held)
    assert dut.latency == registers
    rng = np.random.default_rng(lanes + gap)
    rows, width = 4, p.sizes[0]
    w = torch.from_numpy(rng.integers(-p.spec.w_max, p.spec.w_max + 1, (rows, width)))
    q = torch.from_numpy(rng.integers(0, p.spec.one + 1, (2, width)))
    q[0, :lanes], w[0, :] = p.spec.one, p.spec.w_max        # a row at the rails
    words = []
    for i in range(rows):
        for g in range(p.groups(width)):
            cols = [g * lanes + l for l in range(lanes)]
            words.append((g == 0, [[int(w[i, j] * q[h, j]) if j < width else 0 for j in cols] for h in range(2)]))
    want = forward_sum(q, w).T.tolist()
    assert run(dut, words, gap) == want
