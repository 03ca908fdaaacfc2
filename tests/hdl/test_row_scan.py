"""The row scan against a row-major walk of a matrix: random advances and restarts, rows of
one word and of several, one lane and several (the row's lane wrapping into the next word),
a matrix that starts inside its memory."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.hdl.row_scan import RowScan

from .sim_helpers import simulate


def walk(lanes: int, groups: int, base: int, moves: list[str]) -> list[tuple[int, int, int, int, int]]:
    """``(row, row_word, row_lane, group, addr)`` after each move of a row-major walk."""
    row = group = 0
    addr = base
    out = []
    for move in moves:
        if move == "restart":
            row, group, addr = 0, 0, base
        elif move == "advance":
            addr += 1
            group += 1
            if group == groups:
                row, group = row + 1, 0
        out.append((row, row // lanes, row % lanes, group, addr))
    return out


@pytest.mark.parametrize("lanes, groups, base", [(1, 1, 0), (4, 1, 7), (4, 3, 0), (8, 2, 100)])
def test_the_scan_walks_a_matrix_row_by_row_and_word_by_word(lanes, groups, base):
    rows = 3 * lanes + 2           # (the row's word advances past several lane wraps)
    dut = RowScan(lanes, rows, groups, base + rows * groups + 1)
    rng = np.random.default_rng(lanes * 10 + groups)
    paced = lambda advances: [m for _ in range(advances) for m in ["hold"] * int(rng.integers(0, 3)) + ["advance"]]  # noqa: E731
    # part of the matrix, a restart in the middle of a row, then the whole matrix to its last word
    moves = ["restart"] + paced(rows * groups // 2 + 1) + ["restart"] + paced(rows * groups - 1)
    want = walk(lanes, groups, base, moves)
    got = []

    async def bench(ctx):
        ctx.set(dut.base, base)
        for move in moves:
            ctx.set(dut.restart, move == "restart")
            ctx.set(dut.advance, move == "advance")
            ctx.set(dut.last_group, ctx.get(dut.group) == groups - 1)
            ahead = (ctx.get(dut.next_row), ctx.get(dut.next_group))
            await ctx.tick()
            got.append(tuple(ctx.get(s) for s in (dut.row, dut.row_word, dut.row_lane, dut.group, dut.addr)))
            assert ahead == (got[-1][0], got[-1][3])     # next_row, next_group: the position after the edge

    simulate(dut, bench)
    assert got == want
    assert want[-1][:4] == (rows - 1, (rows - 1) // lanes, (rows - 1) % lanes, groups - 1)
