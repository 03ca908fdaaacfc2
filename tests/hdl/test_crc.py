"""The gateware's CRC step against the host's CRC-16/IBM-3740."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Signal
from amaranth.sim import Simulator

from epfpga.contract.protocol import crc16
from epfpga.hdl.crc import crc16_next


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
