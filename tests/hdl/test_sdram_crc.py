# amaranth: UnusedElaboratable=no
"""The SDRAM's checksum against its golden twin, ``zlib.crc32`` over the words: any range,
any first word, whatever the SDRAM's delays; its registers read back; the range untouched."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.hdl.sdram_crc import ChecksumReg, SDRAMChecksum

from .sim_helpers import simulate


def checksum(memory: dict[int, int], first: int, count: int, seed=0) -> tuple[int, int, int, int]:
    """Write FIRST and COUNT, read them back, read CRC; returns the three answers and the
    cycles the CRC took.  The SDRAM answers each word after a random delay."""
    rng = np.random.default_rng(seed)
    dut = SDRAMChecksum(ULX3S_SDRAM)
    out = []

    async def bench(ctx):
        for reg, value in ((ChecksumReg.FIRST, first), (ChecksumReg.COUNT, count)):
            ctx.set(dut.addr, reg)
            ctx.set(dut.wdata, value)
            ctx.set(dut.we, 1)
            assert ctx.get(dut.wready)
            await ctx.tick()
        ctx.set(dut.we, 0)
        for reg in ChecksumReg:
            ctx.set(dut.addr, reg)
            ctx.set(dut.re, 1)
            await ctx.tick()
            ctx.set(dut.re, 0)
            due, cycles = None, 0
            while not ctx.get(dut.rvalid):
                sdram = dut.sdram
                if due is None and ctx.get(sdram.re):
                    assert ctx.get(dut.busy)
                    due, addr = int(rng.integers(1, 9)), ctx.get(sdram.addr)
                ctx.set(sdram.rvalid, due == 0)
                ctx.set(sdram.rdata, memory.get(addr, 0) if due == 0 else 0xDEAD)
                due = None if due == 0 else (due - 1 if due is not None else None)
                await ctx.tick()
                cycles += 1
                assert cycles < 100_000
            out.append(ctx.get(dut.rdata))
            if reg == ChecksumReg.CRC:
                out.append(cycles)
        assert not ctx.get(dut.busy)

    simulate(dut, bench)
    return tuple(out)


def words_crc(memory, first, count):
    return zlib.crc32(b"".join(memory.get(a, 0).to_bytes(2, "little") for a in range(first, first + count)))


@pytest.mark.parametrize(("first", "count"), [(0, 0), (0, 1), (5, 40), ((1 << 24) - 7, 7)])
def test_the_crc_of_a_range_is_zlibs(first, count):
    rng = np.random.default_rng(first + count)
    memory = {a: int(rng.integers(0, 1 << 16)) for a in range(max(0, first - 3), first + count + 3)}
    got_first, got_count, crc, cycles = checksum(memory, first, count)
    assert (got_first, got_count) == (first, count)
    assert crc == words_crc(memory, first, count)
    assert cycles >= 2 * count   # one word at a time: a read, then its answer
