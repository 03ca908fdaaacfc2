"""A host on the serial pins of a simulated system top, in Amaranth's simulator: bytes are
clocked onto ``rx`` and read off ``tx`` bit by bit, at the gateware's divisor."""

from __future__ import annotations

from epfpga.contract.protocol import FrameDecoder


class PinHost:
    def __init__(self, dut, divisor: int):
        self.dut, self.divisor = dut, divisor

    async def send(self, ctx, data: bytes, *, stop: int = 1) -> None:
        """``data`` onto ``rx``; ``stop = 0`` breaks each byte's stop bit (a framing error), and
        the line then idles a byte's time."""
        for byte in data:
            for bit in [0, *((byte >> i) & 1 for i in range(8)), stop]:
                ctx.set(self.dut.rx, bit)
                await ctx.tick().repeat(self.divisor)
            if not stop:
                ctx.set(self.dut.rx, 1)
                await ctx.tick().repeat(10 * self.divisor)

    async def receive(self, ctx, frames: int = 1, max_cycles: int = 200_000) -> list:
        """Sample ``tx`` every cycle until ``frames`` frames have come back (each a
        :class:`~epfpga.contract.protocol.Frame` or a ``BadFrame``)."""
        decoder, out = FrameDecoder(), []
        d = self.divisor
        for _ in range(max_cycles):
            await ctx.tick()
            if ctx.get(self.dut.tx):
                continue
            await ctx.tick().repeat(d // 2)        # the middle of the start bit
            assert ctx.get(self.dut.tx) == 0, "start bit too short"
            byte = 0
            for i in range(8):
                await ctx.tick().repeat(d)
                byte |= ctx.get(self.dut.tx) << i
            await ctx.tick().repeat(d)
            assert ctx.get(self.dut.tx) == 1, "stop bit low"
            out += decoder.feed(bytes([byte]))
            if len(out) >= frames:
                return out
        raise AssertionError(f"no reply within {max_cycles} cycles")
