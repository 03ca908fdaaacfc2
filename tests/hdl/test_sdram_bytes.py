# amaranth: UnusedElaboratable=no
"""A run of bytes from the SDRAM against its golden twin, ``firmware.resident.word_bytes``: every
count (odd, even, none), whatever the SDRAM's delays and the consumer's stalls."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.firmware.resident import word_bytes
from epfpga.hdl.sdram_bytes import LATENCY, SDRAMBytes

from .sim_helpers import pulse, sdram_model, simulate, while_busy


@pytest.mark.parametrize(("count", "take", "seed"), [(0, 1.0, 1), (1, 1.0, 2), (7, 0.5, 3), (200, 1.0, 4),
                                                       (201, 0.3, 5)])
def test_the_bytes_are_the_twins(count, take, seed):
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 1 << 16, 300).astype(np.uint16)
    first = 13
    dut = SDRAMBytes(ULX3S_SDRAM)
    got = []

    async def bench(ctx):
        def consume(ctx):
            ready = bool(rng.random() < take)
            ctx.set(dut.bytes.ready, ready)
            if ready and ctx.get(dut.bytes.valid):
                got.append(ctx.get(dut.bytes.payload))

        ctx.set(dut.addr, first)
        ctx.set(dut.count, count)
        await pulse(ctx, dut.start)
        await while_busy(ctx, dut.busy, 20_000, consume)
        assert not ctx.get(dut.bytes.valid)

    simulate(dut, bench, sdram_model(dut.sdram, words, rng))
    assert bytes(got) == word_bytes(words, first, count)


def test_a_words_first_byte_comes_latency_cycles_after_its_answer():
    words = np.arange(1, 10, dtype=np.uint16)
    dut = SDRAMBytes(ULX3S_SDRAM)
    seen = {}

    async def bench(ctx):
        ctx.set(dut.count, 2)
        ctx.set(dut.start, 1)
        ctx.set(dut.bytes.ready, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for cycle in range(20):
            if ctx.get(dut.sdram.rvalid):
                seen.setdefault("answer", cycle)
            if ctx.get(dut.bytes.valid):
                seen.setdefault("byte", cycle)
            await ctx.tick()

    simulate(dut, bench, sdram_model(dut.sdram, words, np.random.default_rng(0), longest=1))
    assert seen["byte"] - seen["answer"] == LATENCY
