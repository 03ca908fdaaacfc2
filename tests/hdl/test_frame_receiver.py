# amaranth: UnusedElaboratable=no
"""The frame receiver against its golden twin, the frame's own bytes: the buffer, the count,
the CRC, the first bytes and the flags, for good, damaged, broken, lost, oversized, short and
empty frames, symbols arriving with gaps."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.contract.protocol import MAX_FRAME, Command, crc16, max_frame, pack, write_payload
from epfpga.hdl.frame_receiver import FRAME, READ_LATENCY, FrameReceiver

from .sim_helpers import simulate

HEAD_BYTES = FRAME.size // 8


def receive(frames: list[list[tuple[int, str]]], seed: int = 0, size: int = MAX_FRAME) -> list[dict]:
    """Each frame a list of ``(byte, kind)`` symbols (kind ``byte``, ``error``, or ``lost``: a
    byte that came after some were dropped),
    then an ``END``; returns, for each frame that ended, what the receiver held the cycle
    after, and the buffer's bytes read back."""
    rng = np.random.default_rng(seed)
    dut = FrameReceiver(size)
    out: list[dict] = []

    async def offer(ctx, byte: int, kind: str) -> bool:
        """Offer one symbol until taken; True when it ended a frame."""
        while rng.random() < 0.3:     # a gap
            ctx.set(dut.symbols.valid, 0)
            await ctx.tick()
        ctx.set(dut.symbols.valid, 1)
        ctx.set(dut.symbols.payload, {"byte": byte, "end": kind == "end", "error": kind == "error",
                                      "lost": kind == "lost"})
        ended = ctx.get(dut.ended)
        assert ctx.get(dut.symbols.ready)
        await ctx.tick()
        ctx.set(dut.symbols.valid, 0)
        return ended

    async def bench(ctx):
        ctx.set(dut.enable, 1)
        for symbols in frames:
            ended = False
            for byte, kind in [*symbols, (0, "end")]:
                ended = await offer(ctx, byte, kind)
            if not ended:
                continue
            ctx.set(dut.enable, 0)            # (as the engine, which leaves RECEIVE)
            got = {"count": ctx.get(dut.count), "crc_ok": ctx.get(dut.crc_ok), "framing": ctx.get(dut.framing),
                   "overflow": ctx.get(dut.overflow),
                   "head": int(ctx.get(dut.head.as_value())).to_bytes(HEAD_BYTES, "little")}
            data = []
            for a in range(got["count"]):
                ctx.set(dut.read.addr, a)
                await ctx.tick().repeat(READ_LATENCY)
                data.append(ctx.get(dut.read.data))
            got["buffer"] = bytes(data)
            await ctx.tick()
            assert ctx.get(dut.count) == 0 and not ctx.get(dut.framing) and ctx.get(dut.empty)   # cleared
            ctx.set(dut.clear_head, 1)
            await ctx.tick()
            ctx.set(dut.clear_head, 0)
            ctx.set(dut.enable, 1)
            out.append(got)

    simulate(dut, bench)
    return out


def twin(symbols: list[tuple[int, str]], size: int = MAX_FRAME) -> dict:
    data = bytes(b for b, kind in symbols if kind != "error")   # (a lost mark rides on a byte that got in)
    kept = data[:size]
    return {"count": len(kept), "crc_ok": int(crc16(kept) == 0),
            "framing": int(any(kind == "error" for _, kind in symbols)),
            "overflow": int(any(kind == "lost" for _, kind in symbols) or len(data) > size),
            "head": kept[:HEAD_BYTES].ljust(HEAD_BYTES, b"\0"), "buffer": kept}


@pytest.mark.parametrize("size", [MAX_FRAME, max_frame(128)])    # (the largest payload 1,024 or 128 bytes)
def test_what_the_receiver_holds_is_the_frame(size):
    good = pack(7, Command.WRITE, write_payload(0x1000_0000, 2, list(range(40))))
    damaged = bytearray(good)
    damaged[9] ^= 0x20
    as_symbols = lambda frame: [(b, "byte") for b in frame]   # noqa: E731
    frames = [as_symbols(good), as_symbols(damaged), as_symbols(good[:1]),
              as_symbols(good[:6]) + [(0x55, "error")] + as_symbols(good[6:]),
              as_symbols(good[:20]) + [(0, "lost")] + as_symbols(good[20:]),
              as_symbols(bytes(range(256)) * 5),             # past the largest frame
              as_symbols(bytes(range(size % 256)) + bytes(range(256)) * (size // 256)),     # the largest, full
              [], [(0, "error")],                             # an empty frame (no end), a bare error
              as_symbols(good)]
    got = receive(frames, seed=3, size=size)
    want = [twin(f, size) for f in frames if f]
    assert got == want
    assert got[0]["crc_ok"] and not got[1]["crc_ok"] and got[5]["overflow"] and got[3]["framing"]
    assert got[6]["count"] == size and not got[6]["overflow"]
