"""The batch sum against its golden twins ``product_difference`` and ``bias_difference``: the
products fed as the weight update feeds them (``W_n``: one sample a cycle; ``W_1``: two samples
a cycle from the state differences; biases: the states), words back to back and with gaps, at
the rails of the states."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from amaranth import signed

from epfpga.golden.fixed.weight_update import bias_difference, product_difference
from epfpga.hdl.batch_sum import BatchSum

from .sim_helpers import simulate

LANES, BATCH, FS = 4, 8, 8
ONE = 1 << FS
PRODUCT, SUM = signed(2 * (FS + 1) + 3), signed(1 + (BATCH << (2 * FS)).bit_length())


def states(rng, rows: int) -> torch.Tensor:
    """States of ``BATCH`` samples, a third of them at the rails 0 and ``2**fs``."""
    q = rng.integers(0, ONE + 1, (BATCH, rows))
    rail = rng.random((BATCH, rows))
    q[rail < 0.15], q[rail > 0.85] = 0, ONE
    return torch.from_numpy(q)


def run(words: list[list[tuple[list[int], list[int]]]], gap: int) -> list[list[int]]:
    """Feed each word's cycles (``m1``, ``m2`` of every lane), ``gap`` idle cycles between
    words; the sums after each word's last cycle (and ``held``, the running sum, equals them
    in the cycle after it, whatever comes then)."""
    dut = BatchSum(LANES, PRODUCT, SUM, held=True)
    got = []

    async def tb(ctx):
        for word in words:
            for k, (m1, m2) in enumerate(word):
                ctx.set(dut.valid, 1)
                ctx.set(dut.first, k == 0)
                for l in range(LANES):
                    ctx.set(dut.m1[l], m1[l])
                    ctx.set(dut.m2[l], m2[l])
                if k == len(word) - 1:
                    got.append([ctx.get(dut.d[l]) for l in range(LANES)])
                await ctx.tick()
                if k == len(word) - 1:
                    assert [ctx.get(dut.held[l]) for l in range(LANES)] == got[-1]
            for _ in range(gap):
                ctx.set(dut.valid, 0)
                ctx.set(dut.m1, [int(v) for v in np.full(LANES, 12345)])   # ignored while not valid
                await ctx.tick()

    simulate(dut, tb)
    return got


@pytest.mark.parametrize("gap", [0, 2])
def test_weight_words_equal_product_difference(gap):
    rng = np.random.default_rng(gap)
    rows = 3
    post_a, post_b, pre_a, pre_b = (states(rng, n) for n in (rows, rows, LANES, LANES))
    want = product_difference(post_b, pre_b, post_a, pre_a, clamped_pre=False)
    words = [[([int(post_b[s, i] * pre_b[s, j]) for j in range(LANES)], [int(post_a[s, i] * pre_a[s, j]) for j in range(LANES)])
              for s in range(BATCH)] for i in range(rows)]
    assert run(words, gap) == want.tolist()


def test_first_layer_words_two_samples_a_cycle_equal_product_difference():
    rng = np.random.default_rng(7)
    rows = 3
    post_a, post_b = states(rng, rows), states(rng, rows)
    x = states(rng, LANES)
    want = product_difference(post_b, x, post_a, x, clamped_pre=True)
    diff = post_b - post_a
    words = [[([int(diff[s, i] * x[s, j]) for j in range(LANES)], [int(-diff[s + 1, i] * x[s + 1, j]) for j in range(LANES)])
              for s in range(0, BATCH, 2)] for i in range(rows)]
    assert run(words, 0) == want.tolist()


def test_bias_words_and_the_extremes_equal_bias_difference():
    rng = np.random.default_rng(3)
    post_a, post_b = states(rng, LANES), states(rng, LANES)
    post_b[:, 0], post_a[:, 0] = ONE, 0       # the largest sum
    post_b[:, 1], post_a[:, 1] = 0, ONE       # the smallest
    want = bias_difference(post_b, post_a)
    words = [[([int(v) for v in post_b[s]], [int(v) for v in post_a[s]]) for s in range(BATCH)]]
    got = run(words, 0)
    assert got == [want.tolist()]
    assert got[0][:2] == [BATCH * ONE, -BATCH * ONE]
