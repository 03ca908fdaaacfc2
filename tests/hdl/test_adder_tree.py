"""Balanced adder trees: the exact sum at the rails, ``ceil(log2 n)`` adds deep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from amaranth import Module, Signal, signed
from amaranth.hdl._ast import Operator
from amaranth.sim import Simulator

from epfpga.hdl.adder_tree import tree_sum


def depth(value) -> int:
    if isinstance(value, Operator) and value.operator == "+":
        return 1 + max(depth(v) for v in value.operands)
    return 0


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 64])
def test_the_sum_is_exact_at_the_rails_and_log_deep(count):
    shape = signed(26)
    values = [Signal(shape, name=f"v{k}") for k in range(count)]
    total = tree_sum(values)
    assert depth(total) == math.ceil(math.log2(count))
    lo, hi = -(1 << 25), (1 << 25) - 1
    rng = np.random.default_rng(count)
    cases = [[lo] * count, [hi] * count, [lo, hi] * (count // 2) + [lo] * (count % 2)]
    cases += [[int(v) for v in rng.integers(lo, hi + 1, count)] for _ in range(20)]
    m = Module()
    out = Signal(total.shape())
    m.d.comb += out.eq(total)
    got = []

    async def tb(ctx):
        for case in cases:
            for v, x in zip(values, case):
                ctx.set(v, x)
            got.append(ctx.get(out))

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()
    assert got == [sum(case) for case in cases]


def test_no_values_is_refused():
    with pytest.raises(ValueError, match="no values"):
        tree_sum([])


@pytest.mark.parametrize("count", [2, 4])
def test_a_register_more_than_the_levels_ask_is_the_roots(count):
    """Two or four values have no register between their levels (:func:`tree_latency` 0); one
    register is then the sum's own, a cycle after the values; two are refused."""
    values = [Signal(signed(8), name=f"v{k}") for k in range(count)]
    m = Module()
    total = tree_sum(values, m, latency=1)
    out = Signal(total.shape())
    m.d.comb += out.eq(total)
    got = []

    async def tb(ctx):
        for t in range(4):
            for k, v in enumerate(values):
                ctx.set(v, t * 10 + k - 60)
            await ctx.tick()
            got.append(ctx.get(out))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert got == [sum(t * 10 + k - 60 for k in range(count)) for t in range(4)]
    with pytest.raises(ValueError, match="at most 1 registers"):
        tree_sum(values, Module(), latency=2)
