"""The feedback sums against their golden twins ``feedback_sum`` and ``activation``: the
accumulator memory modelled as the neuron update has it (a word written lands after the next
cycle's read), rows of one word (each word follows itself: ``repeat``) and of several, states
at their rails."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from epfpga.golden.fixed.activation import activation
from epfpga.golden.fixed.neuron_update import feedback_sum
from epfpga.hdl.feedback_sum import FeedbackSum
from epfpga.hdl.neuron_timing import direct_accumulators, fresh_accumulator_reads

from .neuron_params import params
from .sim_helpers import simulate


def run(dut: FeedbackSum, memory: list[list[int]], words) -> tuple[list[list[int]], list[list[int]]]:
    """Feed ``(g, products)`` words one a cycle; the memory after the last write, and the
    states of each word as they come.  The word's accumulator comes with its products: where
    the sum is registered here (``direct``), read the cycle before, after the write of a sum
    of three cycles before has landed; else stale where the word was written the cycle before
    (``repeat``)."""
    memory = [list(word) for word in memory]
    lanes, states, writes = len(memory[0]), [], []

    async def tb(ctx):
        pending = None
        for cycle in range(len(words) + dut.q_latency):
            while dut.direct and writes and writes[0][0] <= cycle - 3:
                _, g, sums = writes.pop(0)
                memory[g] = sums
            if cycle < len(words):
                g, products = words[cycle]
                ctx.set(dut.products, products)
                ctx.set(dut.acc, memory[g])
                if not dut.direct:
                    ctx.set(dut.repeat, pending is not None and pending[0] == g)
            if pending is not None:
                memory[pending[0]] = pending[1]
                pending = None
            await ctx.tick()
            if cycle < len(words):
                sums = [ctx.get(dut.sums[l]) for l in range(lanes)]
                if dut.direct:
                    writes.append((cycle, words[cycle][0], sums))
                else:
                    pending = (words[cycle][0], sums)
            if cycle >= dut.q_latency - 1 and cycle - dut.q_latency + 1 < len(words):
                states.append([ctx.get(dut.q[l]) for l in range(lanes)])
        for _, g, sums in writes:
            memory[g] = sums
        if pending is not None:
            memory[pending[0]] = pending[1]

    simulate(dut, tb)
    return memory, states


@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])
@pytest.mark.parametrize("units, forwarding, direct", [(4, True, False), (11, False, False), (11, False, True)])
@pytest.mark.parametrize("name", ["hard_sigmoid", "my_sigmoid"])
def test_feedback_sums_and_states_equal_the_model(units, forwarding, direct, name, board):
    lanes = 4
    p = params(sizes=(6, units, 5), lanes=lanes, activation=name, board=board)
    spec = p.spec
    dut = FeedbackSum(p, forwarding=forwarding, direct=direct)
    rng = np.random.default_rng(units)
    rows, groups = p.sizes[2], p.groups(units)
    w = torch.from_numpy(rng.integers(-spec.w_max, spec.w_max + 1, (rows, groups * lanes)))
    q = torch.from_numpy(rng.integers(0, spec.one + 1, rows))
    q[0], q[1] = spec.one, 0
    w[0, :] = spec.w_max
    start = torch.from_numpy(rng.integers(-(spec.one << spec.fw), spec.one << spec.fw, groups * lanes))
    words = [(g, [int(w[i, g * lanes + l] * q[i]) for l in range(lanes)]) for i in range(rows) for g in range(groups)]
    memory, states = run(dut, start.reshape(groups, lanes).tolist(), words)
    u = start + feedback_sum(q[None], w)[0]
    assert sum(memory, []) == u.tolist()
    last_row = states[-groups:]
    assert sum(last_row, []) == activation(spec, u).tolist()


def test_the_accumulators_are_read_directly_on_the_ice40_where_every_row_is_three_words():
    """A row of three words or more: each word's read, the cycle before its products, comes
    after the previous row's write of it has landed, so the iCE40 reads it into the add with
    no bypass; the ECP5 reads it with no bypass too, but registers it beside the products; a
    net with a row of two words (the read would meet the write) or one (the forwarding) keeps
    the transparent read."""
    assert direct_accumulators(params(sizes=(64, 256, 10), lanes=2, board="icebreaker"))
    assert direct_accumulators(params(sizes=(6, 9, 10, 3), lanes=4, board="icebreaker"))    # rows of 3 and 3 words
    assert not direct_accumulators(params(sizes=(6, 9, 8, 3), lanes=4, board="icebreaker"))  # W_3's rows: 2 words
    assert not direct_accumulators(params(sizes=(6, 4, 5), lanes=4, board="icebreaker"))    # a row of one word
    assert not direct_accumulators(params(sizes=(64, 256, 10), lanes=2, board="ulx3s-85f"))
    assert fresh_accumulator_reads(params(sizes=(64, 256, 10), lanes=2, board="ulx3s-85f"))   # (no bypass there either)
    assert not fresh_accumulator_reads(params(sizes=(6, 9, 8, 3), lanes=4, board="ulx3s-85f"))
