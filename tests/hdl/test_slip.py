"""The SLIP decoder against the host's encoder: frames come back byte for byte, and every
broken escape and UART framing error is an ``error`` symbol where it happened."""

from __future__ import annotations

import numpy as np

from epfpga.contract.protocol import END, ESC, ESC_END, slip_encode
from epfpga.hdl.slip import SlipDecoder

from .sim_helpers import simulate


def decode(wire: list[int | None]) -> list[tuple[int, int, int]]:
    """``(byte, end, error)`` of each symbol; ``None`` in ``wire`` is a UART framing error.
    Bytes come every third cycle, so each symbol is seen before the next byte."""
    dut = SlipDecoder()
    out = []

    async def bench(ctx):
        for item in wire:
            ctx.set(dut.wire_error, item is None)
            ctx.set(dut.wire.valid, item is not None)
            ctx.set(dut.wire.payload, item or 0)
            await ctx.tick()
            ctx.set(dut.wire.valid, 0)
            ctx.set(dut.wire_error, 0)
            for _ in range(2):
                if ctx.get(dut.symbols.valid):
                    p = dut.symbols.payload
                    out.append((ctx.get(p.byte), ctx.get(p.end), ctx.get(p.error)))
                await ctx.tick()

    simulate(dut, bench)
    return out


def frames(symbols) -> list[tuple[bytes, bool]]:
    """The frames the symbols delimit, each with whether it holds an error."""
    out, buf, broken = [], bytearray(), False
    for byte, end, error in symbols:
        broken |= bool(error)
        if end:
            out.append((bytes(buf), broken))
            buf, broken = bytearray(), False
        elif not error:
            buf.append(byte)
    return out


def test_encoded_frames_decode_byte_for_byte():
    rng = np.random.default_rng(3)
    sent = [bytes([END, ESC, ESC_END]) + bytes(int(b) for b in rng.integers(0, 256, int(n)))
            for n in rng.integers(0, 40, 6)]
    wire = [b for f in sent for b in slip_encode(f)]
    got = frames(decode(wire))
    assert [f for f in got if f[0]] == [(f, False) for f in sent]     # (the leading ENDs: empty frames)


def test_esc_then_end_ends_the_frame_broken():
    assert frames(decode([END, 1, 2, ESC, END, 3, END])) == [(b"", False), (b"\x01\x02", True), (b"\x03", False)]


def test_an_unknown_escape_is_an_error_in_place_of_both_bytes():
    symbols = decode([5, ESC, 0x41, 6])
    assert [(s[1], s[2]) for s in symbols] == [(0, 0), (0, 1), (0, 0)]
    assert [s[0] for s in symbols if not s[2]] == [5, 6]


def test_a_uart_framing_error_is_an_error_symbol_and_ends_a_pending_escape():
    symbols = decode([5, ESC, None, ESC_END, END])
    assert [(s[1], s[2]) for s in symbols] == [(0, 0), (0, 1), (0, 0), (1, 0)]
    assert symbols[2][0] == ESC_END     # after the error, ESC_END is a plain byte
