"""The gateware's CRC steps against the host's: CRC-16/IBM-3740 and zlib's CRC-32."""

from __future__ import annotations

import zlib

import numpy as np
from amaranth import Module, Signal
from amaranth.sim import Simulator

from epfpga.contract.protocol import crc16
from epfpga.hdl.crc import CRC32_MASK, crc16_next, crc32_next


def test_one_byte_step_equals_the_host_crc_for_random_states_and_bytes():
    m = Module()
    crc, byte, out = Signal(16), Signal(8), Signal(16)
    m.d.comb += out.eq(crc16_next(crc, byte))
    rng = np.random.default_rng(3)
    cases = [(0xFFFF, b) for b in range(256)] + [(int(c), int(b)) for c, b in zip(rng.integers(0, 1 << 16, 500),
                                                                              rng.integers(0, 256, 500))]

    async def bench(ctx):
        for c, b in cases:
            ctx.set(crc, c)
            ctx.set(byte, b)
            assert ctx.get(out) == crc16(bytes([b]), c), (hex(c), b)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_the_crc32_of_words_equals_zlibs():
    """A run of 16-bit words through the word step, low byte first, is zlib's CRC-32."""
    m = Module()
    crc, word, out = Signal(32), Signal(16), Signal(32)
    m.d.comb += out.eq(crc32_next(crc, word))
    rng = np.random.default_rng(4)
    runs = [[], [0], [0xFFFF], [0x1234, 0xABCD], rng.integers(0, 1 << 16, 300).tolist()]

    async def bench(ctx):
        for words in runs:
            state = CRC32_MASK
            for w in words:
                ctx.set(crc, state)
                ctx.set(word, w)
                state = ctx.get(out)
            data = b"".join(int(w).to_bytes(2, "little") for w in words)
            assert state ^ CRC32_MASK == zlib.crc32(data), words[:4]

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
