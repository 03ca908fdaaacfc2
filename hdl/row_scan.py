"""The scan both pipelines make over a matrix: row by row, ``P``-lane word by word."""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class RowScan(wiring.Component):
    """Row, word-in-row and linear word counters of a row-major scan.

    Parameters
    ----------
    lanes : int
        ``P``; rows are numbered also as (word, lane) of a ``P``-lane unit memory.
    rows, groups, words : int
        Upper bounds of the row, the word within a row and the linear word address.

    Attributes
    ----------
    restart : In(1)
        Back to row 0, word 0 at the next edge, the linear address to ``base``.
    base : In
        The linear address of row 0, word 0 (a matrix that starts inside its memory).
    advance : In(1)
        Next word at the next edge; with ``last_group`` the next row.
    last_group : In(1)
        The current word is the row's last (the caller knows the row's length).
    row, row_word, row_lane, group, addr : Out
        Row ``i``, ``floor(i / P)``, ``i mod P``, word within the row, linear word address.
    next_row, next_group : Out
        The row and word within the row after the next edge (a caller registers what it
        compares them with, so that no compare follows the counters: timing).
    """

    def __init__(self, lanes: int, rows: int, groups: int, words: int):
        self.lanes = lanes
        super().__init__({
            "restart": In(1), "base": In(range(words + 1)), "advance": In(1), "last_group": In(1),
            "row": Out(range(rows + 1)), "row_word": Out(range(-(-rows // lanes) + 1)),
            "row_lane": Out(range(lanes)), "group": Out(range(groups + 1)), "addr": Out(range(words + 1)),
            "next_row": Out(range(rows + 1)), "next_group": Out(range(groups + 1)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.comb += [self.next_row.eq(self.row), self.next_group.eq(self.group)]
        m.d.sync += [self.row.eq(self.next_row), self.group.eq(self.next_group)]
        with m.If(self.restart):
            m.d.comb += [self.next_row.eq(0), self.next_group.eq(0)]
            m.d.sync += [self.row_word.eq(0), self.row_lane.eq(0), self.addr.eq(self.base)]
        with m.Elif(self.advance):
            m.d.comb += self.next_group.eq(self.group + 1)
            m.d.sync += self.addr.eq(self.addr + 1)
            with m.If(self.last_group):
                m.d.comb += [self.next_group.eq(0), self.next_row.eq(self.row + 1)]
                m.d.sync += self.row_lane.eq(self.row_lane + 1)
                if self.lanes > 1:
                    with m.If(self.row_lane == self.lanes - 1):
                        m.d.sync += self.row_word.eq(self.row_word + 1)
                else:
                    m.d.sync += self.row_word.eq(self.row_word + 1)
        return m
