# amaranth: UnusedElaboratable=no
"""8N1 UART against cycle-exact waveforms: the transmitter's pin traced every cycle, the
receiver fed bit-timed waveforms (ideal, ±2 % off, glitches, bad stop bits, a break); each at one
tick a cycle and at two (the double-data-rate line: ``tx`` and ``rx`` carry a cycle's two ticks)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import pytest
from amaranth import ClockDomain, Elaboratable, Module
from amaranth.back import verilog

from epfpga.hdl.uart import UARTRx, UARTTx, divisor

from .sim_helpers import simulate
from .uart_pins import cycles, frame, ticks_of

IDLE_BITS = 3                                  # idle-high lead-in before the first frame


def waveform(bits: list[int], d: int, error: float = 0.0) -> list[int]:
    """Per-tick line levels: bit k spans ticks [round(k*T), round((k+1)*T)), T = d*(1+error)."""
    t = d * (1 + error)
    out: list[int] = []
    for k, level in enumerate(bits):
        out += [level] * (round((k + 1) * t) - round(k * t))
    return out


def frames_line(payloads: list[int], d: int, error: float = 0.0, tail_bits: int = 3
                ) -> tuple[list[int], list[int]]:
    """Idle, back-to-back frames, idle; and the tick each start bit begins."""
    t = d * (1 + error)
    bits = [1] * IDLE_BITS + [b for p in payloads for b in frame(p)] + [1] * tail_bits
    starts = [round((IDLE_BITS + 10 * i) * t) for i in range(len(payloads))]
    return waveform(bits, d, error), starts


@dataclass
class RxTrace:
    valid: list[int] = field(default_factory=list)
    payload: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    error: list[int] = field(default_factory=list)
    overflow: list[int] = field(default_factory=list)

    def received(self) -> list[int]:
        return [p for v, r, p in zip(self.valid, self.ready, self.payload) if v and r]

    def pulses(self, name: str) -> list[int]:
        return [c for c, x in enumerate(getattr(self, name)) if x]


def run_rx(d: int, line: list[int], ready=lambda c: True, ticks: int = 1) -> RxTrace:
    """Drive ``rx`` with ``line``, one level a tick; record the outputs in every cycle."""
    dut = UARTRx(d, ticks)
    trace = RxTrace()

    async def tb(ctx):
        for c, value in enumerate(cycles(line, ticks)):
            ctx.set(dut.rx, value)
            ctx.set(dut.data.ready, ready(c))
            trace.valid.append(ctx.get(dut.data.valid))
            trace.payload.append(ctx.get(dut.data.payload))
            trace.ready.append(ready(c))
            trace.error.append(ctx.get(dut.error))
            trace.overflow.append(ctx.get(dut.overflow))
            await ctx.tick()

    simulate(dut, tb)
    return trace


def delivered_at(d: int, start: int, ticks: int = 1) -> int:
    """Cycle ``data.valid`` rises for a frame whose start bit begins in tick ``start``."""
    return (start + 9 * d + d // 2) // ticks + 3


# --- transmitter -------------------------------------------------------------------------------

@pytest.mark.parametrize("d, ticks", [(4, 1), (13, 1), (4, 2), (5, 2)])
def test_tx_waveform_bit_exact_and_back_to_back(d, ticks):
    rng = random.Random(d)
    burst = [0x00, 0xFF, 0x55, 0xA3] + [rng.randrange(256) for _ in range(4)]
    first = 3
    late = first + 10 * d * len(burst) + 5 * d        # offered on an idle line, after a gap
    offers = [(first, p) for p in burst] + [(late, rng.randrange(256))]
    n = late + 10 * d + 2 * d
    dut = UARTTx(d, ticks)
    tx, busy, handshakes = [], [], []

    async def tb(ctx):
        i = 0
        for c in range(n):
            tx.append(ctx.get(dut.tx))
            busy.append(ctx.get(dut.busy))
            offer = i < len(offers) and c >= offers[i][0]
            ctx.set(dut.data.valid, offer)
            if offer:
                ctx.set(dut.data.payload, offers[i][1])
                if ctx.get(dut.data.ready):
                    handshakes.append(c)
                    i += 1
            await ctx.tick()

    simulate(dut, tb)
    # offered on an idle line, the start bit is the next cycle's first tick; valid held, each
    # start bit follows the last stop bit's last tick, taken in the cycle before
    starts = [ticks * (first + 1) + 10 * d * i for i in range(len(burst))] + [ticks * (late + 1)]
    assert handshakes == [t // ticks - 1 for t in starts]
    want_tx, want_busy = [1] * (n * ticks), [0] * n
    for t, (_, p) in zip(starts, offers):
        for k, level in enumerate(frame(p)):
            for j in range(d):
                want_tx[t + k * d + j] = level
                want_busy[(t + k * d + j) // ticks] = 1
    assert ticks_of(tx, ticks) == want_tx
    assert busy == want_busy


# --- receiver ----------------------------------------------------------------------------------

@pytest.mark.parametrize("d, ticks", [(4, 1), (5, 1), (13, 1), (217, 1), (4, 2), (5, 2), (13, 2)])
def test_rx_ideal_timing_in_order_with_exact_latency(d, ticks):
    rng = random.Random(d)
    payloads = [0x00, 0xFF, 0x55, 0xA3] + [rng.randrange(256) for _ in range(12 if d < 100 else 1)]
    line, starts = frames_line(payloads, d)
    trace = run_rx(d, line, ticks=ticks)
    assert trace.received() == payloads
    assert trace.pulses("valid") == [delivered_at(d, s, ticks) for s in starts]
    assert not trace.pulses("error") and not trace.pulses("overflow")


@pytest.mark.parametrize("d, ticks", [(4, 1), (16, 1), (5, 2)])
@pytest.mark.parametrize("error", [-0.02, 0.02])
def test_rx_sender_bit_time_off_by_two_percent(d, ticks, error):
    rng = random.Random(int(d * 100 * (1 + error)))
    payloads = [0x00, 0xFF, 0x55, 0xAA, 0x0F, 0xF0] + [rng.randrange(256) for _ in range(40)]
    line, _ = frames_line(payloads, d, error)
    trace = run_rx(d, line, ticks=ticks)
    assert trace.received() == payloads
    assert not trace.pulses("error") and not trace.pulses("overflow")


@pytest.mark.parametrize("d, ticks", [(4, 1), (13, 1), (5, 2)])
def test_rx_framing_error_pulses_once_drops_byte_and_recovers(d, ticks):
    bits = [1] * IDLE_BITS + frame(0x5A, stop=0) + [1] + frame(0xC3)
    bits += [0] * 30 + [1] + frame(0x3C) + [1] * 3    # a break: one more error, then a byte
    trace = run_rx(d, waveform(bits, d), ticks=ticks)
    assert trace.received() == [0xC3, 0x3C]
    start_bad, start_break = IDLE_BITS * d, (IDLE_BITS + 21) * d
    assert trace.pulses("error") == [delivered_at(d, start_bad, ticks), delivered_at(d, start_break, ticks)]
    assert not trace.pulses("overflow")


@pytest.mark.parametrize("d, ticks", [(4, 1), (16, 1), (5, 2), (8, 2)])
def test_rx_rejects_low_glitch_shorter_than_half_a_bit(d, ticks):
    line = [1] * (IDLE_BITS * d)
    for width in range(1, (d + 1) // 2):             # every width below d / 2, in each tick of a cycle
        for offset in range(ticks):
            line += [1] * offset + [0] * width + [1] * (2 * d)
    line += waveform(frame(0x96) + [1] * 2, d)
    trace = run_rx(d, line, ticks=ticks)
    assert trace.received() == [0x96]                 # one byte, and the good frame intact
    assert not trace.pulses("error")


@pytest.mark.parametrize("ticks", [1, 2])
def test_rx_overflow_keeps_first_byte_and_drops_second(ticks):
    d = 8
    line, starts = frames_line([0x11, 0x22, 0x33], d)
    release = delivered_at(d, starts[1], ticks) + 2 * d      # take the first byte only after the second
    trace = run_rx(d, line, ready=lambda c: c >= release, ticks=ticks)
    first = delivered_at(d, starts[0], ticks)
    assert trace.pulses("overflow") == [delivered_at(d, starts[1], ticks)]
    assert all(trace.valid[first:release + 1]) and set(trace.payload[first:release + 1]) == {0x11}
    assert trace.received() == [0x11, 0x33]
    assert not trace.pulses("error")


# --- both ----------------------------------------------------------------------------------------

class Loopback(Elaboratable):
    def __init__(self, d: int, ticks: int):
        self.utx, self.urx = UARTTx(d, ticks), UARTRx(d, ticks)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.utx, m.submodules.urx = self.utx, self.urx
        m.d.comb += self.urx.rx.eq(self.utx.tx)
        return m


@pytest.mark.parametrize("d, ticks", [(4, 1), (5, 2)])    # 12 Mbaud at 48 MHz, and at 30 MHz
def test_loopback_200_random_bytes_back_to_back(d, ticks):
    rng = random.Random(7)
    payloads = [rng.randrange(256) for _ in range(200)]
    dut = Loopback(d, ticks)
    got, errors = [], []

    async def tb(ctx):
        ctx.set(dut.urx.data.ready, 1)
        ctx.set(dut.utx.data.valid, 1)
        sent = 0
        for _ in range(10 * d * len(payloads) // ticks + 60):
            if sent < len(payloads):
                ctx.set(dut.utx.data.payload, payloads[sent])
                if ctx.get(dut.utx.data.ready):
                    sent += 1
            else:
                ctx.set(dut.utx.data.valid, 0)
            if ctx.get(dut.urx.data.valid):
                got.append(ctx.get(dut.urx.data.payload))
            if ctx.get(dut.urx.error) or ctx.get(dut.urx.overflow):
                errors.append(1)
            await ctx.tick()

    simulate(dut, tb)
    assert got == payloads
    assert not errors


class WithReset(Elaboratable):
    """The component in an explicit ``sync`` domain whose reset the testbench drives."""

    def __init__(self, dut):
        self.dut, self.cd = dut, ClockDomain("sync")

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = self.cd
        m.submodules.dut = self.dut
        return m


def test_domain_reset_mid_frame_returns_to_idle():
    d = 8
    tx = WithReset(UARTTx(d))
    trace_tx = []

    async def tb_tx(ctx):
        ctx.set(tx.dut.data.valid, 1)
        ctx.set(tx.dut.data.payload, 0x00)
        await ctx.tick()
        ctx.set(tx.dut.data.valid, 0)
        await ctx.tick().repeat(3 * d)                # mid-frame
        ctx.set(tx.cd.rst, 1)
        await ctx.tick()
        ctx.set(tx.cd.rst, 0)
        for _ in range(2 * d):
            trace_tx.append((ctx.get(tx.dut.tx), ctx.get(tx.dut.busy), ctx.get(tx.dut.data.ready)))
            await ctx.tick()

    simulate(tx, tb_tx)
    assert set(trace_tx) == {(1, 0, 1)}

    rx = WithReset(UARTRx(d))
    line = waveform([1] * IDLE_BITS + frame(0xFF)[:5], d) + waveform([1] + frame(0x81) + [1], d)
    reset_at = IDLE_BITS * d + 4 * d                  # during the first frame's data bits
    got, errors = [], []

    async def tb_rx(ctx):
        ctx.set(rx.dut.data.ready, 1)
        for c, level in enumerate(line):
            ctx.set(rx.dut.rx, level)
            ctx.set(rx.cd.rst, c == reset_at)
            if ctx.get(rx.dut.data.valid):
                got.append(ctx.get(rx.dut.data.payload))
            errors.append(ctx.get(rx.dut.error))
            await ctx.tick()

    simulate(rx, tb_rx)
    assert got == [0x81] and not any(errors)


def test_both_convert_to_verilog():
    for dut, ports in [(UARTTx(4), ["tx", "busy", "data__valid", "data__ready", "data__payload"]),
                       (UARTRx(217), ["rx", "error", "overflow", "data__valid", "data__ready"])]:
        text = verilog.convert(dut, name=type(dut).__name__)
        assert f"module {type(dut).__name__}(" in text
        for port in ports:
            assert re.search(rf"^\s*(input|output) (\[\d+:0\] )?{port};", text, re.M), port


# --- divisor() -----------------------------------------------------------------------------------

@pytest.mark.parametrize("clock_hz, baud, want", [
    (48e6, 12e6, 4),            # exact
    (100e6, 115200, 868),       # 0.006 % off
    (12e6, 115200, 104),        # 0.16 % off
    (50.9e6, 10e6, 5),          # 1.8 % off
])
def test_divisor_values(clock_hz, baud, want):
    assert divisor(clock_hz, baud) == want


@pytest.mark.parametrize("clock_hz, baud, d, text", [
    (25e6, 3e6, 8, "4.17%"),    # 3.125 MBd
    (51.1e6, 10e6, 5, "2.20%"),
    (1e6, 300e3, 3, "at least 4"),
    (12e6, 12e6, 1, "at least 4"),
])
def test_divisor_rejects(clock_hz, baud, d, text):
    with pytest.raises(ValueError) as info:
        divisor(clock_hz, baud)
    message = str(info.value)
    for part in (f"{clock_hz:g}", f"{baud:g}", f"divisor {d}", text):
        assert part in message


@pytest.mark.parametrize("cls", [UARTTx, UARTRx])
def test_components_reject_divisor_below_4(cls):
    # (the first line's linter option: an object whose __init__ raised is never elaborated)
    with pytest.raises(ValueError, match="at least 4"):
        cls(3)
    assert cls(4).divisor == 4
