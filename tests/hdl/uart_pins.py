"""A host on the serial pins of a simulated system top, in Amaranth's simulator: bytes are
clocked onto ``rx`` and read off ``tx`` bit by bit, at the gateware's divisor and ticks a
cycle (two on a double-data-rate line, the earlier tick in bit 0)."""

from __future__ import annotations

from epfpga.contract.protocol import FrameDecoder


def frame(byte: int, stop: int = 1) -> list[int]:
    """Line levels of one 8N1 frame: start 0, data LSB first, stop."""
    return [0, *((byte >> i) & 1 for i in range(8)), stop]


def cycles(line: list[int], ticks: int) -> list[int]:
    """Per-tick levels as per-cycle ``rx`` values, ``ticks`` a cycle (the last cycle filled out
    with idle)."""
    line = line + [1] * (-len(line) % ticks)
    return [sum(level << k for k, level in enumerate(line[c:c + ticks])) for c in range(0, len(line), ticks)]


def ticks_of(values: list[int], ticks: int) -> list[int]:
    """Per-cycle ``tx`` values as per-tick levels."""
    return [(v >> k) & 1 for v in values for k in range(ticks)]


class PinHost:
    def __init__(self, dut, divisor: int, ticks: int = 1):
        self.dut, self.divisor, self.ticks = dut, divisor, ticks

    async def send(self, ctx, data: bytes, *, stop: int = 1) -> None:
        """``data`` onto ``rx``; ``stop = 0`` breaks each byte's stop bit (a framing error), and
        the line then idles a byte's time."""
        d, line = self.divisor, []
        for byte in data:
            line += [level for level in frame(byte, stop) for _ in range(d)]
            if not stop:
                line += [1] * (10 * d)
        for value in cycles(line, self.ticks):
            ctx.set(self.dut.rx, value)
            await ctx.tick()
        ctx.set(self.dut.rx, (1 << self.ticks) - 1)

    async def receive(self, ctx, frames: int = 1, max_cycles: int = 200_000) -> list:
        """Sample ``tx`` every cycle until ``frames`` frames have come back (each a
        :class:`~epfpga.contract.protocol.Frame` or a ``BadFrame``)."""
        decoder, out = FrameDecoder(), []
        d, line = self.divisor, []
        for _ in range(max_cycles):
            await ctx.tick()
            line += ticks_of([ctx.get(self.dut.tx)], self.ticks)
            del line[:line.index(0) if 0 in line else len(line)]       # idle before a start bit
            if len(line) < 10 * d:
                continue
            levels = [line[d // 2 + k * d] for k in range(10)]          # each bit's middle
            assert levels[0] == 0, "start bit too short"
            assert levels[9] == 1, "stop bit low"
            del line[:9 * d + d // 2 + 1]
            out += decoder.feed(bytes([sum(bit << i for i, bit in enumerate(levels[1:9]))]))
            if len(out) >= frames:
                return out
        raise AssertionError(f"no reply within {max_cycles} cycles")
