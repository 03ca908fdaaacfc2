# amaranth: UnusedElaboratable=no
"""The input expander against its golden twin (``expand`` and the table): every coding, runs of
every length, back-pressure on both sides, a malformed end, and ``clear``."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.contract.protocol import MAX_RUN, TABLE_ENTRIES, Coding, expand, zero_runs
from epfpga.hdl.input_expander import LATENCY, InputExpander

from .sim_helpers import simulate

BITS = 9


def run(table: list[int], coding: Coding, codes: bytes, offer: float = 1.0, take: float = 1.0, seed: int = 0,
        clear_at: int | None = None, most: int = 20_000):
    """Load ``table``, then offer ``codes``; returns the values taken ``(cycle, value)``, the cycle
    each code was taken, and ``pending`` and ``busy`` once every code is taken and ``busy`` has
    been low a few cycles (or after ``most`` cycles)."""
    rng = np.random.default_rng(seed)
    dut = InputExpander(BITS)
    values, taken, end = [], [], {}

    async def bench(ctx):
        for a, v in enumerate(table):
            ctx.set(dut.table.addr, a)
            ctx.set(dut.table.data, v)
            ctx.set(dut.table.en, 1)
            await ctx.tick()
        ctx.set(dut.table.en, 0)
        ctx.set(dut.coding, coding)
        k, t, quiet = 0, 0, 0
        while quiet < 4 and t < most:
            quiet = quiet + 1 if k == len(codes) and not ctx.get(dut.busy) else 0
            offered = k < len(codes) and rng.random() < offer
            ctx.set(dut.codes.valid, offered)
            ctx.set(dut.codes.payload, codes[k] if k < len(codes) else 0)
            ctx.set(dut.values.ready, rng.random() < take)
            ctx.set(dut.clear, t == clear_at)
            if ctx.get(dut.values.valid) and ctx.get(dut.values.ready):
                values.append((t, ctx.get(dut.values.payload)))
            if offered and ctx.get(dut.codes.ready):
                taken.append(t)
                k += 1
            await ctx.tick()
            t += 1
        end["pending"], end["busy"] = ctx.get(dut.pending), ctx.get(dut.busy)

    simulate(dut, bench)
    return values, taken, end


@pytest.fixture
def table():
    return [int(v) for v in np.random.default_rng(3).integers(0, 1 << BITS, TABLE_ENTRIES)]


@pytest.mark.parametrize("coding", list(Coding))
def test_values_are_the_table_at_the_bytes_the_codes_stand_for(table, coding):
    rng = np.random.default_rng(int(coding))
    data = bytes((rng.integers(0, 256, 700) * (rng.random(700) < 0.3)).astype(np.uint8).tolist())
    data += bytes(MAX_RUN + 3) + b"\x07" + bytes(MAX_RUN) + b"\x00\x01"    # runs at and past the longest
    codes = zero_runs(data) if coding == Coding.ZERO_RUNS else data
    values, _, end = run(table, coding, codes, offer=0.7, take=0.6, seed=1)
    assert [v for _, v in values] == [table[b] for b in expand(coding, codes)] == [table[b] for b in data]
    assert end == {"pending": 0, "busy": 0}


def test_a_value_follows_its_code_after_the_latency_and_a_run_one_a_cycle(table):
    values, taken, _ = run(table, Coding.ZERO_RUNS, bytes([5, 0, 3, 9]))
    assert taken == [0, 1, 2, 6]          # (a run holds the next code back while it lasts)
    first = taken[0] + LATENCY
    assert values == [(first, table[5]), (first + 2, table[0]), (first + 3, table[0]), (first + 4, table[0]),
                      (first + 5, table[0]), (first + 6, table[9])]


def test_a_zero_at_the_end_is_pending_and_clear_forgets_it(table):
    values, _, end = run(table, Coding.ZERO_RUNS, bytes([4, 0]))
    assert [v for _, v in values] == [table[4]] and end["pending"] == 1
    assert expand(Coding.ZERO_RUNS, bytes([4, 0])) is None      # the twin calls it malformed too
    values, _, end = run(table, Coding.ZERO_RUNS, bytes([0, 200]), take=0.0, clear_at=20, most=40)
    assert values == [] and end == {"pending": 0, "busy": 0}
